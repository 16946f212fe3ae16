"""Step throughput of the DCGAN-64 GAN step against batch size, in float32 and bfloat16,
with its FLOP utilisation.

One step is one D and one G update (``nssgan.step.train_step``, n_dis = 1) of the PyTorch
DCGAN example's 64 px networks (width 64, BatchNorm). FLOPs per step are XLA's count
for the compiled step (``cost_analysis``); utilisation is FLOPs per step × steps/s ÷ the
device's peak: on GPUs their datasheet's dense peak for the dtype, on CPUs the rate this
machine reaches on a 2048² float32 matrix product (a practical peak; bfloat16 has no
faster path on most CPUs).

    python benchmarks/throughput.py [--batches 64,128,256,512,1024] [--steps 2]
        [--markdown BENCHMARKS.md]
"""

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import ml_collections
from report import machine, section_name, write_section

from nssgan import data
from nssgan import step as step_lib
from nssgan.base_config import base_config

SIZE, WIDTH, LATENT = 64, 64, 100
# Dense peak FLOP/s by device kind and dtype (datasheets, without sparsity).
GPU_PEAKS = {
    'H100': {'float32': 67e12, 'bfloat16': 989e12},
    'H200': {'float32': 67e12, 'bfloat16': 989e12},
    'A100': {'float32': 19.5e12, 'bfloat16': 312e12},
}


def _config(batch: int, dtype: str) -> ml_collections.FrozenConfigDict:
    config = base_config()
    config.dataset = 'photo_patches'  # 64×64 RGB; the data itself is random here.
    config.image_size = SIZE
    config.batch_size = batch
    config.model.g_width = config.model.d_width = WIDTH
    config.model.latent_dim = LATENT
    config.compute_dtype = dtype
    return ml_collections.FrozenConfigDict(config)


def measure(batch: int, dtype: str, steps: int) -> dict:
    config = _config(batch, dtype)
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step_lib.create_state(config, spec, jax.random.PRNGKey(0))
    reals = jax.random.uniform(jax.random.PRNGKey(1), (1, batch, SIZE, SIZE, 3), minval=-1)
    step = jax.jit(functools.partial(step_lib.train_step, config=config), donate_argnums=0)
    compiled = step.lower(state, {'image': reals}).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get('flops', 0.0))
    state, metrics = compiled(state, {'image': reals})  # Warm-up.
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for _ in range(steps):
        state, metrics = compiled(state, {'image': reals})
    jax.block_until_ready(metrics)
    seconds = (time.perf_counter() - start) / steps
    return {'batch': batch, 'dtype': dtype, 'seconds': seconds, 'flops': flops}


def peak(dtype: str) -> tuple[float, str]:
    """(FLOP/s, where the figure comes from) for ``dtype`` on the default device."""
    kind = jax.devices()[0].device_kind
    for name, peaks in GPU_PEAKS.items():
        if name in kind:
            return peaks[dtype], f'{name} datasheet, dense {dtype}'
    a = jax.random.normal(jax.random.PRNGKey(0), (2048, 2048), jnp.float32)
    matmul = jax.jit(lambda a: a @ a)
    jax.block_until_ready(matmul(a))
    start = time.perf_counter()
    for _ in range(10):
        jax.block_until_ready(matmul(a))
    rate = 10 * 2 * 2048**3 / (time.perf_counter() - start)
    return rate, 'measured 2048² float32 matrix product'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', default='64,128,256,512,1024')
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--markdown', help='write the results into this file')
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(',')]
    peaks = {dtype: peak(dtype) for dtype in ('float32', 'bfloat16')}
    rows = []
    for dtype in ('float32', 'bfloat16'):
        for batch in batches:
            r = measure(batch, dtype, args.steps)
            r['images_per_s'] = batch / r['seconds']
            r['utilisation'] = r['flops'] / r['seconds'] / peaks[dtype][0]
            rows.append(r)
            print(
                f'{dtype:9s} batch {batch:5d}: {1000 * r["seconds"]:9.1f} ms/step, '
                f'{r["images_per_s"]:8.1f} images/s, {r["flops"] / 1e9:9.1f} GFLOP/step, '
                f'{100 * r["utilisation"]:5.1f}% of peak',
                flush=True,
            )
    peak_text = ', '.join(f'{d} {p / 1e9:,.0f} GFLOP/s ({w})' for d, (p, w) in peaks.items())
    lines = [
        f'`python benchmarks/throughput.py --batches {args.batches} --steps {args.steps}` on '
        f'{machine()}. Peak: {peak_text}.',
        '',
        '| compute | batch | ms/step | images/s | GFLOP/step | utilisation |',
        '|---|---|---|---|---|---|',
    ]
    lines += [
        f'| {r["dtype"]} | {r["batch"]} | {1000 * r["seconds"]:,.1f} | {r["images_per_s"]:,.1f} | '
        f'{r["flops"] / 1e9:,.1f} | {100 * r["utilisation"]:.1f}% |'
        for r in rows
    ]
    if args.markdown:
        title = f'## DCGAN-64 throughput against batch size ({jax.default_backend().upper()})'
        write_section(args.markdown, section_name('throughput'), f'{title}\n\n' + '\n'.join(lines))


if __name__ == '__main__':
    main()
