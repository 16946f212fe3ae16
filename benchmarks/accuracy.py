"""How exact the fast paths are on this backend: each against its textbook reference.

    python benchmarks/accuracy.py [--markdown BENCHMARKS.md]

Max absolute errors, float32, at the backend's default matmul precision (TF32 on recent
NVIDIA GPUs, bf16 passes on TPUs, full f32 on CPU):

1. ``scale_space.noisy_scale_space(method='spectral')`` against ``method='loop'`` with
   σ = 0 (where both are deterministic) on a 64×64×64×3 batch, t ∈ {1, 8, 64, 256}.
2. ``models.subpixel_conv_transpose`` (each method) against ``lax.conv_transpose``, and
   ``models.strided_conv`` (each method) against ``lax.conv_general_dilated``, on a
   DCGAN-64 layer (batch 64, 16×16, 128 → 64 channels), both at full f32 precision,
   so the error is the method's own.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from report import machine, section_name, write_section

from nssgan import models, scale_space

HIGHEST = jax.lax.Precision.HIGHEST


def _max_error(a, b) -> float:
    return float(jnp.max(jnp.abs(a - b)))


def scale_space_errors() -> list[tuple[int, float]]:
    x = jax.random.uniform(jax.random.PRNGKey(0), (64, 64, 64, 3), minval=-1, maxval=1)
    rows = []
    for t in (1, 8, 64, 256):
        loop, spectral = (
            jax.jit(lambda x, m=m: scale_space.noisy_scale_space(None, x, t, sigma=0.0, method=m))(
                x
            )
            for m in scale_space.METHODS
        )
        rows.append((t, _max_error(loop, spectral)))
    return rows


def layer_errors() -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((64, 16, 16, 128)), jnp.float32)
    up_kernel = jnp.asarray(0.05 * rng.standard_normal((4, 4, 128, 64)), jnp.float32)
    down_kernel = jnp.asarray(0.05 * rng.standard_normal((4, 4, 128, 64)), jnp.float32)
    up_reference = jax.lax.conv_transpose(
        x,
        up_kernel[::-1, ::-1],
        (2, 2),
        ((2, 2), (2, 2)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        precision=HIGHEST,
    )
    down_reference = jax.lax.conv_general_dilated(
        x,
        down_kernel,
        (2, 2),
        ((1, 1), (1, 1)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        precision=HIGHEST,
    )
    rows = []
    for method in models.UPSAMPLE_METHODS:
        out = jax.jit(
            lambda x, k, m=method: models.subpixel_conv_transpose(x, k, method=m, precision=HIGHEST)
        )(x, up_kernel)
        rows.append((f'upsample {method}', _max_error(out, up_reference)))
    for method in models.DOWNSAMPLE_METHODS:
        out = jax.jit(
            lambda x, k, m=method: models.strided_conv(x, k, method=m, precision=HIGHEST)
        )(x, down_kernel)
        rows.append((f'downsample {method}', _max_error(out, down_reference)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--markdown', default=None)
    args = parser.parse_args()
    lines = ['| spectral vs loop, σ = 0 | max abs error |', '|---|---|']
    lines += [f'| t = {t} | {error:.1e} |' for t, error in scale_space_errors()]
    lines += ['', '| layer (batch 64, 16×16, 128 → 64) | max abs error |', '|---|---|']
    lines += [f'| {name} | {error:.1e} |' for name, error in layer_errors()]
    table = '\n'.join(lines)
    print(f'Fast paths against their references; {machine()}')
    print(table)
    if args.markdown:
        write_section(
            args.markdown,
            section_name('accuracy'),
            (
                f'## Exactness of the fast paths ({jax.default_backend().upper()})\n\n'
                f'`python benchmarks/accuracy.py` on {machine()}; inputs of order 1.\n\n'
                f'{table}'
            ),
        )


if __name__ == '__main__':
    main()
