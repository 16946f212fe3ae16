"""Exact, fast stride-2 resampling: PyTorch's ConvTranspose2d(k=4, s=2, p=1) and Conv2d(k=4, s=2,
p=1) as matrix products.

XLA:CPU differentiates transposed convolutions very slowly (22.6 s against 1.06 s for one
128→64 layer at batch 64, measured on 2 cores), so the generator's
upsampling is written in sub-pixel form (`subpixel_conv_transpose`, `UpsampleConv`); the
discriminator's strided convolutions likewise in space-to-depth form (`strided_conv`,
`DownsampleConv`, further below). Per spatial axis, PyTorch's ConvTranspose2d(4, 2, 1) is

    out[2m]     = x[m]·w[1] + x[m-1]·w[3]
    out[2m + 1] = x[m]·w[2] + x[m+1]·w[0]

a 3-tap correlation per output phase. The parameter stays the 4×4 kernel, so parameter count,
initialisation and gradients are exactly those of the transposed convolution; its taps are
rearranged inside the forward pass.
"""

import math
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

# Along one axis, output phase p (out[2m + p]) reads x[m + p + a - 1] through kernel tap
# _TAPS[p][a], a ∈ {0, 1}: phase 0 is x[m-1]·w[3] + x[m]·w[1], phase 1 is x[m]·w[2] + x[m+1]·w[0].
_TAPS = ((3, 1), (2, 0))
_DIMENSION_NUMBERS = ('NHWC', 'HWIO', 'NHWC')
METHODS = ('auto', 'matmul', 'shifted_sum', 'conv3x3', 'phase', 'conv_transpose')
# 'auto' uses 'shifted_sum' where C_in ≥ this many times C_out (e.g. DCGAN's last layer, 64 → 3
# channels), 'matmul' otherwise.
_SHIFTED_SUM_CHANNEL_RATIO = 8


def check_image_batch(x: Array, image_size: int, channels: int) -> None:
    """Raises ValueError unless `x` is (N, image_size, image_size, channels)."""
    expected = (image_size, image_size, channels)
    if x.ndim != 4 or x.shape[1:] != expected:
        raise ValueError(f'x must have shape (N, {", ".join(map(str, expected))}), got {x.shape}')


def flat_normal(stddev: float = 0.02) -> Callable[..., Array]:
    """N(0, stddev²) initializer, e.g. DCGAN's N(0, 0.02).

    It draws the same values as `jax.random.normal(key, shape)` but samples a flat vector and
    reshapes it: XLA:CPU compiles random sampling of ≥3-D shapes very slowly (about 4 s for one
    4×4 convolution kernel, against 0.3 s flat).
    """

    def init(key: Array, shape, dtype=jnp.float32) -> Array:
        return stddev * jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)

    return init


def flat_kaiming_normal() -> Callable[..., Array]:
    """PyTorch's `init.kaiming_normal_` default: N(0, 2 / fan_in), sampled flat like `flat_normal`.

    fan_in is the product of all but the last dimension: C_in for a (C_in, C_out) Dense kernel,
    kh·kw·C_in for an HWIO convolution kernel, as PyTorch computes it for Linear and Conv2d.
    """

    def init(key: Array, shape, dtype=jnp.float32) -> Array:
        stddev = math.sqrt(2.0 / math.prod(shape[:-1]))
        return stddev * jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)

    return init


def _phase_taps(ph: int, pw: int):
    """Yields (a, b, tap_h, tap_w): output phase (ph, pw) reads
    x[m + ph + a - 1, n + pw + b - 1]."""
    for a in range(2):
        for b in range(2):
            yield a, b, _TAPS[ph][a], _TAPS[pw][b]


def _depth_to_space(phases: list[Array]) -> Array:
    """Four (N, H, W, C) phase outputs, ordered (0, 0), (0, 1), (1, 0), (1, 1) → (N, 2H, 2W, C)."""
    n, h, w, c = phases[0].shape
    y = jnp.stack(phases, axis=3).reshape(n, h, w, 2, 2, c)
    return y.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, c)


def _pixel_matmul(x: Array, w: Array, precision) -> Array:
    """(..., C_in) × (C_in, C_out) as one 2-D matrix product.

    Not `einsum("nhwi,io->nhwo")`: differentiated, that one's kernel gradient contracts over
    N, H, W of the 4-D cotangent, and XLA:CPU first transposes the cotangent to channel-major,
    a copy fused with its producer that can cost more than the matrix product; the 2-D
    gradient `x2dᵀ · dy2d` reads both operands as they are.
    """
    y = jnp.matmul(x.reshape(-1, x.shape[-1]), w, precision=precision)
    return y.reshape(*x.shape[:-1], w.shape[-1])


def subpixel_kernel(kernel: Array) -> Array:
    """Places a (4, 4, C_in, C_out) ConvTranspose2d(4, 2, 1) kernel into a (3, 3, C_in, 4·C_out)
    one.

    Output channel (2·ph + pw)·C_out + c of the 3×3 kernel produces output pixel (2m + ph, 2n + pw);
    the 20 of its 36 taps that no phase uses are zero.
    """
    c_in, c_out = kernel.shape[2], kernel.shape[3]
    zero = 4  # index of the zero row/column appended to the kernel
    # table[p][d]: the tap that multiplies x[m + d - 1] in phase p.
    table = np.full((2, 3), zero)
    for p in range(2):
        for a in range(2):
            table[p, p + a] = _TAPS[p][a]
    padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
    taps = padded[table[:, :, None, None], table[None, None, :, :]]  # (ph, dh, pw, dw, C_in, C_out)
    taps = taps.transpose(1, 3, 4, 0, 2, 5)  # (dh, dw, C_in, ph, pw, C_out)
    return taps.reshape(3, 3, c_in, 4 * c_out)


def _matmul(x: Array, kernel: Array, precision) -> Array:
    n, h, w, _ = x.shape
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    phases = []
    for ph in range(2):
        for pw in range(2):
            out = 0
            for a, b, th, tw in _phase_taps(ph, pw):
                window = padded[:, ph + a : ph + a + h, pw + b : pw + b + w]
                out = out + _pixel_matmul(window, kernel[th, tw], precision)
            phases.append(out)
    return _depth_to_space(phases)


def _shifted_sum(x: Array, kernel: Array, precision) -> Array:
    n, h, w, c_in = x.shape
    c_out = kernel.shape[-1]
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    # Every tap at every padded pixel, one product: y[..., th, tw, :] = padded · kernel[th, tw].
    all_taps = kernel.transpose(2, 0, 1, 3).reshape(c_in, 16 * c_out)
    y = _pixel_matmul(padded, all_taps, precision).reshape(n, h + 2, w + 2, 4, 4, c_out)
    phases = []
    for ph in range(2):
        for pw in range(2):
            out = 0
            for a, b, th, tw in _phase_taps(ph, pw):
                out = out + y[:, ph + a : ph + a + h, pw + b : pw + b + w, th, tw]
            phases.append(out)
    return _depth_to_space(phases)


def _conv3x3(x: Array, kernel: Array, precision) -> Array:
    y = jax.lax.conv_general_dilated(
        x,
        subpixel_kernel(kernel),
        window_strides=(1, 1),
        padding=((1, 1), (1, 1)),
        dimension_numbers=_DIMENSION_NUMBERS,
        precision=precision,
    )
    return _depth_to_space(jnp.split(y, 4, axis=-1))


def _phase(x: Array, kernel: Array, precision) -> Array:
    n, h, w, c = x.shape
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    phases = []
    for ph in range(2):
        for pw in range(2):
            k = jnp.stack([kernel[th, tw] for _, _, th, tw in _phase_taps(ph, pw)])
            k = k.reshape(2, 2, c, kernel.shape[-1])
            window = padded[:, ph : ph + h + 1, pw : pw + w + 1]
            phases.append(
                jax.lax.conv_general_dilated(
                    window,
                    k,
                    window_strides=(1, 1),
                    padding='VALID',
                    dimension_numbers=_DIMENSION_NUMBERS,
                    precision=precision,
                )
            )
    return _depth_to_space(phases)


def _conv_transpose(x: Array, kernel: Array, precision) -> Array:
    # PyTorch's orientation is lax.conv_transpose's with the kernel flipped in space.
    return jax.lax.conv_transpose(
        x,
        kernel[::-1, ::-1],
        strides=(2, 2),
        padding=((2, 2), (2, 2)),
        dimension_numbers=_DIMENSION_NUMBERS,
        precision=precision,
    )


_IMPLEMENTATIONS = {
    'matmul': _matmul,
    'shifted_sum': _shifted_sum,
    'conv3x3': _conv3x3,
    'phase': _phase,
    'conv_transpose': _conv_transpose,
}


def resolve_upsample_method(method: str, in_channels: int, out_channels: int) -> str:
    """The method 'auto' stands for at these channel counts; others unchanged."""
    if method != 'auto':
        return method
    if in_channels >= _SHIFTED_SUM_CHANNEL_RATIO * out_channels:
        return 'shifted_sum'
    return 'matmul'


def _check_4x4_call(x: Array, kernel: Array, method: str, methods: tuple[str, ...]) -> None:
    """The checks shared by `subpixel_conv_transpose` and `strided_conv`."""
    if kernel.ndim != 4 or kernel.shape[:2] != (4, 4) or kernel.shape[2] != x.shape[-1]:
        raise ValueError(
            f'kernel must have shape (4, 4, {x.shape[-1]}, C_out) for input of shape {x.shape}, '
            f'got {kernel.shape}'
        )
    if method not in methods:
        raise ValueError(f'method must be one of {methods}, got {method!r}')


def subpixel_conv_transpose(
    x: Array, kernel: Array, *, method: str = 'auto', precision: Any = None
) -> Array:
    """PyTorch's ConvTranspose2d(kernel_size=4, stride=2, padding=1), without a transposed
    convolution.

    All methods compute the same function (up to float rounding) with the 4×4 kernel as input, so
    gradients w.r.t. `kernel` are those of the transposed convolution. XLA:CPU computes
    convolution weight-gradients slowly; for a 128→64-channel layer, 32→64 px, batch 64, the
    jitted gradient w.r.t. input and kernel took 0.8 s with 'matmul', 3.3 s with 'phase' and
    4.0 s with 'conv3x3' (2 CPU cores), hence the default.

    Args:
      x: (N, H, W, C_in) input.
      kernel: (4, 4, C_in, C_out) taps in PyTorch's orientation:
        kernel[kh, kw, ci, co] == torch_weight[ci, co, kh, kw].
      method: 'matmul' — per output phase, four shifted (N·H·W, C_in) × (C_in, C_out) matrix
        products (exact FLOP count); 'shifted_sum' — one (N·(H+2)·(W+2), C_in) × (C_in, 16·C_out)
        product applying all 16 taps to the padded input, each phase then the sum of four
        shifted slices of it (cheap when C_out ≪ C_in: for DCGAN-64's last layer, 64 → 3
        channels, batch 64, output and both gradients took 88 ms against 321 ms with 'matmul',
        which copies sixteen input windows for products with 3 columns; for 128 → 64 channels
        404 ms against 278 ms); 'conv3x3' — the taps placed
        into a 3×3 kernel to 4·C_out channels, one SAME convolution; 'phase' — one VALID 2×2
        convolution per output phase. Each is followed by depth-to-space. 'conv_transpose' —
        `lax.conv_transpose` itself (the textbook form; slow to differentiate on XLA:CPU).
        'auto' (default):
        'shifted_sum' where C_in ≥ 8·C_out, 'matmul' otherwise.
      precision: passed to the underlying `jnp.matmul` / `lax.conv_general_dilated`.

    Returns:
      (N, 2H, 2W, C_out), equal to
      `torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1)`.
    """
    _check_4x4_call(x, kernel, method, METHODS)
    method = resolve_upsample_method(method, x.shape[-1], kernel.shape[-1])
    dtype = jnp.result_type(x, kernel)
    return _IMPLEMENTATIONS[method](x.astype(dtype), kernel.astype(dtype), precision)


class _Stride2Layer(nn.Module):
    """A 4×4 stride-2 layer with nn.Conv's (4, 4, C_in, features) 'kernel' and optional
    'bias'; subclasses say which function applies the kernel (`_apply`)."""

    features: int
    use_bias: bool = False
    kernel_init: Callable[..., Array] = flat_normal(0.02)
    bias_init: Callable[..., Array] = nn.initializers.zeros
    method: str = 'auto'

    def _apply(self, x: Array, kernel: Array) -> Array:
        raise NotImplementedError

    @nn.compact
    def __call__(self, x: Array) -> Array:
        kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features))
        y = self._apply(x, kernel)
        if self.use_bias:
            y = y + self.param('bias', self.bias_init, (self.features,))
        return y


class UpsampleConv(_Stride2Layer):
    """×2 upsampling layer, exactly PyTorch's ConvTranspose2d(C_in, features, 4, 2, 1).

    Attributes:
      features: output channels.
      use_bias: add a bias (DCGAN uses none).
      kernel_init: initialiser of the (4, 4, C_in, features) kernel; DCGAN's N(0, 0.02) by default.
      method: see `subpixel_conv_transpose`.
    """

    def _apply(self, x: Array, kernel: Array) -> Array:
        return subpixel_conv_transpose(x, kernel, method=self.method)


# Exact, fast stride-2 downsampling: Conv2d(k=4, s=2, p=1) as shifted matrix products.
#
# XLA:CPU computes this convolution's gradients slowly: the kernel gradient most of all when
# C_in is small (8× the forward time for an RGB input), the input gradient through a
# base-dilated convolution. After zero padding and space-to-depth(2), the convolution is a
# 2×2 stride-1 VALID correlation over 4·C_in channels,
#
#     out[i, j] = Σ_{a, b ∈ {0, 1}} s2d(pad(x))[i + a, j + b] · K[a, b],
#     K[a, b, (2p + q)·C_in + c] = kernel[2a + p, 2b + q, c],
#
# four shifted matrix products whose transposes (the gradients) are matrix products too.

DOWNSAMPLE_METHODS = ('auto', 'matmul', 'im2col', 'conv')
# 'auto' uses 'im2col' below this many input channels (K = 4·C_in of 'matmul' is too short
# for an efficient matrix product, e.g. an RGB input) and 'matmul' from it on.
_IM2COL_BELOW_CHANNELS = 16


def _space_to_depth(x: Array) -> Array:
    """(N, 2H, 2W, C) → (N, H, W, 4·C); channel (2p + q)·C + c holds x[2i + p, 2j + q, c]."""
    n, h, w, c = x.shape
    x = x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h // 2, w // 2, 4 * c)


def downsample_kernel(kernel: Array) -> Array:
    """A (4, 4, C_in, C_out) Conv2d(4, 2, 1) kernel as the (2, 2, 4·C_in, C_out) kernel of the
    equivalent 2×2 correlation on the space-to-depth input: [a, b, (2p + q)·C_in + c] =
    kernel[2a + p, 2b + q, c]."""
    c_in, c_out = kernel.shape[2], kernel.shape[3]
    taps = kernel.reshape(2, 2, 2, 2, c_in, c_out).transpose(0, 2, 1, 3, 4, 5)
    return taps.reshape(2, 2, 4 * c_in, c_out)


def _shifted_windows(x: Array) -> list[Array]:
    """The four (N, H//2, W//2, 4·C_in) windows s2d(pad(x))[i + a, j + b], ordered (a, b)."""
    _, h, w, _ = x.shape
    # Odd sizes get one more zero row/column, which no output reads.
    padded = jnp.pad(x, ((0, 0), (1, 1 + h % 2), (1, 1 + w % 2), (0, 0)))
    s2d = _space_to_depth(padded)
    ho, wo = h // 2, w // 2
    return [s2d[:, a : a + ho, b : b + wo] for a in range(2) for b in range(2)]


def _down_matmul(x: Array, kernel: Array, precision) -> Array:
    taps = downsample_kernel(kernel).reshape(4, 4 * x.shape[-1], kernel.shape[-1])
    out = 0
    for window, tap in zip(_shifted_windows(x), taps):
        out = out + _pixel_matmul(window, tap, precision)
    return out


def _down_im2col(x: Array, kernel: Array, precision) -> Array:
    patches = jnp.concatenate(_shifted_windows(x), axis=-1)  # channel (2a + b)·4·C_in + ...
    taps = downsample_kernel(kernel).reshape(16 * x.shape[-1], kernel.shape[-1])
    return _pixel_matmul(patches, taps, precision)


def _down_conv(x: Array, kernel: Array, precision) -> Array:
    return jax.lax.conv_general_dilated(
        x,
        kernel,
        window_strides=(2, 2),
        padding=((1, 1), (1, 1)),
        dimension_numbers=_DIMENSION_NUMBERS,
        precision=precision,
    )


_DOWNSAMPLE_IMPLEMENTATIONS = {'matmul': _down_matmul, 'im2col': _down_im2col, 'conv': _down_conv}


def resolve_downsample_method(method: str, in_channels: int) -> str:
    """The method 'auto' stands for at `in_channels` input channels; others unchanged."""
    if method != 'auto':
        return method
    return 'im2col' if in_channels < _IM2COL_BELOW_CHANNELS else 'matmul'


def strided_conv(x: Array, kernel: Array, *, method: str = 'auto', precision: Any = None) -> Array:
    """PyTorch's Conv2d(kernel_size=4, stride=2, padding=1), bias-free, fast to differentiate.

    Output and gradients w.r.t. input and kernel in one jitted call, batch 64, 2 CPU cores
    (milliseconds, medians; 'conv' / 'matmul' / 'im2col'), DCGAN-64's layers: 64² px 3→64
    channels 172 / 79 / 29; 32² px 64→128: 336 / 213 / 247; 16² px 128→256: 202 / 164 / 188;
    8² px 256→512: 189 / 134 / 152. The forward alone is up to 1.6× slower than 'conv' (the
    shifted windows are copies), but a discriminator is always differentiated.

    Args:
      x: (N, H, W, C_in) input.
      kernel: (4, 4, C_in, C_out), HWIO (flax `nn.Conv`'s layout and PyTorch's weight
        transposed (2, 3, 1, 0)).
      method: 'matmul' — pad, space-to-depth(2), then four shifted (N·H/2·W/2, 4·C_in) ×
        (4·C_in, C_out) matrix products (exact FLOP count); 'im2col' — the four shifted windows
        concatenated into (N·H/2·W/2, 16·C_in) patches, one matrix product; 'conv' —
        `lax.conv_general_dilated`; 'auto' — 'im2col' for C_in < 16, else 'matmul'.
      precision: passed to the underlying `jnp.matmul` / `lax.conv_general_dilated`.

    Returns:
      (N, H//2, W//2, C_out), equal to `torch.nn.functional.conv2d(x, w, stride=2, padding=1)`.
    """
    _check_4x4_call(x, kernel, method, DOWNSAMPLE_METHODS)
    method = resolve_downsample_method(method, x.shape[-1])
    dtype = jnp.result_type(x, kernel)
    return _DOWNSAMPLE_IMPLEMENTATIONS[method](x.astype(dtype), kernel.astype(dtype), precision)


class DownsampleConv(_Stride2Layer):
    """×2 downsampling layer, exactly `nn.Conv(features, (4, 4), 2, 1)` (PyTorch's
    Conv2d(C_in, features, 4, 2, 1)) with the same (4, 4, C_in, features) 'kernel' parameter,
    so `nn.SpectralNorm` can wrap it.

    Attributes:
      features: output channels.
      use_bias: add a bias (DCGAN uses none).
      kernel_init: initialiser of the kernel; DCGAN's N(0, 0.02) by default.
      method: see `strided_conv`.
    """

    def _apply(self, x: Array, kernel: Array) -> Array:
        return strided_conv(x, kernel, method=self.method)


class WholeMapConv(nn.Module):
    """A VALID convolution whose kernel covers its whole (N, kh, kw, C_in) input, e.g. DCGAN's
    last Conv2d(C_in, 1, 4, 1, 0) on a 4×4 map, computed as a Dense over the flattened map
    (XLA:CPU runs this tiny convolution several times slower). Returns (N, 1, 1, features);
    the parameter is nn.Conv's (kh, kw, C_in, features) 'kernel'.
    """

    features: int
    kernel_size: tuple[int, int] = (4, 4)
    kernel_init: Callable[..., Array] = flat_normal(0.02)

    @nn.compact
    def __call__(self, x: Array) -> Array:
        if x.ndim != 4 or x.shape[1:3] != tuple(self.kernel_size):
            raise ValueError(
                f'input must have shape (N, {self.kernel_size[0]}, {self.kernel_size[1]}, C), '
                f'got {x.shape}'
            )
        shape = (*self.kernel_size, x.shape[-1], self.features)
        kernel = self.param('kernel', self.kernel_init, shape)
        dtype = jnp.result_type(x, kernel)
        y = x.reshape(x.shape[0], -1).astype(dtype) @ kernel.reshape(-1, self.features).astype(
            dtype
        )
        return y.reshape(x.shape[0], 1, 1, self.features)
