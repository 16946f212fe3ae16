"""Noisy scale-space, scale-space and noise-space (the NSS-GAN paper, eq. 3-8).

All images are NHWC; the smoothing acts on each image and channel alone (depthwise).

* ``noisy_scale_space``: Φ_t(y) = k ⊛ Φ_{t-1}(y) + ε_t, Φ_0(y) = y, ε_t ~ N(0, σ²) i.i.d.
  per pixel and channel (eq. 3).
* ``scale_space``: Φ^s_t(y) = k ⊛ Φ^s_{t-1}(y) (eq. 7), i.e. σ = 0.
* ``noise_space``: Φ^n_t(y) = y + ε_1 + ... + ε_t = y + N(0, tσ²) (eq. 4-5).
* ``anneal_time``: the schedule of t over training (eq. 8, read as a decay; see below).

Two exact methods compute Φ_t:

* ``method='loop'`` is the definition: a ``lax.fori_loop`` of ``t`` depthwise
  smoothings, each followed by fresh noise from ``fold_in(key, step)``. Any kernel and
  the borders ``symmetric`` (half-sample reflection), ``zeros`` and ``circular``.
* ``method='spectral'``: with a symmetric separable kernel and symmetric borders the
  smoothing operator K is diagonalized by the orthonormal 2-D DCT-II C,
  K = Cᵀ diag(λ) C, so (eq. 6)
  Φ_t(y) = Cᵀ(λ^t ⊙ C y + σ·sqrt(Σ_{m<t} λ^{2m}) ⊙ w),  w ~ N(0, I),
  which has exactly the distribution of the loop (the same mean K^t y and covariance
  σ² Σ_{m<t} K^{2m}) at the cost of four small matrix products whatever t is. It is
  equal in distribution, not draw by draw: the same key gives other samples.

``t`` may be a traced integer. Φ_t is affine in y, and the gradient with respect to y
is (Kᵀ)^t applied to the cotangent (both methods support ``jax.grad``).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

PADDINGS = ('symmetric', 'zeros', 'circular')
METHODS = ('loop', 'spectral')
_JNP_PAD_MODE = {'symmetric': 'symmetric', 'zeros': 'constant', 'circular': 'wrap'}


def gaussian_kernel(sigma: float | None = None, *, radius: int | None = None) -> np.ndarray:
    """A normalized, symmetric 1-D smoothing kernel; the 2-D kernel is its outer square.

    Args:
      sigma: None for the 3-tap binomial [1, 2, 1]/4, whose square is the usual 3×3
        "Gaussian" [1,2,1]ᵀ[1,2,1]/16 (the default of this project); otherwise the
        standard deviation (pixels) of a sampled Gaussian.
      radius: half-width of the sampled Gaussian; default ceil(3·sigma), at least 1.

    Returns:
      A float32 array of odd length 2·radius + 1 summing to 1.
    """
    if sigma is None:
        return np.array([0.25, 0.5, 0.25], np.float32)
    if not sigma > 0:
        raise ValueError(f'gaussian_kernel: sigma={sigma!r} must be positive.')
    radius = max(1, math.ceil(3 * sigma)) if radius is None else radius
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def _as_kernel(kernel) -> np.ndarray:
    kernel = gaussian_kernel() if kernel is None else np.asarray(kernel, np.float32)
    if (
        kernel.ndim not in (1, 2)
        or any(n % 2 == 0 for n in kernel.shape)
        or (kernel.ndim == 2 and kernel.shape[0] != kernel.shape[1])
    ):
        raise ValueError(
            f'kernel must be a 1-D (separable) or square 2-D array of odd size, got '
            f'shape {kernel.shape}.'
        )
    return kernel


def smooth(x: jax.Array, kernel=None, *, padding: str = 'symmetric') -> jax.Array:
    """One depthwise smoothing step k ⊛ x of an NHWC batch, with the same size out.

    A 1-D ``kernel`` is applied along the rows and then the columns (separable
    shifted adds, which XLA:CPU runs faster than a grouped convolution); a 2-D kernel
    is applied as a depthwise correlation.
    """
    if padding not in PADDINGS:
        raise ValueError(f'padding={padding!r} is not valid; choose one of: {", ".join(PADDINGS)}.')
    kernel = _as_kernel(kernel)
    r = kernel.shape[0] // 2
    h, w = x.shape[1], x.shape[2]
    if padding == 'symmetric' and r > min(h, w):
        raise ValueError(f'a kernel of radius {r} is wider than the {h}×{w} image.')
    padded = jnp.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode=_JNP_PAD_MODE[padding])
    if kernel.ndim == 1:
        rows = sum(float(c) * padded[:, i : i + h] for i, c in enumerate(kernel))
        return sum(float(c) * rows[:, :, j : j + w] for j, c in enumerate(kernel))
    return sum(
        float(kernel[i, j]) * padded[:, i : i + h, j : j + w]
        for i in range(kernel.shape[0])
        for j in range(kernel.shape[1])
    )


def _smooth_transpose(x, kernel, padding):
    """Kᵀ, the adjoint of ``smooth`` (K itself for symmetric kernels and borders)."""
    (out,) = jax.linear_transpose(functools.partial(smooth, kernel=kernel, padding=padding), x)(x)
    return out


def _loop(key, x, t, sigma, kernel, padding):
    def body(i, y):
        y = smooth(y, kernel, padding=padding)
        if sigma:
            y = y + sigma * jax.random.normal(jax.random.fold_in(key, i), y.shape, y.dtype)
        return y

    return jax.lax.fori_loop(0, t, body, x)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _loop_with_linear_vjp(key, x, t, sigma, kernel, padding):
    return _loop(key, x, t, sigma, kernel, padding)


def _loop_fwd(key, x, t, sigma, kernel, padding):
    return _loop(key, x, t, sigma, kernel, padding), (key, t)


def _loop_bwd(sigma, kernel, padding, residuals, g):
    key, t = residuals
    kernel_arr = np.asarray(kernel)
    g_x = jax.lax.fori_loop(0, t, lambda _, y: _smooth_transpose(y, kernel_arr, padding), g)
    return (None, g_x, None)


_loop_with_linear_vjp.defvjp(_loop_fwd, _loop_bwd)


def dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix C (n×n): C[u, m] = α_u cos(π(2m+1)u / 2n)."""
    u, m = np.meshgrid(np.arange(n), np.arange(n), indexing='ij')
    c = np.cos(np.pi * (2 * m + 1) * u / (2 * n)) * np.sqrt(2.0 / n)
    c[0] /= np.sqrt(2.0)
    return c


def smoothing_eigenvalues(kernel, n: int) -> np.ndarray:
    """λ₁(u), u < n, of the 1-D symmetric kernel with half-sample symmetric borders.

    λ₁(u) = k₀ + 2 Σ_{j≥1} k_j cos(π u j / n) for the kernel [..., k₁, k₀, k₁, ...].
    """
    kernel = np.asarray(kernel, np.float64)
    r = kernel.shape[0] // 2
    u = np.arange(n)[:, None]
    j = np.arange(1, r + 1)[None, :]
    return kernel[r] + 2 * np.sum(kernel[r + 1 :][None, :] * np.cos(np.pi * u * j / n), axis=1)


def _spectral_check(kernel: np.ndarray, padding: str) -> None:
    if padding != 'symmetric':
        raise ValueError(
            f"method='spectral' needs padding='symmetric' (got {padding!r}): only "
            'half-sample symmetric borders make the DCT diagonalize the smoothing; '
            "use method='loop' for other borders."
        )
    if kernel.ndim != 1 or not np.allclose(kernel, kernel[::-1]):
        raise ValueError(
            "method='spectral' needs a symmetric 1-D (separable) kernel; use "
            "method='loop' for other kernels."
        )


def _integer_power(base: jax.Array, t: jax.Array) -> jax.Array:
    """base**t for a traced integer t ≥ 0, exact in sign for negative bases."""
    magnitude = jnp.exp(t * jnp.log(jnp.abs(base)))
    sign = jnp.where((base < 0) & (t % 2 == 1), -1.0, 1.0)
    return jnp.where(t == 0, 1.0, sign * magnitude)


def _geometric_sum(lam_squared: jax.Array, t: jax.Array) -> jax.Array:
    """Σ_{m<t} λ^{2m} = (1 − λ^{2t}) / (1 − λ²), stable as λ² → 1 (where it is t)."""
    log_l = jnp.log(lam_squared)
    ratio = jnp.expm1(t * log_l) / jnp.expm1(jnp.where(log_l == 0, -1.0, log_l))
    return jnp.where(
        lam_squared == 0,
        jnp.minimum(t, 1).astype(lam_squared.dtype),
        jnp.where(log_l == 0, t.astype(lam_squared.dtype), ratio),
    )


def _spectral(key, x, t, sigma, kernel):
    _, h, w, _ = x.shape
    c_h = jnp.asarray(dct_matrix(h), x.dtype)
    c_w = jnp.asarray(dct_matrix(w), x.dtype)
    lam = jnp.asarray(
        np.outer(smoothing_eigenvalues(kernel, h), smoothing_eigenvalues(kernel, w)), x.dtype
    )[..., None]
    t = jnp.asarray(t, jnp.int32)
    # Full f32 products: GPUs and TPUs would otherwise round them to TF32 / bf16.
    dct = functools.partial(jnp.einsum, precision=jax.lax.Precision.HIGHEST)
    coefficients = dct('uh,nhwc,vw->nuvc', c_h, x, c_w)
    coefficients = _integer_power(lam, t) * coefficients
    if sigma:
        noise_std = sigma * jnp.sqrt(_geometric_sum(jnp.square(lam), t))
        coefficients = coefficients + noise_std * jax.random.normal(key, x.shape, x.dtype)
    return dct('uh,nuvc,vw->nhwc', c_h, coefficients, c_w)


def noisy_scale_space(
    key: jax.Array | None,
    x: jax.Array,
    t,
    *,
    sigma: float = 0.15,
    kernel=None,
    padding: str = 'symmetric',
    method: str = 'loop',
) -> jax.Array:
    """Φ_t(x), the noisy scale-space of eq. 3: t smoothings, each followed by noise.

    Args:
      key: PRNG key for the noise (unused when ``sigma`` is 0).
      x: NHWC batch.
      t: number of steps, a Python or traced integer ≥ 0; t = 0 returns x.
      sigma: standard deviation of each step's noise ε_t (0.15 in the paper).
      kernel: 1-D separable or 2-D kernel; default the 3×3 binomial
        (``gaussian_kernel()``).
      padding: border handling of each smoothing: 'symmetric', 'zeros', 'circular'.
      method: 'loop' (the definition) or 'spectral' (equal in distribution, cost
        independent of t; needs a symmetric separable kernel and symmetric borders).

    Returns:
      An array like x.
    """
    if method not in METHODS:
        raise ValueError(f'method={method!r} is not valid; choose one of: {", ".join(METHODS)}.')
    if padding not in PADDINGS:
        raise ValueError(f'padding={padding!r} is not valid; choose one of: {", ".join(PADDINGS)}.')
    if x.ndim != 4:
        raise ValueError(f'x must be an NHWC batch, got shape {x.shape}.')
    kernel = _as_kernel(kernel)
    sigma = float(sigma)
    if sigma and key is None:
        raise ValueError('noisy_scale_space needs a key when sigma > 0.')
    if key is None:
        key = jax.random.PRNGKey(0)
    if method == 'spectral':
        _spectral_check(kernel, padding)
        return _spectral(key, x, t, sigma, kernel)
    return _loop_with_linear_vjp(
        key, x, jnp.asarray(t, jnp.int32), sigma, _HashableKernel(kernel), padding
    )


def scale_space(
    x: jax.Array, t, *, kernel=None, padding: str = 'symmetric', method: str = 'loop'
) -> jax.Array:
    """Φ^s_t(x) = k ⊛^(t) x, the scale-space of eq. 7 (t smoothings, no noise)."""
    return noisy_scale_space(None, x, t, sigma=0.0, kernel=kernel, padding=padding, method=method)


def noise_space(key: jax.Array, x: jax.Array, t, *, sigma: float = 0.15) -> jax.Array:
    """Φ^n_t(x) = x + ε_1 + ... + ε_t = x + N(0, tσ²) (eq. 4-5, closed form)."""
    t = jnp.asarray(t, x.dtype)
    return x + sigma * jnp.sqrt(t) * jax.random.normal(key, x.shape, x.dtype)


def anneal_time(step_fraction, *, T: int = 256, beta: float = 20.0) -> jax.Array:
    """t(i) = round(T·exp(−β·i)) for the fraction i ∈ [0, 1] of training done (eq. 8).

    The paper prints t = T·exp(i/β) but calls β "the power of decay" and plots t
    decaying from T to about 0 early in training (its Fig. 6c); this is that decay:
    with T = 256 and β = 20, t ≈ 35 at i = 0.1 and t = 0 after i ≈ 0.3.
    """
    i = jnp.asarray(step_fraction, jnp.float32)
    return jnp.round(T * jnp.exp(-beta * i)).astype(jnp.int32)


class _HashableKernel:
    """A numpy kernel usable as a static (non-differentiable) custom_vjp argument."""

    def __init__(self, kernel: np.ndarray):
        self.kernel = np.asarray(kernel, np.float32)

    def __array__(self, dtype=None, copy=None):
        return self.kernel if dtype is None else self.kernel.astype(dtype)

    def __hash__(self):
        return hash((self.kernel.shape, self.kernel.tobytes()))

    def __eq__(self, other):
        return (
            isinstance(other, _HashableKernel)
            and self.kernel.shape == other.kernel.shape
            and np.array_equal(self.kernel, other.kernel)
        )
