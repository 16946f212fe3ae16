"""The interface through which a stabilization scheme touches the train step.

A scheme is one class, registered under its config name in ``nssgan.schemes.SCHEMES``.
It is built at trace time with its own settings only (``config.stabilizer.<name>``,
filled with ``defaults()``); what it may know of the rest of the run comes in a
``RunInfo``, and what it may use inside an update comes in a ``StepContext``. The
train step calls, in this order:

* ``schedule(step, run)``: its annealed quantities (NSS's t, Roth's γ, the lens's λ_t)
  as scalars computed inside the compiled step; they are also logged.
* ``wrap_discriminator(d_apply)``: a replacement for D's forward pass used in every D
  and G update (PGN/GN's gradient-normalized f̂); the plain scheme returns it as is.
* ``discriminator_views(state, real, fake, ctx)`` / ``generator_views(state, fake,
  ctx)``: what D sees. Each view is a (real, fake, weight) triple; the adversarial
  loss is the weighted sum over views.
* ``penalty(real, fake, ctx)``: a term added to D's loss (Roth's (γ/2)·Ω).
* ``update_state(state, real, fake, ctx)``: one update of the scheme's own trainable
  state (the lens, the noise generator, a learned σ) against the freshly updated D.

``check(run)`` refuses unusable settings before anything compiles, and
``init_state(key, example_batch, run)`` makes the scheme's own state. The defaults are
the plain GAN: one clean view, no penalty, no state. Every hook is a pure function of
its arguments.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from nssgan.state import make_optimizer, optimizers

PyTree = Any
DiscriminatorFn = Callable[[jax.Array], jax.Array]

# D's forward pass inside the step: (images, batch_stats, *, independent=False,
# update_stats=True) -> (logits, new_batch_stats). With ``independent=True`` each logit
# depends only on its own sample's input (BatchNorm statistics enter as constants with
# respect to the input; see ``nssgan.forward``); ``update_stats=False`` leaves
# spectral-norm power iterations alone.
DiscriminatorApply = Callable[..., tuple[jax.Array, PyTree]]


class View(NamedTuple):
    """One input pair shown to D and the weight of its loss term.

    A view with a ``name`` has its own (unweighted) loss logged as ``d_loss_<name>``
    in D's update and ``g_loss_<name>`` in G's.
    """

    real: jax.Array | None
    fake: jax.Array
    weight: jax.Array | float = 1.0
    name: str = ''


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What a scheme may know of the run besides its own settings.

    ``spec`` (the data's ``DataSpec``) is given to ``check`` and ``init_state``; inside
    the step the networks come from the state and ``spec`` is None.
    """

    loss: str
    n_dis: int
    num_train_steps: int
    latent_dim: int
    batch_size: int
    g_batch_size: int
    model: ml_collections.ConfigDict
    optimizer: ml_collections.ConfigDict
    spec: Any = None

    @classmethod
    def from_config(cls, config, spec=None) -> 'RunInfo':
        return cls(
            loss=config.loss,
            n_dis=config.n_dis,
            num_train_steps=config.num_train_steps,
            latent_dim=config.model.latent_dim,
            batch_size=config.batch_size,
            g_batch_size=config.get('g_batch_size', 0) or config.batch_size,
            model=config.model,
            optimizer=config.optimizer,
            spec=spec,
        )

    def discriminator_optimizer(self) -> optax.GradientTransformation:
        """D's Adam (rate, b₁, b₂, decay, ``n_dis`` updates per generator step)."""
        return optimizers(self)[1]

    def adam(self, learning_rate: float | None = None) -> optax.GradientTransformation:
        """Adam with D's b₁ and b₂ at ``learning_rate`` (None: D's rate), no decay."""
        lr = self.optimizer.d_lr if learning_rate is None else learning_rate
        return make_optimizer(lr, self.optimizer.b1, self.optimizer.b2)


@dataclasses.dataclass(frozen=True)
class StepContext:
    """What a scheme's hooks may use inside one D or G update.

    Attributes:
      run: the run's ``RunInfo``.
      schedule: the scheme's ``schedule`` at this step.
      key: the scheme's randomness for this update. ``discriminator_views`` and
        ``update_state`` of the same D update get the same key, so a state update can
        replay the very draws (noise, weights) of D's views.
      penalty_key: randomness for ``penalty``.
      latent: the generator's input z of the fakes of this update.
      d_fn: D as in its loss: training-mode BatchNorm over the batch it is given,
        differentiable through those statistics, nothing kept. None in G's update.
      frozen_d_fn: D per sample (BatchNorm statistics of D's loss pass as constants
        with respect to the input), nothing kept; for penalties and state updates.
        None in G's update.
    """

    run: RunInfo
    schedule: dict[str, jax.Array]
    key: jax.Array
    penalty_key: jax.Array | None = None
    latent: jax.Array | None = None
    d_fn: DiscriminatorFn | None = None
    frozen_d_fn: DiscriminatorFn | None = None


def is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Scheme:
    """The plain GAN. Schemes subclass this and override the hooks they need.

    ``input_gradients``: whether the scheme differentiates D with respect to its input
    (a penalty or a normalization by ‖∇ₓD‖), which bfloat16 compute makes approximate.
    """

    input_gradients = False

    def __init__(self, name: str, settings: ml_collections.ConfigDict):
        self.name = name
        self.settings = settings

    @classmethod
    def defaults(cls) -> ml_collections.ConfigDict:
        """The scheme's settings and their defaults: the one home of each default.
        The base config copies them into ``config.stabilizer.<name>``."""
        return ml_collections.ConfigDict()

    def field(self, name: str) -> str:
        """``config.stabilizer.<scheme>.<name>``, for error messages."""
        return f'config.stabilizer.{self.name}.{name}'

    def check(self, run: RunInfo) -> None:
        """Raises ValueError (naming the config field) if the scheme cannot run with
        these settings on this run; called before anything is compiled."""
        del run

    def init_state(self, key: jax.Array, example_batch: jax.Array, run: RunInfo) -> PyTree:
        """The scheme's own trainable state (e.g. a lens ``TrainState``)."""
        del key, example_batch, run
        return {}

    def schedule(self, step: jax.Array, run: RunInfo) -> dict[str, jax.Array]:
        """Annealed quantities at ``step`` (traced)."""
        del step, run
        return {}

    def wrap_discriminator(self, d_apply: DiscriminatorApply) -> DiscriminatorApply:
        return d_apply

    def discriminator_views(
        self, state: PyTree, real: jax.Array, fake: jax.Array, ctx: StepContext
    ) -> list[View]:
        del state, ctx
        return [View(real, fake)]

    def generator_views(self, state: PyTree, fake: jax.Array, ctx: StepContext) -> list[View]:
        del state, ctx
        return [View(None, fake)]

    def penalty(
        self, real: jax.Array, fake: jax.Array, ctx: StepContext
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """A term added to D's loss, on the pair D compares in its first view."""
        del real, fake, ctx
        return jnp.zeros(()), {}

    def update_state(
        self, state: PyTree, real: jax.Array, fake: jax.Array, ctx: StepContext
    ) -> tuple[PyTree, dict[str, jax.Array]]:
        """One update of the scheme's own state against the just-updated D."""
        del real, fake, ctx
        return state, {}
