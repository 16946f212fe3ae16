"""Cost of the noisy scale-space: loop vs spectral over t, and what NSS adds to a step.

    python benchmarks/scale_space.py [--markdown BENCHMARKS.md]

1. Φ_t of a 64×64×64×3 batch (σ = 0.15, 3×3 binomial, symmetric borders), jitted,
   for t ∈ {0, 8, 64, 256}, with ``method='loop'`` and ``method='spectral'``.
2. The DCGAN-64 train step (batch 64, n_dis 1) with ``stabilizer.name='none'`` and
   with ``'nss'`` at t = 256 (``fixed_t``) and the default (spectral) method.
"""

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import ml_collections
from report import machine, section_name, write_section

from nssgan import data, scale_space
from nssgan import step as step_lib
from nssgan.base_config import base_config

TIMES = (0, 8, 64, 256)


def _seconds(fn, *args, repeats: int = 10) -> float:
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(fn(*args))
    return (time.perf_counter() - start) / repeats


def time_phi() -> dict[str, list[float]]:
    x = jax.random.uniform(jax.random.PRNGKey(0), (64, 64, 64, 3), minval=-1, maxval=1)
    key = jax.random.PRNGKey(1)
    results = {}
    for method in scale_space.METHODS:
        fn = jax.jit(lambda x, t, m=method: scale_space.noisy_scale_space(key, x, t, method=m))
        results[method] = [_seconds(fn, x, jnp.int32(t)) for t in TIMES]
    return results


def time_step(stabilizer: str, steps: int = 10) -> float:
    config = base_config()
    config.dataset = 'photo_patches'
    config.image_size = 64
    config.batch_size = 64
    if stabilizer != 'none':
        config.stabilizer.name = stabilizer
        config.stabilizer[stabilizer].fixed_t = 256
    config = ml_collections.FrozenConfigDict(config)
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step_lib.create_state(config, spec, jax.random.PRNGKey(0))
    batch = {
        'image': jax.random.uniform(jax.random.PRNGKey(1), (1, 64, 64, 64, 3), minval=-1, maxval=1)
    }
    step = jax.jit(functools.partial(step_lib.train_step, config=config))
    holder = [state]

    def run():
        holder[0], metrics = step(holder[0], batch)
        return metrics

    return _seconds(run, repeats=steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--markdown', default=None)
    args = parser.parse_args()
    phi = time_phi()
    lines = [
        '| method | ' + ' | '.join(f't = {t}' for t in TIMES) + ' |',
        '|---|' + '---|' * len(TIMES),
    ]
    for method, seconds in phi.items():
        lines.append(f'| {method} | ' + ' | '.join(f'{1e3 * s:.1f} ms' for s in seconds) + ' |')
    plain, nss = time_step('none'), time_step('nss')
    lines += [
        '',
        '| DCGAN-64 train step (batch 64) | ms/step |',
        '|---|---|',
        f'| no scheme | {1e3 * plain:.1f} |',
        f'| nss, t = 256, spectral | {1e3 * nss:.1f} (+{100 * (nss / plain - 1):.1f}%) |',
    ]
    table = '\n'.join(lines)
    print(f'Φ_t on a 64×64×64×3 batch; {machine()}')
    print(table)
    if args.markdown:
        write_section(
            args.markdown,
            section_name('scale_space'),
            (
                f'## Noisy scale-space ({jax.default_backend().upper()})\n\n'
                f'`python benchmarks/scale_space.py` on '
                f'{machine()}: Φ_t of a 64×64×64×3 batch (σ = 0.15, 3×3 binomial, '
                f'symmetric borders), and the DCGAN-64 step with and without NSS.\n\n'
                f'{table}'
            ),
        )


if __name__ == '__main__':
    main()
