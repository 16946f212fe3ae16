"""Trains a stabilized GAN: ``python main.py --config=configs/default.py --workdir=DIR``.

Any config field can be overridden on the command line, e.g.
``--config.num_train_steps=500 --config.stabilizer.name=none``.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None,
                    'Directory for checkpoints, TensorBoard events and samples; '
                    'training resumes from the latest checkpoint in it.')
flags.DEFINE_bool('distributed', False,
                  'Call jax.distributed.initialize() first (multi-host runs).')
config_flags.DEFINE_config_file('config', None, 'Training config file.',
                                lock_config=True)
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
    import jax

    from nssgan import checkpointing, config_checks, data, train
    if FLAGS.distributed:
        jax.distributed.initialize()
    logging.info('JAX process %d/%d, local devices: %s', jax.process_index(),
                 jax.process_count(), jax.local_devices())
    try:
        train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    except (config_checks.ConfigError, data.DatasetError,
            checkpointing.CheckpointError, train.TrainingDivergedError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    app.run(main)
