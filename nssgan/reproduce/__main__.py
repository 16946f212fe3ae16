"""``python -m nssgan.reproduce``: see the package's docstring."""

import argparse
import os
import shlex
import sys
import time

from nssgan import console

# TensorFlow (under the data pipeline) writes banners to stderr when it is first
# imported: import it before anything else does.
console.import_tensorflow_quietly()

from nssgan import profiling, train  # noqa: E402
from nssgan.compare import TRAINING_ERRORS  # noqa: E402
from nssgan.reproduce import CLAIMS, report  # noqa: E402
from nssgan.reproduce.claim import DEFAULT_SEEDS, Budget  # noqa: E402


def parse(argv):
    parser = argparse.ArgumentParser(
        prog='python -m nssgan.reproduce', description=__doc__.splitlines()[0]
    )
    parser.add_argument('--out', required=True, help='directory for the runs and the report')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--quick', action='store_true', help='under 15 min on 2 CPU cores')
    mode.add_argument('--smoke', action='store_true', help='a few steps of tiny models')
    parser.add_argument('--claims', help=f'comma-separated, of: {", ".join(CLAIMS)}')
    parser.add_argument('--seeds', type=int, help='seeds per run (default: 5; quick and smoke: 1)')
    args = parser.parse_args(argv)
    keys = list(CLAIMS) if not args.claims else args.claims.split(',')
    unknown = [k for k in keys if k not in CLAIMS]
    if unknown:
        parser.error(f'unknown claim(s) {", ".join(unknown)}; choose from {", ".join(CLAIMS)}')
    if args.seeds is not None and args.seeds < 1:
        parser.error(f'--seeds={args.seeds} must be at least 1')
    return args, keys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args, keys = parse(argv)
    mode = 'quick' if args.quick else 'smoke' if args.smoke else 'full'
    budget = Budget(mode, tuple(range(args.seeds or DEFAULT_SEEDS[mode])))
    os.makedirs(args.out, exist_ok=True)
    profiling.use_compilation_cache(os.path.join(args.out, 'jax_cache'))
    outcomes, seconds = {}, {}
    for key in keys:
        claim = CLAIMS[key]
        print(f'== {claim.paper}: {claim.title} ({key})', flush=True)
        start = time.perf_counter()
        try:
            claim_dir = os.path.join(args.out, key)
            os.makedirs(claim_dir, exist_ok=True)
            outcomes[key] = claim.run(budget, claim_dir)
        except (*TRAINING_ERRORS, FileNotFoundError) as e:
            sys.exit(f'error: {key}: {e}')
        except train.TrainingInterrupted as e:
            print(f'interrupted: {key}: {e}', file=sys.stderr)
            sys.exit(e.exit_code)
        seconds[key] = time.perf_counter() - start
        print(f'   {outcomes[key].verdict}: {outcomes[key].ours}', flush=True)
    command = shlex.join(['python', '-m', 'nssgan.reproduce', *argv])
    path = report.write(
        os.path.join(args.out, 'REPRODUCTION.md'),
        [CLAIMS[k] for k in keys],
        outcomes,
        budget,
        seconds,
        command,
    )
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
