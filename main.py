"""Trains a stabilized GAN: ``python main.py --config=configs/default.py --workdir=DIR``.

Any config field can be overridden on the command line, e.g.
``--config.num_train_steps=500 --config.stabilizer.name=none``. ``--mode=eval``
scores the latest (or ``--checkpoint=best``) checkpoint in DIR with the run's metrics
and prints a table.
"""

import sys

from nssgan import console

# TensorFlow (under the data pipeline and clu) writes banners to stderr when it is first
# imported: import it before anything else does.
console.import_tensorflow_quietly()

import jax  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from nssgan import checkpointing, data, train, validation  # noqa: E402
from nssgan.evaluation import evaluator, saved_run  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string(
    'workdir',
    None,
    'Directory for checkpoints, TensorBoard events and samples; '
    'training resumes from the latest checkpoint in it.',
)
flags.DEFINE_enum(
    'mode',
    'train',
    ['train', 'eval'],
    'train: train (or resume); eval: score a checkpoint of the run.',
)
flags.DEFINE_enum(
    'checkpoint',
    'latest',
    ['latest', 'best'],
    'With --mode=eval: the latest checkpoint or the best by the primary '
    'metric (kept when config.eval.every > 0).',
)
flags.DEFINE_bool(
    'distributed', False, 'Call jax.distributed.initialize() first (multi-host runs).'
)
config_flags.DEFINE_config_file('config', None, 'Training config file.', lock_config=True)
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
    console.quiet_library_logs()
    if FLAGS.distributed:
        jax.distributed.initialize()
    logging.info(
        'JAX process %d/%d, local devices: %s',
        jax.process_index(),
        jax.process_count(),
        jax.local_devices(),
    )
    errors = (
        validation.ConfigError,
        data.DatasetError,
        checkpointing.CheckpointError,
        train.TrainingDivergedError,
    )
    if FLAGS.mode == 'train':
        try:
            train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
        except errors as e:
            sys.exit(f'error: {e}')
        except train.TrainingInterrupted as e:
            print(f'interrupted: {e}', file=sys.stderr)
            sys.exit(e.exit_code)
        return
    try:
        step, scores = saved_run.evaluate_checkpoint(FLAGS.config, FLAGS.workdir, FLAGS.checkpoint)
    except (*errors, ValueError, FileNotFoundError) as e:  # e.g. no Inception weights
        sys.exit(f'error: {e}')
    print(
        evaluator.format_table(
            scores,
            title=f'{FLAGS.checkpoint} checkpoint, step {step}, '
            f'{FLAGS.config.eval.num_samples} samples',
        )
    )


if __name__ == '__main__':
    app.run(main)
