"""Images/s of the DCGAN-64 GAN train step in nssgan, beside the same step in PyTorch.

One step = one discriminator update (G(z) without gradient, D on the real and the fake
batch, Adam) and one generator update (G(z') on fresh latents, D, backward through D
and G, Adam): exactly what ``nssgan.step_lib.train_step`` does with ``n_dis = 1``. Both
sides use the PyTorch DCGAN example's 64 px architecture (width 64, BatchNorm, 3
channels; in PyTorch ``schemes_vs_pytorch.torch_models``, with that example's weight
initialisation) and batch 64 of random images.

    python benchmarks/train_step.py [--steps 10] [--naive] [--parts] [--markdown BENCHMARKS.md]

``--parts`` also prints the time of the step's parts (D update, G update, G's and
D's forward pass with and without the parameter gradient), each compiled alone.
``--naive`` also times the models with XLA's own convolutions (``lax.conv_transpose``
in G, strided ``conv_general_dilated`` in D: the layers' textbook form), to show what
the matrix-product forms of ``nssgan.models.layers`` buy on XLA:CPU. PyTorch runs on
the GPU when JAX does and torch sees one. ``--markdown`` replaces this benchmark's
section of that file (one section per JAX backend) with the results.
"""

import argparse
import functools
import time

import jax
import ml_collections
from report import machine, section_name, write_section
from schemes_vs_pytorch import torch_device, torch_models

from nssgan import data, schemes
from nssgan import step as step_lib
from nssgan.base_config import base_config

BATCH, SIZE, WIDTH, LATENT = 64, 64, 64, 100


def _config(upsample: str, downsample: str) -> ml_collections.FrozenConfigDict:
    config = base_config()
    config.model.upsample_method = upsample
    config.model.downsample_method = downsample
    config.dataset = 'photo_patches'  # 64×64 RGB; the data itself is random here.
    config.image_size = SIZE
    config.batch_size = BATCH
    config.model.g_width = WIDTH
    config.model.d_width = WIDTH
    config.model.latent_dim = LATENT
    return ml_collections.FrozenConfigDict(config)


def _time(run_step, steps: int, warmup: int = 2) -> float:
    """Seconds per step, after ``warmup`` steps (compilation, allocation)."""
    for _ in range(warmup):
        run_step()
    start = time.perf_counter()
    for _ in range(steps):
        run_step()
    return (time.perf_counter() - start) / steps


def time_nssgan(steps: int, upsample: str = 'auto', downsample: str = 'auto') -> float:
    config = _config(upsample, downsample)
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step_lib.create_state(config, spec, jax.random.PRNGKey(0))
    reals = jax.random.uniform(
        jax.random.PRNGKey(1), (1, BATCH, SIZE, SIZE, 3), minval=-1, maxval=1
    )
    step = jax.jit(functools.partial(step_lib.train_step, config=config), donate_argnums=0)
    holder = [state]

    def run_step():
        holder[0], metrics = step(holder[0], {'image': reals})
        jax.block_until_ready(metrics)

    return _time(run_step, steps)


def time_parts(steps: int) -> list[tuple[str, float]]:
    """Seconds of the parts of nssgan's step (each jitted alone): the D update, the G
    update, and G's and D's training-mode forward pass with and without the parameter
    gradient of the summed output."""
    config = _config('auto', 'auto')
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step_lib.create_state(config, spec, jax.random.PRNGKey(0))
    real = jax.random.uniform(jax.random.PRNGKey(1), (BATCH, SIZE, SIZE, 3), minval=-1)
    z = jax.random.normal(jax.random.PRNGKey(2), (BATCH, LATENT))
    scheme = schemes.get_scheme(config)
    parts = dict(config=config, scheme=scheme, schedule={})
    key = jax.random.PRNGKey(3)

    def summed_grad(net, x):
        return jax.grad(lambda p: net.apply_train(x, p)[0].sum())(net.params)

    # The state and data are arguments, not constants of the compiled function.
    functions = [
        (
            'D update (G forward, D on reals and fakes, Adam)',
            lambda s, x, z: step_lib.discriminator_update(
                s.discriminator, s.generator, s.scheme, x, key, **parts
            )[0],
        ),
        (
            'G update (G forward, D forward, both backward, Adam)',
            lambda s, x, z: step_lib.generator_update(
                s.generator, s.discriminator, s.scheme, key, BATCH, **parts
            )[0],
        ),
        ('G forward', lambda s, x, z: s.generator.apply_train(z)[0]),
        ('G forward + parameter gradient', lambda s, x, z: summed_grad(s.generator, z)),
        ('D forward', lambda s, x, z: s.discriminator.apply_train(x)[0]),
        ('D forward + parameter gradient', lambda s, x, z: summed_grad(s.discriminator, x)),
    ]
    rows = []
    for name, function in functions:
        compiled = jax.jit(function)
        seconds = _time(lambda c=compiled: jax.block_until_ready(c(state, real, z)), steps)
        rows.append((name, seconds))
    return rows


def time_pytorch(steps: int) -> float | None:
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    device = torch_device()
    torch.manual_seed(0)
    generator, discriminator = torch_models(SIZE, 'batch', width=WIDTH, latent=LATENT)
    generator, discriminator = generator.to(device), discriminator.to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    reals = torch.rand(BATCH, 3, SIZE, SIZE, device=device) * 2 - 1
    ones = torch.ones(BATCH, device=device)
    zeros = torch.zeros(BATCH, device=device)

    def run_step():
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, LATENT, 1, 1, device=device))
        opt_d.zero_grad()
        d_loss = bce(discriminator(reals).view(-1), ones) + bce(discriminator(fake).view(-1), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(
            discriminator(generator(torch.randn(BATCH, LATENT, 1, 1, device=device))).view(-1), ones
        )
        g_loss.backward()
        opt_g.step()
        if device == 'cuda':
            torch.cuda.synchronize()

    return _time(run_step, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--naive', action='store_true')
    parser.add_argument('--parts', action='store_true', help="also time the step's parts")
    parser.add_argument('--markdown', default=None)
    args = parser.parse_args()

    rows = [('nssgan (default layers)', time_nssgan(args.steps))]
    if args.naive:
        rows.append(
            (
                'nssgan with XLA convolutions (naive)',
                time_nssgan(args.steps, 'conv_transpose', 'conv'),
            )
        )
    torch_seconds = time_pytorch(args.steps)
    if torch_seconds is not None:
        import torch

        where = 'GPU' if torch_device() == 'cuda' else 'CPU'
        rows.append(
            (f'PyTorch {torch.__version__} on the {where} (same architecture)', torch_seconds)
        )
    ours = rows[0][1]
    lines = ['| implementation | ms/step | images/s | time vs nssgan |', '|---|---|---|---|']
    for name, seconds in rows:
        lines.append(
            f'| {name} | {1e3 * seconds:.1f} | {BATCH / seconds:.0f} | {seconds / ours:.2f}× |'
        )
    table = '\n'.join(lines)
    print(f'DCGAN-64 train step, batch {BATCH}, {args.steps} timed steps; {machine()}')
    print(table)
    if args.parts:
        print('| part of the nssgan step | ms |\n|---|---|')
        for name, seconds in time_parts(args.steps):
            print(f'| {name} | {1e3 * seconds:.1f} |')
    if args.markdown:
        _write_section(args.markdown, table, args)


def _write_section(path: str, table: str, args) -> None:
    command = (
        'python benchmarks/train_step.py'
        + (' --naive' if args.naive else '')
        + f' --steps {args.steps}'
    )
    write_section(
        path,
        section_name('train_step'),
        (
            f'## DCGAN-64 train step ({jax.default_backend().upper()})\n\n'
            f'`{command}` on {machine()}; batch {BATCH}, one D '
            f'and one G update per step.\n\n{table}'
        ),
    )


if __name__ == '__main__':
    main()
