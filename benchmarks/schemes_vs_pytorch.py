"""The train step with R1, WGAN-GP and PGN in nssgan beside the authors' PyTorch.

    python benchmarks/schemes_vs_pytorch.py [--steps 10] [--size 32] [--d_norm layer]
        [--markdown BENCHMARKS.md]

One step = one D update and one G update (n_dis 1) of the DCGAN of
``benchmarks/gradient_schemes.py`` (width 64, batch 64, latent 100, Adam 2e-4, β 0.5 /
0.999, random images of ``--size`` px): nssgan's side is that script's step
(``gradient_schemes._config`` and ``seconds_per_step``), PyTorch's the same step in the
form each method's authors wrote it:

* ``plain``: the non-saturating loss, no penalty (the baseline of both sides).
* ``r1``: LMescheder/GAN_stability's ``discriminator_trainstep`` with reg_type 'real':
  ``x_real.requires_grad_()``, ``dloss_real.backward(retain_graph=True)``, then
  ``reg_param · compute_grad2(d_real, x_real).mean()`` (reg_param 10;
  ``autograd.grad(d_out.sum(), x_in, create_graph=True, retain_graph=True)``, squared and
  summed per sample) and its own ``backward()``, then the fakes.
* ``wgan_gp``: the Wasserstein loss with the usual PyTorch gradient penalty: α ~ U[0, 1)
  per sample, ``autograd.grad(D(x̂).sum(), x̂, create_graph=True)``,
  ``((g.view(n, -1).norm(2, dim=1) - 1) ** 2).mean() * 10``.
* ``pgn``: sumorday/EDGAN-PyTorch's ``penalty_normalize_gradient``, f̂ = (1 − f) /
  (‖𝟏 − ∇ₓf‖ + |1 − f|) with ``autograd.grad(f, [x], ones_like(f), create_graph=True)``,
  in D's update on ``cat([x_real, x_fake])`` (one call, as its train.py) and in G's;
  hinge loss.

In every G update D's parameters are frozen (``requires_grad = False``), as
GAN_stability's ``toggle_grad``, EDGAN's ``module_no_grad`` and the WGAN-GP ports do.
The PyTorch models are DCGAN's (ConvTranspose2d / Conv2d(4, 2, 1), bias-free, BatchNorm
in G), built for ``--size`` px as ``nssgan.models.dcgan`` builds them; at 64 px with
``--d_norm batch`` they are the PyTorch DCGAN example's, which
``benchmarks/train_step.py`` times from here. The parameter counts of both sides are
printed and must agree.

``--d_norm`` is D's hidden normalization on both sides. The default, ``layer`` (over
C, H, W with a per-channel scale and offset, eps 1e-5, as the official WGAN-GP critic;
``nn.GroupNorm(1, C)`` in PyTorch), and ``none`` make every logit a function of its own
sample: both sides then compute the same function and the same penalties. With
``batch`` (DCGAN's BatchNorm, ``gradient_schemes.py``'s setting) the math differs:
PyTorch differentiates D(x).sum() through the batch statistics (each sample's
"gradient" mixes in the others'), nssgan takes per-sample gradients with the
statistics held constant w.r.t. x (``nssgan.forward.discriminator_apply``, at some
extra D work); and EDGAN's D normalizes reals and fakes together. PyTorch runs on the
GPU when JAX does and torch sees one, with ``torch.set_num_threads(os.cpu_count())``
on the CPU (XLA:CPU uses every core).
"""

import argparse
import functools
import math
import os
import time

import jax
import ml_collections
from gradient_schemes import _config, seconds_per_step
from report import machine, section_name, write_section

from nssgan import data
from nssgan import step as step_lib

BATCH = 64
WIDTH = 64
LATENT = 100
REG_WEIGHT = 10.0  # GAN_stability's reg_param; WGAN-GP's λ; nssgan's config.penalty.weight.
D_NORMS = ('layer', 'none', 'batch')

# name: (nssgan scheme, nssgan penalty, loss), the loss of both sides.
VARIANTS = {
    'plain': ('none', 'none', 'non_saturating'),
    'r1': ('none', 'r1', 'non_saturating'),
    'wgan_gp': ('none', 'wgan_gp', 'wasserstein'),
    'pgn': ('pgn', 'none', 'hinge'),
}

LABELS = {
    'plain': 'plain (non-saturating)',
    'r1': 'R1, γ/2 = 10 (non-saturating)',
    'wgan_gp': 'WGAN-GP, λ = 10 (Wasserstein)',
    'pgn': 'PGN (hinge)',
}


def nssgan_config(variant: str, size: int, d_norm: str):
    scheme, penalty, loss = VARIANTS[variant]
    config = _config(scheme, penalty, loss, size)
    config.model.d_norm = d_norm
    config.penalty.weight = REG_WEIGHT
    return config


def nssgan_parameter_counts(size: int, d_norm: str) -> tuple[int, int]:
    """(G's, D's) parameter counts of nssgan's models, from the state's shapes."""
    config = ml_collections.FrozenConfigDict(nssgan_config('plain', size, d_norm))
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = jax.eval_shape(
        functools.partial(step_lib.create_state, config, spec), jax.random.PRNGKey(0)
    )

    def count(tree):
        return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree))

    return count(state.generator.params), count(state.discriminator.params)


# ---------------------------------------------------------------- PyTorch side


def torch_device() -> str:
    import torch

    return 'cuda' if jax.default_backend() == 'gpu' and torch.cuda.is_available() else 'cpu'


def torch_models(size: int, d_norm: str, width: int = WIDTH, latent: int = LATENT):
    """DCGAN's G and D for ``size`` px (32, 64, 128) as ``nssgan.models.dcgan`` lays them
    out, DCGAN's weights_init; D returns logits of shape (N,)."""
    from torch import nn

    n = int(math.log2(size // 4))
    if 4 * 2**n != size or n < 3:
        raise ValueError(f'--size must be 32, 64 or 128, got {size}')
    features = width * 2 ** (n - 1)
    g_layers = [
        nn.ConvTranspose2d(latent, features, 4, 1, 0, bias=False),
        nn.BatchNorm2d(features),
        nn.ReLU(True),
    ]
    for _ in range(n - 1):
        g_layers += [
            nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(features // 2),
            nn.ReLU(True),
        ]
        features //= 2
    g_layers += [nn.ConvTranspose2d(features, 3, 4, 2, 1, bias=False), nn.Tanh()]

    def norm(channels):
        if d_norm == 'batch':
            return [nn.BatchNorm2d(channels)]
        if d_norm == 'layer':  # LayerNorm over C, H, W, per-channel affine (WGAN-GP's).
            return [nn.GroupNorm(1, channels, eps=1e-5)]
        if d_norm == 'none':
            return []
        raise ValueError(f'unknown --d_norm {d_norm!r}; use one of {D_NORMS}')

    features = width
    d_layers = [nn.Conv2d(3, features, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for _ in range(n - 1):
        d_layers += [
            nn.Conv2d(features, 2 * features, 4, 2, 1, bias=False),
            *norm(2 * features),
            nn.LeakyReLU(0.2, True),
        ]
        features *= 2
    d_layers += [nn.Conv2d(features, 1, 4, 1, 0, bias=False), nn.Flatten(0)]
    generator, discriminator = nn.Sequential(*g_layers), nn.Sequential(*d_layers)

    def weights_init(m):  # The PyTorch DCGAN example's.
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    generator.apply(weights_init)
    discriminator.apply(weights_init)
    return generator, discriminator


def torch_parameter_counts(size: int, d_norm: str) -> tuple[int, int]:
    generator, discriminator = torch_models(size, d_norm)
    return (
        sum(p.numel() for p in generator.parameters()),
        sum(p.numel() for p in discriminator.parameters()),
    )


def compute_grad2(d_out, x_in):
    """LMescheder/GAN_stability's: ‖∇ₓ Σ D‖² per sample."""
    from torch import autograd

    batch_size = x_in.size(0)
    grad_dout = autograd.grad(
        outputs=d_out.sum(), inputs=x_in, create_graph=True, retain_graph=True, only_inputs=True
    )[0]
    grad_dout2 = grad_dout.pow(2)
    assert grad_dout2.size() == x_in.size()
    return grad_dout2.reshape(batch_size, -1).sum(1)


def wgan_gp_penalty(net_d, real, fake):
    """The usual PyTorch WGAN-GP penalty (λ = 10 included)."""
    import torch
    from torch import autograd

    n = real.size(0)
    alpha = torch.rand(n, 1, 1, 1, device=real.device)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    gradients = autograd.grad(
        outputs=net_d(interpolates).sum(), inputs=interpolates, create_graph=True
    )[0]
    return ((gradients.view(n, -1).norm(2, dim=1) - 1) ** 2).mean() * REG_WEIGHT


def penalty_normalize_gradient(net_d, x):
    """sumorday/EDGAN-PyTorch's f̂ = (1 − f) / (‖𝟏 − ∇ₓf‖ + |1 − f|)."""
    import torch

    x.requires_grad_(True)
    f = net_d(x)
    grad = torch.autograd.grad(f, [x], torch.ones_like(f), create_graph=True, retain_graph=True)[0]
    grad_norm = torch.norm(torch.flatten(1 - grad, start_dim=1), p=2, dim=1)
    grad_norm = grad_norm.view(-1, *[1 for _ in range(len(f.shape) - 1)])
    return (1 - f) / (grad_norm + torch.abs(1 - f))


def torch_step(variant: str, size: int, d_norm: str, batch: int = BATCH, device: str = 'cpu'):
    """A function running one PyTorch train step of ``variant`` (returns D's and G's loss)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    net_g, net_d = torch_models(size, d_norm)
    net_g, net_d = net_g.to(device), net_d.to(device)
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    reals = torch.rand(batch, 3, size, size, device=device) * 2 - 1

    def bce(d_out, target):  # GAN_stability's compute_loss for the standard GAN.
        return F.binary_cross_entropy_with_logits(d_out, torch.full_like(d_out, target))

    def toggle_grad(model, requires_grad):
        for p in model.parameters():
            p.requires_grad_(requires_grad)

    def latents():
        return torch.randn(batch, LATENT, 1, 1, device=device)

    def d_update():
        toggle_grad(net_d, True)
        with torch.no_grad():
            x_fake = net_g(latents())
        opt_d.zero_grad()
        if variant == 'plain':
            loss = bce(net_d(reals), 1) + bce(net_d(x_fake), 0)
            loss.backward()
        elif variant == 'r1':
            x_real = reals.detach().requires_grad_()
            d_real = net_d(x_real)
            dloss_real = bce(d_real, 1)
            dloss_real.backward(retain_graph=True)
            reg = REG_WEIGHT * compute_grad2(d_real, x_real).mean()
            reg.backward()
            dloss_fake = bce(net_d(x_fake), 0)
            dloss_fake.backward()
            loss = dloss_real + reg + dloss_fake
        elif variant == 'wgan_gp':
            loss = (
                net_d(x_fake).mean() - net_d(reals).mean() + wgan_gp_penalty(net_d, reals, x_fake)
            )
            loss.backward()
        elif variant == 'pgn':
            pred = penalty_normalize_gradient(net_d, torch.cat([reals, x_fake], dim=0))
            pred_real, pred_fake = torch.split(pred, [batch, batch])
            loss = F.relu(1 - pred_real).mean() + F.relu(1 + pred_fake).mean()
            loss.backward()
        else:
            raise ValueError(variant)
        opt_d.step()
        return loss

    def g_update():
        toggle_grad(net_d, False)
        opt_g.zero_grad()
        fake = net_g(latents())
        if variant == 'pgn':
            loss = -penalty_normalize_gradient(net_d, fake).mean()
        elif variant == 'wgan_gp':
            loss = -net_d(fake).mean()
        else:
            loss = bce(net_d(fake), 1)
        loss.backward()
        opt_g.step()
        return loss

    def run_step():
        return d_update().detach(), g_update().detach()

    return run_step


def torch_seconds_per_step(variant: str, size: int, d_norm: str, steps: int) -> float:
    """As ``gradient_schemes.seconds_per_step``: two warm-up steps, then ``steps``."""
    import torch

    device = torch_device()

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    run_step = torch_step(variant, size, d_norm, device=device)
    for _ in range(2):
        run_step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        run_step()
    sync()
    return (time.perf_counter() - start) / steps


# ---------------------------------------------------------------- the table


def math_notes(d_norm: str) -> list[str]:
    notes = []
    if d_norm == 'batch':
        notes += [
            'D has BatchNorm: the two sides compute different penalties. PyTorch '
            "differentiates D(x).sum() through the batch statistics (each sample's "
            "input gradient mixes in the others'); nssgan takes per-sample gradients with "
            'the statistics held constant w.r.t. x (extra D work: in the penalty pass for '
            'R1 and WGAN-GP, in every D and G pass for PGN).',
            "PGN: EDGAN-PyTorch's D normalizes reals and fakes as one batch of "
            f"{2 * BATCH}; nssgan's D sees them as two batches of {BATCH}.",
        ]
    else:
        notes.append(
            f'D normalization `{d_norm}`: every logit depends on its own sample only, so '
            'both sides compute the same losses and penalties (up to their random draws); '
            'the rest is how each side evaluates them.'
        )
    notes += [
        'R1: GAN_stability runs two backward passes on the reals (the loss with '
        'retain_graph, then the penalty) and a third on the fakes; nssgan takes one '
        'gradient of the whole D loss.',
        'PGN: EDGAN-PyTorch runs D once on cat([reals, fakes]); nssgan runs f̂ on reals '
        'and fakes separately (the same function without BatchNorm).',
    ]
    return notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--d_norm', choices=D_NORMS, default='layer')
    parser.add_argument('--markdown', default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(os.cpu_count())
    device = torch_device()
    where = 'GPU' if device == 'cuda' else 'CPU'

    ours_counts = nssgan_parameter_counts(args.size, args.d_norm)
    theirs_counts = torch_parameter_counts(args.size, args.d_norm)
    same = ours_counts == theirs_counts
    counts_line = (
        f'parameters (G, D): nssgan {ours_counts[0]:,} / {ours_counts[1]:,}, '
        f'PyTorch {theirs_counts[0]:,} / {theirs_counts[1]:,}'
        + ('' if same else ' — ARCHITECTURES DIFFER')
    )
    print(counts_line, flush=True)

    rows = {}
    for variant in VARIANTS:
        ours = seconds_per_step(nssgan_config(variant, args.size, args.d_norm), args.steps)
        theirs = torch_seconds_per_step(variant, args.size, args.d_norm, args.steps)
        rows[variant] = (ours, theirs)
        print(f'{variant}: nssgan {1e3 * ours:.1f} ms, PyTorch {1e3 * theirs:.1f} ms', flush=True)

    plain_ours, plain_theirs = rows['plain']
    lines = [
        f'| DCGAN-{args.size}, batch {BATCH}, D norm `{args.d_norm}` | nssgan ms/step | '
        'PyTorch ms/step | nssgan / PyTorch | nssgan vs its plain | PyTorch vs its plain |',
        '|---|---|---|---|---|---|',
    ]
    for variant, (ours, theirs) in rows.items():
        lines.append(
            f'| {LABELS[variant]} | {1e3 * ours:.1f} | {1e3 * theirs:.1f} | '
            f'{ours / theirs:.2f}× | {ours / plain_ours:.2f}× | {theirs / plain_theirs:.2f}× |'
        )
    table = '\n'.join(lines)
    note_list = math_notes(args.d_norm)
    if jax.default_backend() != 'cpu' and device == 'cpu':
        note_list.insert(
            0,
            f'JAX runs on the {jax.default_backend().upper()} but PyTorch on the CPU (this '
            'torch sees no GPU): the nssgan / PyTorch column compares different devices.',
        )
    notes = '\n'.join(f'- {note}' for note in note_list)
    torch_line = f'PyTorch {torch.__version__} on the {where}' + (
        f' ({torch.get_num_threads()} threads)' if device == 'cpu' else ''
    )
    print(f"Penalties against the authors' PyTorch; {machine()}; {torch_line}")
    print(counts_line)
    print(table)
    print(notes)
    if args.markdown:
        command = (
            f'python benchmarks/schemes_vs_pytorch.py --steps {args.steps} '
            f'--size {args.size} --d_norm {args.d_norm}'
        )
        write_section(
            args.markdown,
            section_name('schemes_vs_pytorch'),
            (
                f"## Penalties against the authors' PyTorch ({jax.default_backend().upper()})\n\n"
                f'`{command}` on {machine()}; {torch_line}. One D and one G update per step, '
                f"random images; each PyTorch step as the method's authors wrote it "
                f"(GAN_stability's R1, the common PyTorch WGAN-GP, EDGAN-PyTorch's PGN); "
                f'{counts_line}.\n\n{table}\n\n{notes}'
            ),
        )


if __name__ == '__main__':
    main()
