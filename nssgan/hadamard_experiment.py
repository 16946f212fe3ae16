"""The NSS paper's Hadamard experiment (§4.3, Fig. 4 and 5), from trained runs.

Train the basic MLP GAN on the embedded ``hadamard`` set with the scale-space and
with the noisy scale-space at a fixed t = 8, then plot and print the Hadamard
coefficients of reals and fakes, both as D saw them (projected through Φ_8) and
as they are:

    python main.py --config=configs/hadamard_ss.py --workdir=workdir/hadamard_ss
    python main.py --config=configs/hadamard_nss.py --workdir=workdir/hadamard_nss
    python -m nssgan.hadamard_experiment --out workdir/hadamard \
        ss=configs/hadamard_ss.py:workdir/hadamard_ss \
        nss=configs/hadamard_nss.py:workdir/hadamard_nss

The paper's claim: SS shrinks the spread of the fakes' high-frequency coefficients
(B₅…B₈), NSS preserves it (real: U(−1, 1), std 1/√3 ≈ 0.577).
"""

import argparse
import importlib.util
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from nssgan import checkpointing, data, evaluation, sampling, schemes
from nssgan.forward import sample_latent
from nssgan.schemes import RunInfo


def _load_config(path: str):
    spec = importlib.util.spec_from_file_location('hadamard_config', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def coefficient_statistics(
    config, workdir: str | None, num_samples: int = 10_000, seed: int = 0, *, state=None
) -> dict[str, np.ndarray]:
    """Coefficient statistics of reals and fakes, raw and projected through the
    run's Φ_t (its fixed t): `evaluation.hadamard_statistics` of each set, keys
    like 'fake_std' (per basis mean, std, W_1 to U(−1, 1); mean residual
    energy 'fake_residual', 'fake_residual_fraction'). Of the trained ``state`` when
    given, else of the run's latest checkpoint in ``workdir``."""
    if state is None:
        state = checkpointing.load_state(config, workdir)
    frozen = ml_collections.FrozenConfigDict(config)
    key = jax.random.PRNGKey(seed)
    k_z, k_real, k_fake = jax.random.split(key, 3)
    z = sample_latent(k_z, num_samples, config.model.latent_dim)
    fakes = jax.jit(lambda s, z: sampling.generate(s, z, frozen))(state, z)
    reals = data.make_dataset(
        'hadamard',
        batch_size=num_samples,
        image_size=8,
        seed=seed + 1,
        process_index=0,
        process_count=1,
    ).batch(0)['image']
    scheme = schemes.get_scheme(frozen)
    t = scheme.schedule(jnp.asarray(config.num_train_steps), RunInfo.from_config(frozen))['t']
    images = {
        'real': np.asarray(reals),
        'fake': np.asarray(fakes),
        'projected_real': np.asarray(scheme.phi(k_real, jnp.asarray(reals), t)),
        'projected_fake': np.asarray(scheme.phi(k_fake, fakes, t)),
    }
    stats = {}
    for name, x in images.items():
        for stat, value in evaluation.hadamard_statistics(x).items():
            stats[f'{name}_{stat}'] = value
    return stats


def plot(stats: dict[str, dict[str, np.ndarray]], path: str) -> str:
    """One row per run: projected (left) and original (right) coefficient mean ± std."""
    import matplotlib  # Here: the backend must be chosen before pyplot is imported.

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(stats), 2, figsize=(9, 3 * len(stats)), squeeze=False)
    basis = np.arange(1, 9)
    for row, (run, s) in enumerate(stats.items()):
        for col, prefix in enumerate(('projected_', '')):
            ax = axes[row, col]
            for offset, (who, color) in enumerate((('real', 'tab:green'), ('fake', 'tab:orange'))):
                ax.errorbar(
                    basis + 0.12 * (2 * offset - 1),
                    s[f'{prefix}{who}_mean'],
                    yerr=s[f'{prefix}{who}_std'],
                    fmt='o',
                    color=color,
                    capsize=3,
                    label=f'{prefix}{who}'.replace('_', ' '),
                )
            ax.set_xticks(basis, [f'B{i}' for i in basis])
            ax.set_ylim(-1.6, 1.6)
            ax.set_title(f'{run}: {"projected through Φ" if prefix else "original"}')
            ax.legend(fontsize=7, loc='lower left')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='NAME=CONFIG.py:WORKDIR')
    parser.add_argument('--out', required=True)
    parser.add_argument('--num_samples', type=int, default=10_000)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    stats = {}
    for run in args.runs:
        name, rest = run.split('=', 1)
        config_path, workdir = rest.split(':', 1)
        stats[name] = coefficient_statistics(_load_config(config_path), workdir, args.num_samples)
    print(
        'std of the coefficients per basis B1..B8 (real U(-1,1): 0.577), '
        'mean W1 to U(-1,1) and residual energy'
    )
    for name, s in stats.items():
        for who in ('real', 'fake', 'projected_real', 'projected_fake'):
            print(
                f'{name:>5} {who:>15}: '
                + ' '.join(f'{v:.3f}' for v in s[f'{who}_std'])
                + f'   W1 {s[f"{who}_w1"].mean():.3f}'
                + f'   residual {s[f"{who}_residual"]:.4f}'
            )
        print(f'{name:>5} fake std B5..B8 mean: {s["fake_std"][4:].mean():.3f}')
    path = plot(stats, os.path.join(args.out, 'hadamard_coefficients.png'))
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
