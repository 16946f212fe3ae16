"""The lens of tempered adversarial networks (Sajjadi et al. 2018, §2.4 and Fig. 4).

A fully convolutional residual network that maps images to images of the same shape,
L(x) = x + r(x). The paper gives only its outline: "8 residual blocks", "all
convolutions have 3×3 kernels and stride 1", an extra input→output residual "to help
convergence to identity", a design "similar to Sajjadi et al. (2017)" (EnhanceNet), and
Xavier initialization for every network. There is no public code; the choices here
follow EnhanceNet's residual generator where the paper is silent:

  r(x) = Conv_out(h_B),  h_0 = ReLU(Conv_in(x)),
  h_b = h_{b-1} + Conv_b2(ReLU(Conv_b1(h_{b-1}))),  b = 1 … B (B = 8),

* every convolution 3×3, stride 1, zero ('SAME') padding, with a bias;
* `features` channels inside (64 by default, EnhanceNet's width), the image's own
  channels at Conv_in's input and Conv_out's output;
* ReLU activations, no activation after a block's sum (EnhanceNet, EDSR);
* no normalization: BatchNorm would couple the samples of a batch and keep the lens
  from being an exact per-image identity map, and EnhanceNet uses none;
* Glorot/Xavier-uniform kernels (the paper's §2.4) and zero biases, also for Conv_out.
  So L does not start at the identity, nor near it: at initialization ‖L(x) − x‖ is
  0.8–1.7 times ‖x‖ with 64 channels and 2.3–2.8 times with 16 (measured over 3 seeds on
  colour digits and photo patches). The input→output residual makes the identity easy
  to reach ("to help convergence to identity", §2.4), and the reconstruction term
  (eq. 2, per image) pulls L there from the first steps;
* a linear output layer, no tanh: L(x) = x + r(x) can represent the identity exactly
  (and may leave [-1, 1], as the paper's lensed samples may).
"""

import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Array = jax.Array


def flat_xavier_uniform() -> Callable[..., Array]:
    """Glorot/Xavier-uniform, U(±sqrt(6 / (fan_in + fan_out))), sampled flat.

    fan_in = kh·kw·C_in and fan_out = kh·kw·C_out for an HWIO kernel (as TensorFlow's
    `glorot_uniform` and `jax.nn.initializers.xavier_uniform` compute them). Sampled as a
    flat vector and reshaped, like `layers.flat_normal`: XLA:CPU compiles sampling of
    ≥3-D shapes slowly.
    """

    def init(key: Array, shape, dtype=jnp.float32) -> Array:
        receptive = math.prod(shape[:-2])
        fan_in, fan_out = receptive * shape[-2], receptive * shape[-1]
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        flat = jax.random.uniform(key, (math.prod(shape),), dtype, -limit, limit)
        return flat.reshape(shape)

    return init


def _conv(features: int, name: str) -> nn.Conv:
    return nn.Conv(
        features,
        (3, 3),
        strides=1,
        padding='SAME',
        kernel_init=flat_xavier_uniform(),
        bias_init=nn.initializers.zeros,
        name=name,
    )


class LensNetwork(nn.Module):
    """Images (N, H, W, C) → lensed images L(x) = x + r(x) of the same shape.

    Any H, W and C (fully convolutional). Parameters: Conv_in, Block_{b}_Conv_0 and
    Block_{b}_Conv_1 for b < `num_blocks`, Conv_out; see the module docstring.

    Attributes:
      features: channels of the hidden layers (64 by default).
      num_blocks: residual blocks (8 in the paper).
    """

    features: int = 64
    num_blocks: int = 8

    @nn.compact
    def __call__(self, x: Array) -> Array:
        if x.ndim != 4:
            raise ValueError(f'x must be an NHWC image batch, got shape {x.shape}')
        h = nn.relu(_conv(self.features, 'Conv_in')(x))
        for b in range(self.num_blocks):
            r = nn.relu(_conv(self.features, f'Block_{b}_Conv_0')(h))
            h = h + _conv(self.features, f'Block_{b}_Conv_1')(r)
        return x + _conv(x.shape[-1], 'Conv_out')(h)
