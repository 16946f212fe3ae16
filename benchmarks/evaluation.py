"""Speed of evaluation: FID Inception features per second, and the Fréchet distance.

    python benchmarks/evaluation.py [--images 500] [--dim 2048] [--markdown BENCHMARKS.md]

1. pool3 features and logits of the FID Inception (random weights: the speed does not
   depend on them) for ``--images`` 32×32 RGB images, resized to 299 inside, in batches
   of 50 and 250, after one warm-up batch (compilation).
2. ``gaussian_statistics`` of 10,000 ``--dim``-d features (2048: Inception's pool3), and
   ``frechet_distance`` of two such Gaussians (float64; a Cholesky factor and the
   eigenvalues of one symmetric matrix) beside the formula it replaced
   (``previous_frechet_distance``: two symmetric eigendecompositions for the square
   roots, then an SVD of their product), with the relative difference of the two
   values. ``--dim 256`` makes a quick check of the script.
"""

import argparse
import time

import jax
import numpy as np
from report import machine, section_name, write_section

from nssgan.evaluation import frechet, inception


def features_per_second(variables, images: np.ndarray, batch_size: int) -> float:
    inception.batched_features_and_logits(variables, images[:batch_size], batch_size)
    start = time.perf_counter()
    inception.batched_features_and_logits(variables, images, batch_size)
    return len(images) / (time.perf_counter() - start)


def previous_frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The formula ``frechet_distance`` replaced: ||Sigma1^1/2 Sigma2^1/2||_* for the
    trace term, from two ``psd_sqrt`` eigendecompositions and the SVD of their product."""
    cross = np.linalg.svd(
        frechet.psd_sqrt(sigma1) @ frechet.psd_sqrt(sigma2), compute_uv=False
    ).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * cross, 0.0))


def seconds(fn, *args, repeats: int = 3) -> float:
    fn(*args)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=500)
    parser.add_argument('--dim', type=int, default=2048, help='feature dimension (Fréchet)')
    parser.add_argument('--markdown', default=None)
    args = parser.parse_args()
    variables = inception.init_random(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (args.images, 32, 32, 3)).astype(np.float32)
    rows = [
        (
            f'Inception pool3 + logits, batch {b}',
            f'{features_per_second(variables, images, b):.1f} images/s',
        )
        for b in (50, 250)
    ]
    dim = args.dim
    features = rng.standard_normal((10_000, dim))
    mu1, sigma1 = frechet.gaussian_statistics(features)
    mu2, sigma2 = frechet.gaussian_statistics(features[:, ::-1] * 1.1)
    rows.append(
        (
            f'gaussian_statistics, 10,000 × {dim}',
            f'{seconds(frechet.gaussian_statistics, features):.2f} s',
        )
    )
    gaussians = (mu1, sigma1, mu2, sigma2)
    rows.append(
        (f'frechet_distance, {dim}-d', f'{seconds(frechet.frechet_distance, *gaussians):.2f} s')
    )
    rows.append(
        (
            f'frechet_distance, {dim}-d, previous formula (eigh square roots + SVD)',
            f'{seconds(previous_frechet_distance, *gaussians):.2f} s',
        )
    )
    new, previous = frechet.frechet_distance(*gaussians), previous_frechet_distance(*gaussians)
    difference = abs(new - previous) / abs(previous)
    print(
        f'frechet_distance {new!r}, previous formula {previous!r}: relative difference '
        f'{difference:.1e}'
    )
    table = '\n'.join(['| what | speed |', '|---|---|'] + [f'| {a} | {b} |' for a, b in rows])
    print(f'Evaluation speed; {machine()}')
    print(table)
    if args.markdown:
        write_section(
            args.markdown,
            section_name('evaluation'),
            (
                f'## Evaluation speed ({jax.default_backend().upper()})\n\n'
                f'`python benchmarks/evaluation.py --images {args.images} --dim {dim}` on '
                f'{machine()}; the Fréchet distance runs in NumPy/SciPy (float64) on the host '
                f'(new and previous formulas differ by {difference:.1e} relative).\n\n{table}'
            ),
        )


if __name__ == '__main__':
    main()
