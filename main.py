"""Trains a stabilized GAN: ``python main.py --config=configs/default.py --workdir=DIR``.

Any config field can be overridden on the command line, e.g.
``--config.num_train_steps=500 --config.stabilizer.name=none``. ``--mode=eval``
scores the latest (or ``--checkpoint=best``) checkpoint in DIR with the run's metrics
and prints a table.
"""

import re
import signal
import sys

from nssgan import console

# TensorFlow (under the data pipeline and clu) writes banners to stderr when it is first
# imported: import it before anything else does.
console.import_tensorflow_quietly()

import jax  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from nssgan import checkpointing, data, distributed, profiling, train, validation  # noqa: E402
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
    'distributed',
    False,
    'Join a multi-process run (TPU pod slice, GPU cluster) through '
    'jax.distributed.initialize(), which detects the cluster; implied by the three flags '
    'below, which give its arguments where it cannot.',
)
flags.DEFINE_string(
    'coordinator_address', None, 'host:port of process 0, which all processes connect to.'
)
flags.DEFINE_integer('num_processes', None, 'The number of processes of the run.')
flags.DEFINE_integer('process_id', None, 'This process, in [0, --num_processes).')
flags.DEFINE_string(
    'compilation_cache_dir',
    None,
    'Keep compiled programs here (a persistent JAX compilation cache), so that resuming '
    'or rerunning a config skips compilation.',
)
flags.DEFINE_bool(
    'allow_config_change',
    False,
    'Continue a checkpoint trained with another trajectory config (config.json records '
    'the change); without it such a resume stops with the changed fields.',
)
config_flags.DEFINE_config_file('config', None, 'Training config file.', lock_config=True)
flags.mark_flags_as_required(['config', 'workdir'])


def _flag_error(e: Exception, argv: list[str]) -> str:
    """One line for what ``FLAGS(argv)`` raised: an unknown config field, a config
    file that does not load, or a bad flag value."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if isinstance(e, (AttributeError, KeyError)):  # An override of a field that is not there.
        names = re.findall(r'[A-Za-z_]\w*', str(e))
        field = names[0] if names else str(e)
        given = [a.split('=')[0] for a in argv if a.startswith('--config.') and field in a]
        suggestion = re.search(r'Did you mean \W*"(\w+)"', str(e))
        hint = f' Did you mean {suggestion.group(1)!r}?' if suggestion else ''
        where = f' (given as {given[0]})' if given else ''
        return (
            f'the config has no field {field!r}{where}.{hint} Its fields are those of '
            f'nssgan/base_config.py and the config file.'
        )
    if isinstance(e, OSError) and lines:
        return f'cannot load the config file: {lines[-1]}. Give one of configs/*.py.'
    if len(lines) > 1:  # A flag whose message holds a traceback: its first and last lines.
        return f'{lines[0].rstrip(":")}: {lines[-1]}'
    return lines[0] if lines else type(e).__name__


def parse_flags(argv: list[str]) -> list[str]:
    """Parses the command line; a problem with it ends the process with one line."""
    try:
        remaining = FLAGS(argv)
        hasattr(FLAGS.config, 'keys')  # A config file that failed to load raises here.
        return remaining
    except Exception as e:  # absl and ml_collections raise several types
        sys.exit(f'error: {_flag_error(e, argv)}')


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
    console.quiet_library_logs()
    launch = dict(
        coordinator_address=FLAGS.coordinator_address,
        num_processes=FLAGS.num_processes,
        process_id=FLAGS.process_id,
    )
    if FLAGS.distributed or any(v is not None for v in launch.values()):
        try:
            distributed.initialize(**launch)
        except distributed.DistributedError as e:
            sys.exit(f'error: {e}')
    if FLAGS.compilation_cache_dir:
        profiling.use_compilation_cache(FLAGS.compilation_cache_dir)
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
        train.WorkdirInUseError,
    )
    if FLAGS.mode == 'train':
        try:
            state = train.train_and_evaluate(
                FLAGS.config, FLAGS.workdir, allow_config_change=FLAGS.allow_config_change
            )
        except errors as e:
            sys.exit(f'error: {e}')
        except OSError as e:  # A file the run writes (samples, events) on a full disk.
            sys.exit(f'error: {e}. Free space or fix the file system, then rerun to resume.')
        except train.TrainingInterrupted as e:
            print(f'interrupted: {e}', file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:  # Ctrl-C before training started: nothing to save.
            print(
                'interrupted: SIGINT before training started; nothing was saved.', file=sys.stderr
            )
            sys.exit(128 + signal.SIGINT)
        print(
            f'complete: step {int(state.step)} of {FLAGS.config.num_train_steps} in '
            f'{FLAGS.workdir}.',
            file=sys.stderr,
        )
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
    app.run(main, flags_parser=parse_flags)
