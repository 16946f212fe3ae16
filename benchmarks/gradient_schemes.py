"""What each stabilizer costs: the train step with every scheme and penalty.

    python benchmarks/gradient_schemes.py [--steps 10] [--size 32] [--d_norm batch]
        [--markdown BENCHMARKS.md]

DCGAN (width 64, BatchNorm or ``--d_norm``, batch 64, n_dis 1) on random images of
``--size`` px, the same step with each scheme (``none``, ``nss`` at t = 256, ``roth``, ``pgn``,
``gn``) and each penalty (``r1``, ``wgan_gp``, ``dragan``, ``cr``), in ms per step and
relative to the plain step, with the FLOPs XLA counts in each compiled step. The
gradient-based ones differentiate D twice (penalties) or build f̂ from ∇ₓD in every D
and G pass (pgn, gn); with BatchNorm in D their per-sample gradients normalize with
moments taken as constants of the input (``nssgan.forward.discriminator_apply``).
``--gngan`` adds GN-GAN's ResNet-32 setup (PGN, hinge, n_dis 5, D batch 64, G 128).
"""

import argparse
import functools
import time

import jax
import ml_collections
from report import machine, section_name, write_section

from nssgan import data
from nssgan import step as step_lib
from nssgan.base_config import base_config
from nssgan.paper_setups import gngan_config

VARIANTS = [
    ('none', 'none', 'non_saturating'),
    ('nss', 'none', 'non_saturating'),
    ('roth', 'none', 'non_saturating'),
    ('pgn', 'none', 'hinge'),
    ('gn', 'none', 'non_saturating'),
    ('none', 'r1', 'non_saturating'),
    ('none', 'wgan_gp', 'wasserstein'),
    ('none', 'dragan', 'non_saturating'),
    ('none', 'cr', 'non_saturating'),
]


def _config(scheme: str, penalty: str, loss: str, size: int):
    config = base_config()
    config.dataset = 'photo_patches'
    config.image_size = size
    config.batch_size = 64
    config.loss = loss
    if scheme == 'nss':
        config.stabilizer.name = 'nss'
        config.stabilizer.nss.fixed_t = 256
    else:
        config.stabilizer.name = scheme
    config.penalty.name = penalty
    return config


def measure(config, steps: int) -> tuple[float, float]:
    """(seconds per step, FLOPs per step by XLA's cost analysis) of ``config``'s step."""
    config = ml_collections.FrozenConfigDict(config)
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step_lib.create_state(config, spec, jax.random.PRNGKey(0))
    reals = jax.random.uniform(
        jax.random.PRNGKey(1), (config.n_dis, config.batch_size, *spec.shape), minval=-1, maxval=1
    )
    step = jax.jit(functools.partial(step_lib.train_step, config=config), donate_argnums=0)
    compiled = step.lower(state, {'image': reals}).compile()
    cost = compiled.cost_analysis()
    flops = float((cost[0] if isinstance(cost, list) else cost).get('flops', 0.0))
    return seconds_per_compiled_step(compiled, state, {'image': reals}, steps), flops


def seconds_per_compiled_step(compiled, state, batch, steps: int, warmup: int = 2) -> float:
    """Seconds per step of the compiled train step, after ``warmup`` steps."""
    for _ in range(warmup):
        state, metrics = compiled(state, batch)
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for _ in range(steps):
        state, metrics = compiled(state, batch)
    jax.block_until_ready(metrics)
    return (time.perf_counter() - start) / steps


def seconds_per_step(config, steps: int) -> float:
    return measure(config, steps)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--gngan', action='store_true')
    parser.add_argument(
        '--d_norm', default='batch', choices=('batch', 'layer', 'none'), help="D's normalization"
    )
    parser.add_argument('--markdown', default=None)
    args = parser.parse_args()
    rows = []
    for scheme, penalty, loss in VARIANTS:
        config = _config(scheme, penalty, loss, args.size)
        config.model.d_norm = args.d_norm
        seconds, flops = measure(config, args.steps)
        rows.append(
            (
                f'`{scheme}`' + (f' + `{penalty}`' if penalty != 'none' else '') + f' ({loss})',
                seconds,
                flops,
            )
        )
        print(rows[-1], flush=True)
    plain = rows[0][1]
    norm = f', D norm `{args.d_norm}`' if args.d_norm != 'batch' else ''
    lines = [
        f'| DCGAN-{args.size}, batch 64{norm} | ms/step | vs plain | GFLOP/step | FLOPs vs plain |',
        '|---|---|---|---|---|',
    ]
    lines += [
        f'| {name} | {1e3 * s:.1f} | {s / plain:.2f}× | {f / 1e9:.2f} | {f / rows[0][2]:.2f}× |'
        for name, s, f in rows
    ]
    if args.gngan:
        config = gngan_config(dataset='cifar10', image_size=32, arch='resnet')
        config.dataset = 'photo_patches'  # random images of the same shape
        seconds = seconds_per_step(config, args.steps)
        lines += [
            '',
            '| GN-GAN ResNet-32 setup (PGN, hinge, n_dis 5, batch 64 / 128) | ms/step |',
            '|---|---|',
            f'| pgn | {1e3 * seconds:.1f} |',
        ]
    table = '\n'.join(lines)
    print(f'Stabilizer cost; {machine()}')
    print(table)
    if args.markdown:
        command = (
            f'python benchmarks/gradient_schemes.py --steps {args.steps} '
            f'--size {args.size}'
            + (f' --d_norm {args.d_norm}' if args.d_norm != 'batch' else '')
            + (' --gngan' if args.gngan else '')
        )
        write_section(
            args.markdown,
            section_name('gradient_schemes'),
            (
                f'## Cost of each stabilizer ({jax.default_backend().upper()})\n\n'
                f'`{command}` on {machine()}; one D and one G update per step, random '
                f'images.\n\n{table}'
            ),
        )


if __name__ == '__main__':
    main()
