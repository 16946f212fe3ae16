"""Trains configs over several seeds and tabulates their metrics (mean ± std).

    python -m nssgan.compare --out DIR --seeds 0,1,2 \\
        ntgan=configs/ntgan_ring.py gan=configs/ntgan_ring.py:gan

Each ``name=config[:argument]`` is trained once per seed in ``DIR/<name>/seed<k>``
(resuming what is there), then ``--num_samples`` samples of its final generator are
scored with the run's metrics (``nssgan.evaluation.Evaluator``: the embedded datasets'
own metrics, or FID/IS/KID). The table is printed and written to ``DIR/results.md``.
"""

import argparse
import importlib.util
import os
import sys

from nssgan import console

# TensorFlow (under the data pipeline) writes banners to stderr when it is first
# imported: import it before anything else does.
console.import_tensorflow_quietly()

import numpy as np  # noqa: E402

from nssgan import checkpointing, data, sampling, train, validation  # noqa: E402
from nssgan.evaluation import evaluator  # noqa: E402
from nssgan.state import GANState  # noqa: E402

# What a run can stop with, each a one-line message with the fix.
TRAINING_ERRORS = (
    validation.ConfigError,
    data.DatasetError,
    checkpointing.CheckpointError,
    train.TrainingDivergedError,
    train.WorkdirInUseError,
)


def load_config(spec: str):
    """``path[:argument]`` → the config of ``get_config([argument])``."""
    path, _, argument = spec.partition(':')
    if not os.path.exists(path):
        raise FileNotFoundError(f'no config file {path!r}')
    module_spec = importlib.util.spec_from_file_location('compared_config', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(argument) if argument else module.get_config()


def train_and_score(config, workdir: str, num_samples: int) -> tuple[GANState, dict[str, float]]:
    """Trains ``config`` in ``workdir`` (resuming what is there), then scores
    ``num_samples`` samples of its final generator with the run's metrics."""
    config.eval.every = 0  # Scored once, below.
    config.eval.num_samples = num_samples
    state = train.train_and_evaluate(config, workdir)
    samples = sampling.generate_samples(state, config, num_samples)
    return state, evaluator.make_evaluator(config)(samples)


def run(name: str, spec: str, seed: int, out: str, num_samples: int) -> dict[str, float]:
    """Trains ``spec`` with ``seed`` (or resumes it) and scores its final generator."""
    config = load_config(spec)
    config.seed = seed
    _, scores = train_and_score(config, os.path.join(out, name, f'seed{seed}'), num_samples)
    return scores


def table(results: dict[str, list[dict[str, float]]], seeds) -> str:
    """Markdown: one row per metric, one column per variant, mean ± std over seeds."""
    names = list(results)
    metrics = [m for m in results[names[0]][0] if m not in ('classifier_accuracy', 'num_modes')]
    lines = [
        f'| metric (mean ± std over seeds {", ".join(map(str, seeds))}) | '
        + ' | '.join(names)
        + ' |',
        '|---|' + '---|' * len(names),
    ]
    for metric in metrics:
        cells = []
        for name in names:
            values = np.array([r[metric] for r in results[name]], np.float64)
            cells.append(f'{np.mean(values):.4g} ± {np.std(values):.2g}')
        lines.append(f'| {metric} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--num_samples', type=int, default=2_500)
    parser.add_argument('runs', nargs='+', help='name=config.py[:argument]')
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(',')]
    specs = {}
    for item in args.runs:
        name, sep, spec = item.partition('=')
        if not sep:
            parser.error(f'{item!r} is not name=config.py[:argument]')
        specs[name] = spec
        try:
            load_config(spec)  # Every config loads before anything trains.
        except (OSError, ValueError, TypeError, AttributeError) as e:
            sys.exit(f'error: {name}={spec}: {e}')
    results = {name: [] for name in specs}
    for seed in seeds:
        for name, spec in specs.items():
            try:
                scores = run(name, spec, seed, args.out, args.num_samples)
            except TRAINING_ERRORS as e:
                sys.exit(f'error: {name} seed {seed}: {e}')
            print(
                f'{name} seed {seed}: '
                + ', '.join(f'{k}={v:.4g}' for k, v in sorted(scores.items())),
                flush=True,
            )
            results[name].append(scores)
    text = table(results, seeds)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'results.md'), 'w') as f:
        f.write(
            ' '.join(f'{n}={s}' for n, s in specs.items())
            + f', {args.num_samples} samples per run\n\n{text}\n'
        )


if __name__ == '__main__':
    main()
