"""The GAN training state: one pytree holding everything a step reads and writes."""

from typing import Any

import flax
import jax
import optax
from flax.training import train_state

PyTree = Any


class ModelState(train_state.TrainState):
    """A network's parameters, optimizer state and mutable collections.

    ``batch_stats`` holds BatchNorm running statistics and spectral-norm power
    iteration vectors (an empty dict for networks without them).
    """
    batch_stats: PyTree = flax.struct.field(default_factory=dict)


@flax.struct.dataclass
class GANState:
    """Generator, discriminator, the scheme's own state, EMA and randomness.

    ``key`` is the run's base key; the step's randomness is ``fold_in(key, step)``, so
    the state at step ``s`` fully determines everything that follows it.
    """
    step: jax.Array
    generator: ModelState
    discriminator: ModelState
    scheme: PyTree
    ema_params: PyTree
    key: jax.Array


def make_optimizer(learning_rate: float, b1: float, b2: float
                   ) -> optax.GradientTransformation:
    """Adam, as used by every paper this project implements."""
    return optax.adam(learning_rate, b1=b1, b2=b2)
