"""Inception Score and Kernel Inception Distance, in float64 NumPy.

Both take what the Inception network (``nssgan.evaluation.inception``) gives: the
1008-way logits for IS, the 2048-d pool3 features for KID.
"""

import numpy as np


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) (Salimans et al. 2016), mean and std over splits.

    As the reference code (openai/improved-gan): the N samples are cut into ``splits``
    consecutive parts, p(y) is the mean of p(y|x) over a part, the softmax runs over
    all classes of ``logits`` (1008 for the FID Inception).
    """
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2 or logits.shape[0] < splits:
        raise ValueError(
            f'logits must be (N, classes) with N ≥ splits={splits}; got shape {logits.shape}.'
        )
    log_p = _log_softmax(logits)
    n = logits.shape[0]
    scores = []
    for i in range(splits):
        part = log_p[i * n // splits : (i + 1) * n // splits]
        log_marginal = np.log(np.mean(np.exp(part), axis=0))
        kl = np.sum(np.exp(part) * (part - log_marginal), axis=1)
        scores.append(np.exp(np.mean(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (xᵀy / d + 1)³, KID's kernel (d the feature dimension)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimate of MMD² between samples x (m, d) and y (n, d):
    mean_{i≠j} k(xᵢ, xⱼ) + mean_{i≠j} k(yᵢ, yⱼ) − 2 mean_{i,j} k(xᵢ, yⱼ)."""
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float(
        (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
        - 2.0 * k_xy.mean()
    )


def kernel_inception_distance(
    features1, features2, *, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): the unbiased MMD² with the cubic polynomial kernel,
    averaged over ``num_subsets`` random subsets of ``subset_size`` of each set (drawn
    without replacement, as the reference ``polynomial_mmd_averages``); mean and std.
    ``subset_size`` is capped at the smaller set's size.
    """
    f1 = np.asarray(features1, np.float64)
    f2 = np.asarray(features2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f'features must be (N, d) with the same d; got {f1.shape} and {f2.shape}.')
    size = min(subset_size, f1.shape[0], f2.shape[0])
    if size < 2:
        raise ValueError('kernel_inception_distance needs at least 2 samples per set.')
    rng = np.random.default_rng(seed)
    values = [
        unbiased_mmd2(
            f1[rng.choice(f1.shape[0], size, replace=False)],
            f2[rng.choice(f2.shape[0], size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
