"""Speed of evaluation: FID Inception features per second, and the Fréchet distance.

    python benchmarks/evaluation.py [--images 500] [--markdown BENCHMARKS.md]

1. pool3 features and logits of the FID Inception (random weights: the speed does not
   depend on them) for ``--images`` 32×32 RGB images, resized to 299 inside, in batches
   of 50 and 250, after one warm-up batch (compilation).
2. ``frechet_distance`` of two 2048-d Gaussians (float64, symmetric eigendecompositions)
   and ``gaussian_statistics`` of 10,000 2048-d features.
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


def seconds(fn, *args, repeats: int = 3) -> float:
    fn(*args)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=500)
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
    features = rng.standard_normal((10_000, 2048))
    mu1, sigma1 = frechet.gaussian_statistics(features)
    mu2, sigma2 = frechet.gaussian_statistics(features[:, ::-1] * 1.1)
    rows.append(
        (
            'gaussian_statistics, 10,000 × 2048',
            f'{seconds(frechet.gaussian_statistics, features):.2f} s',
        )
    )
    rows.append(
        (
            'frechet_distance, 2048-d',
            f'{seconds(frechet.frechet_distance, mu1, sigma1, mu2, sigma2):.2f} s',
        )
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
                f'`python benchmarks/evaluation.py --images {args.images}` on {machine()}; '
                f'the Fréchet distance runs in NumPy (float64) on the host.\n\n{table}'
            ),
        )


if __name__ == '__main__':
    main()
