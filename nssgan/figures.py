"""Regenerates the NSS paper's figures as PNGs.

    python -m nssgan.figures scale_space --out DIR

writes ``fig2_representations.png`` (one photo crop through NS, SS and NSS over t),
``fig3_variance.png`` (mean per-image pixel variance over t for NS, SS and NSS on
``photo_patches``, with the measured curves also printed and saved as CSV) and
``fig6c_annealing.png`` (t over the fraction of training).
"""

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

from nssgan import data, scale_space

_OPERATORS = ('NS', 'SS', 'NSS')


def _apply(name: str, key, x, t: int, sigma: float, kernel) -> jax.Array:
    if name == 'NS':
        return scale_space.noise_space(key, x, t, sigma=sigma)
    return scale_space.noisy_scale_space(
        key, x, t, sigma=0.0 if name == 'SS' else sigma, kernel=kernel, method='spectral'
    )


def variance_curves(
    images: np.ndarray, times, *, sigma: float = 0.15, kernel=None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Mean over images of the per-image pixel variance of Φ_t, for each operator."""
    x = jnp.asarray(images, jnp.float32)
    key = jax.random.PRNGKey(seed)
    curves = {}
    for name in _OPERATORS:
        curves[name] = np.array(
            [
                float(
                    jnp.mean(
                        jnp.var(
                            _apply(name, jax.random.fold_in(key, t), x, t, sigma, kernel),
                            axis=(1, 2, 3),
                        )
                    )
                )
                for t in times
            ]
        )
    return curves


def _photo_crops(num: int, size: int, seed: int) -> np.ndarray:
    dataset = data.make_dataset(
        'photo_patches',
        batch_size=num,
        image_size=size,
        seed=seed,
        process_index=0,
        process_count=1,
    )
    return dataset.batch(0)['image']


def figure_representations(
    path: str, *, size: int = 64, sigma: float = 0.15, times=(0, 4, 16, 64, 256)
) -> str:
    """Fig. 2: one image through NS, SS and NSS (rows) at increasing t (columns)."""
    import matplotlib  # Here: the backend must be chosen before pyplot is imported.

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    candidates = _photo_crops(64, size, seed=3)
    busiest = int(np.argmax(candidates.var(axis=(1, 2, 3))))
    x = jnp.asarray(candidates[busiest : busiest + 1])
    fig, axes = plt.subplots(3, len(times), figsize=(2 * len(times), 6.3))
    for row, name in enumerate(_OPERATORS):
        for col, t in enumerate(times):
            image = _apply(name, jax.random.PRNGKey(t), x, t, sigma, None)[0]
            axes[row, col].imshow(np.clip((np.asarray(image) + 1) / 2, 0, 1))
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
            if row == 0:
                axes[row, col].set_title(f't = {t}')
        axes[row, 0].set_ylabel(name)
    fig.suptitle(f'NS, SS and NSS over t (σ = {sigma}, 3×3 binomial kernel)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def figure_variance(
    path: str, *, num_images: int = 128, size: int = 64, sigma: float = 0.15, times=None
) -> dict[str, np.ndarray]:
    """Fig. 3: mean per-image pixel variance over t on photo crops; returns curves."""
    import matplotlib  # Here: the backend must be chosen before pyplot is imported.

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    times = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256] if times is None else times)
    curves = variance_curves(_photo_crops(num_images, size, seed=0), times, sigma=sigma)
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name in _OPERATORS:
        ax.plot(times, curves[name], marker='o', label=name)
    ax.set_xscale('symlog', linthresh=1)
    ax.set_yscale('log')
    ax.set_xlabel('t')
    ax.set_ylabel('mean pixel variance per image')
    ax.set_title(f'{num_images} crops of {size}×{size} px, σ = {sigma}')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    with open(os.path.splitext(path)[0] + '.csv', 'w') as f:
        f.write('t,' + ','.join(_OPERATORS) + '\n')
        for i, t in enumerate(times):
            f.write(f'{t},' + ','.join(f'{curves[n][i]:.5f}' for n in _OPERATORS) + '\n')
    return {'t': times, **curves}


def figure_annealing(path: str, *, T: int = 256, beta: float = 20.0) -> str:
    """Fig. 6c: the annealing of t over the fraction of training."""
    import matplotlib  # Here: the backend must be chosen before pyplot is imported.

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fractions = np.linspace(0, 1, 501)
    t = np.asarray(scale_space.anneal_time(fractions, T=T, beta=beta))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(fractions, t)
    ax.set_xlabel('i (fraction of training)')
    ax.set_ylabel('t')
    ax.set_title(f't(i) = round(T·exp(−β·i)), T = {T}, β = {beta}')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def scale_space_figures(out: str) -> dict[str, np.ndarray]:
    os.makedirs(out, exist_ok=True)
    figure_representations(os.path.join(out, 'fig2_representations.png'))
    curves = figure_variance(os.path.join(out, 'fig3_variance.png'))
    figure_annealing(os.path.join(out, 'fig6c_annealing.png'))
    return curves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('figures', choices=['scale_space'])
    parser.add_argument('--out', required=True, help='output directory')
    args = parser.parse_args(argv)
    curves = scale_space_figures(args.out)
    print('t      ' + '  '.join(f'{n:>8}' for n in _OPERATORS))
    for i, t in enumerate(curves['t']):
        print(f'{t:<6} ' + '  '.join(f'{curves[n][i]:8.4f}' for n in _OPERATORS))
    print(
        f'wrote {args.out}/fig2_representations.png, fig3_variance.png (+ .csv), '
        f'fig6c_annealing.png'
    )


if __name__ == '__main__':
    main()
