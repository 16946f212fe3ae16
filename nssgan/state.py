"""The GAN training state: one pytree holding everything a step reads and writes.

The state is pure data (no optimizer or module objects inside): the optimizers and
networks are rebuilt from the static config at trace time. So two runs' states can be
compared leaf by leaf, checkpoints hold only arrays, and the compiled step is keyed on
the config alone.
"""

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

PyTree = Any


@flax.struct.dataclass
class ModelState:
    """A network's parameters, optimizer state and mutable collections.

    Like ``flax.training.train_state.TrainState`` without its static ``apply_fn`` and
    ``tx`` fields. ``batch_stats`` holds BatchNorm running statistics and
    spectral-norm power-iteration vectors (an empty dict for networks without them).
    """
    step: jax.Array
    params: PyTree
    opt_state: PyTree
    batch_stats: PyTree

    @classmethod
    def create(cls, params: PyTree, batch_stats: PyTree,
               tx: optax.GradientTransformation) -> 'ModelState':
        return cls(step=jnp.zeros((), jnp.int32), params=params,
                   opt_state=tx.init(params), batch_stats=batch_stats)

    def apply_gradients(self, grads: PyTree, tx: optax.GradientTransformation,
                        batch_stats: PyTree) -> 'ModelState':
        updates, opt_state = tx.update(grads, self.opt_state, self.params)
        return self.replace(step=self.step + 1,
                            params=optax.apply_updates(self.params, updates),
                            opt_state=opt_state, batch_stats=batch_stats)


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


LR_DECAYS = ('none', 'linear')


def make_optimizer(learning_rate: float, b1: float, b2: float, *,
                   lr_decay: str = 'none', num_steps: int = 1,
                   updates_per_step: int = 1) -> optax.GradientTransformation:
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
        raise ValueError(f'config.optimizer.lr_decay={lr_decay!r} is not valid; choose '
                         f'one of: {", ".join(LR_DECAYS)}.')
    return optax.adam(learning_rate, b1=b1, b2=b2)


def optimizers(config) -> tuple[optax.GradientTransformation,
                                optax.GradientTransformation]:
    """The generator's and the discriminator's optimizers for ``config``."""
    opt = config.optimizer
    decay = dict(lr_decay=opt.get('lr_decay', 'none'),
                 num_steps=config.num_train_steps)
    return (make_optimizer(opt.g_lr, opt.b1, opt.b2, **decay),
            make_optimizer(opt.d_lr, opt.b1, opt.b2, updates_per_step=config.n_dis,
                           **decay))
