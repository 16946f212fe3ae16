"""Exact, fast stride-2 upsampling: PyTorch's ConvTranspose2d(k=4, s=2, p=1) without a transposed conv.

XLA:CPU differentiates transposed convolutions very slowly (DESIGN.md §6), so the generator's
upsampling is written in sub-pixel form. Per spatial axis, PyTorch's ConvTranspose2d(4, 2, 1) is

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
_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
METHODS = ("matmul", "conv3x3", "phase")


def flat_normal(stddev: float = 0.02) -> Callable[..., Array]:
  """N(0, stddev²) initializer, e.g. DCGAN's N(0, 0.02).

  It draws the same values as `jax.random.normal(key, shape)` but samples a flat vector and
  reshapes it: XLA:CPU compiles random sampling of ≥3-D shapes very slowly (about 4 s for one
  4×4 convolution kernel, against 0.3 s flat).
  """

  def init(key: Array, shape, dtype=jnp.float32) -> Array:
    return stddev * jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)

  return init


def _phase_taps(ph: int, pw: int):
  """Yields (a, b, tap_h, tap_w): output phase (ph, pw) reads x[m + ph + a - 1, n + pw + b - 1]."""
  for a in range(2):
    for b in range(2):
      yield a, b, _TAPS[ph][a], _TAPS[pw][b]


def _depth_to_space(phases: list[Array]) -> Array:
  """Four (N, H, W, C) phase outputs, ordered (0, 0), (0, 1), (1, 0), (1, 1) → (N, 2H, 2W, C)."""
  n, h, w, c = phases[0].shape
  y = jnp.stack(phases, axis=3).reshape(n, h, w, 2, 2, c)
  return y.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, c)


def subpixel_kernel(kernel: Array) -> Array:
  """Places a (4, 4, C_in, C_out) ConvTranspose2d(4, 2, 1) kernel into a (3, 3, C_in, 4·C_out) one.

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
        out = out + jnp.einsum("nhwi,io->nhwo", window, kernel[th, tw], precision=precision)
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
              padding="VALID",
              dimension_numbers=_DIMENSION_NUMBERS,
              precision=precision,
          )
      )
  return _depth_to_space(phases)


_IMPLEMENTATIONS = {"matmul": _matmul, "conv3x3": _conv3x3, "phase": _phase}


def subpixel_conv_transpose(
    x: Array, kernel: Array, *, method: str = "matmul", precision: Any = None
) -> Array:
  """PyTorch's ConvTranspose2d(kernel_size=4, stride=2, padding=1), without a transposed convolution.

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
      products (exact FLOP count); 'conv3x3' — the taps placed into a 3×3 kernel to 4·C_out
      channels, one SAME convolution; 'phase' — one VALID 2×2 convolution per output phase.
      Each is followed by depth-to-space.
    precision: passed to the underlying `einsum` / `lax.conv_general_dilated`.

  Returns:
    (N, 2H, 2W, C_out), equal to `torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1)`.
  """
  if kernel.ndim != 4 or kernel.shape[:2] != (4, 4) or kernel.shape[2] != x.shape[-1]:
    raise ValueError(
        f"kernel must have shape (4, 4, {x.shape[-1]}, C_out) for input of shape {x.shape}, "
        f"got {kernel.shape}"
    )
  if method not in _IMPLEMENTATIONS:
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")
  dtype = jnp.result_type(x, kernel)
  return _IMPLEMENTATIONS[method](x.astype(dtype), kernel.astype(dtype), precision)


class UpsampleConv(nn.Module):
  """×2 upsampling layer, exactly PyTorch's ConvTranspose2d(C_in, features, 4, 2, 1).

  Attributes:
    features: output channels.
    use_bias: add a bias (DCGAN uses none).
    kernel_init: initialiser of the (4, 4, C_in, features) kernel; DCGAN's N(0, 0.02) by default.
    method: see `subpixel_conv_transpose`.
  """

  features: int
  use_bias: bool = False
  kernel_init: Callable[..., Array] = flat_normal(0.02)
  bias_init: Callable[..., Array] = nn.initializers.zeros
  method: str = "matmul"

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features))
    y = subpixel_conv_transpose(x, kernel, method=self.method)
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,))
    return y
