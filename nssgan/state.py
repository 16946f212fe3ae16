"""The GAN training state: one pytree holding everything a step reads and writes.

Each network's part is a flax ``TrainState`` (parameters, Adam state, step, and its
``apply_fn`` and optimizer as static fields) with the network's BatchNorm / spectral-norm
statistics beside. Checkpoints hold only the arrays.
"""

import dataclasses
import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state

PyTree = Any


COMPUTE_DTYPES = ('float32', 'bfloat16')


def _cast_floats(tree: PyTree, dtype) -> PyTree:
    return jax.tree.map(
        lambda a: a.astype(dtype) if jnp.issubdtype(jnp.result_type(a), jnp.floating) else a,
        tree,
    )


@dataclasses.dataclass(frozen=True)
class ModuleApply:
    """``module.apply`` as a value: equal for equal modules.

    A bound method compares its module by identity, so the ``apply_fn`` of two states
    built from equal configs would differ, and with it their pytree structure (one
    compiled step could not serve both, nor could two runs' states be compared).

    ``compute_dtype='bfloat16'`` runs the network in bfloat16 (mixed precision): the
    parameters and the input are cast to it for the forward pass (the gradients reach
    the float32 parameters through the cast), the output is float32 again, and the
    statistics (BatchNorm's running averages, spectral norm's vectors) stay float32
    (BatchNorm reduces in float32).
    """

    module: flax.linen.Module
    compute_dtype: str = 'float32'

    def __call__(self, variables, x, *args, **kwargs):
        if self.compute_dtype == 'float32':
            return self.module.apply(variables, x, *args, **kwargs)
        dtype = jnp.dtype(self.compute_dtype)
        low = {**variables, 'params': _cast_floats(variables['params'], dtype)}
        result = self.module.apply(low, _cast_floats(x, dtype), *args, **kwargs)
        if kwargs.get('mutable'):
            out, mutated = result
            # Statistics keep their stored dtype; collections created here (BatchNorm's
            # recorded moments) are float32 already.
            mutated = {
                k: jax.tree.map(lambda new, old: new.astype(old.dtype), v, variables[k])
                if k in variables
                else v
                for k, v in mutated.items()
            }
            return _cast_floats(out, jnp.float32), mutated
        return _cast_floats(result, jnp.float32)


class TrainState(train_state.TrainState):
    """``flax.training.train_state.TrainState`` with the network's mutable statistics.

    ``batch_stats`` holds BatchNorm running statistics and spectral-norm
    power-iteration vectors (an empty dict for networks without them);
    ``apply_fn`` is the network's ``apply`` (a ``ModuleApply``).
    """

    batch_stats: PyTree = flax.struct.field(default_factory=dict)

    @property
    def module(self) -> flax.linen.Module:
        """The network whose ``apply`` is ``apply_fn``."""
        return self.apply_fn.module

    def apply_train(
        self, x: jax.Array, params: PyTree | None = None, **kwargs
    ) -> tuple[jax.Array, PyTree]:
        """The network on ``x`` in training mode (``params``: default the state's);
        returns its output and updated statistics."""
        variables = {'params': self.params if params is None else params}
        if not self.batch_stats:
            return self.apply_fn(variables, x, train=True, **kwargs), self.batch_stats
        variables['batch_stats'] = self.batch_stats
        out, mutated = self.apply_fn(variables, x, train=True, mutable=['batch_stats'], **kwargs)
        return out, mutated['batch_stats']


def create_train_state(
    module: flax.linen.Module,
    variables: PyTree,
    tx: optax.GradientTransformation,
    compute_dtype: str = 'float32',
) -> TrainState:
    """A ``TrainState`` for ``module`` from its initial (float32) ``variables``, run in
    ``compute_dtype`` (see ``ModuleApply``)."""
    return TrainState.create(
        apply_fn=ModuleApply(module, compute_dtype),
        params=variables['params'],
        tx=tx,
        batch_stats=variables.get('batch_stats', {}),
    )


@flax.struct.dataclass
class GANState:
    """Generator, discriminator, the scheme's own state, EMA and randomness.

    ``key`` is the run's base key; the step's randomness is ``fold_in(key, step)``, so
    the state at step ``s`` fully determines everything that follows it.
    """

    step: jax.Array
    generator: TrainState
    discriminator: TrainState
    scheme: PyTree
    ema_params: PyTree
    key: jax.Array


LR_DECAYS = ('none', 'linear')


# Cached: the optimizer is a static field of the state, and a state is the same pytree
# (one compiled step serves it) only when its optimizer is the same object.
@functools.lru_cache(maxsize=None)
def make_optimizer(
    learning_rate: float,
    b1: float,
    b2: float,
    *,
    lr_decay: str = 'none',
    num_steps: int = 1,
    updates_per_step: int = 1,
) -> optax.GradientTransformation:
    """Adam, as used by every paper this project implements.

    ``lr_decay='linear'``: the rate falls linearly from ``learning_rate`` to 0 over
    ``num_steps`` generator steps, η·(1 − k/K) at step k, constant within a step's
    ``updates_per_step`` updates (``n_dis`` for D), as GNGAN-PyTorch's ``LambdaLR``
    stepped once per generator step.
    """
    if lr_decay == 'linear':

        def schedule(count):
            return learning_rate * (1.0 - (count // updates_per_step) / num_steps)

        return optax.adam(schedule, b1=b1, b2=b2)
    if lr_decay != 'none':
        raise ValueError(
            f'config.optimizer.lr_decay={lr_decay!r} is not valid; choose '
            f'one of: {", ".join(LR_DECAYS)}.'
        )
    return optax.adam(learning_rate, b1=b1, b2=b2)


def optimizers(config) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
    """The generator's and the discriminator's optimizers for ``config``."""
    opt = config.optimizer
    decay = dict(lr_decay=opt.get('lr_decay', 'none'), num_steps=config.num_train_steps)
    return (
        make_optimizer(opt.g_lr, opt.b1, opt.b2, **decay),
        make_optimizer(opt.d_lr, opt.b1, opt.b2, updates_per_step=config.n_dis, **decay),
    )
