"""The interface through which a stabilization scheme touches the train step.

A scheme is chosen at trace time from the (static) config. The train step asks it, in
this order, for:

* ``schedule(step, num_steps)``: its annealed quantities (NSS's t, Roth's γ, the
  lens's λ_t) as scalars computed inside the compiled step; they are also logged.
* ``wrap_discriminator(d_apply)``: a replacement for D's forward pass used in every
  D and G update (PGN/GN's gradient-normalized f̂).
* ``discriminator_views(...)`` / ``generator_views(...)``: what D sees. Each view is a
  (real, fake, weight) triple; the adversarial loss is the weighted sum over views.
  NSS pushes half of each batch through Φ_t, the lens maps the reals through L, the
  noise-tempered GAN gives a clean view with weight μ and a noisy one with 1 - μ.
* ``penalty(...)``: a term added to D's loss (Roth's (γ/2)·Ω, R1, WGAN-GP, ...).
* ``update_state(...)``: one update of the scheme's own trainable state (the lens,
  the noise generator, a learned σ) against the freshly updated D.

A scheme whose own update replays D's loss on the very draws of D's views (the
noise-tempered GAN: the same μ and ε) sets ``replays_views = True``; see there.

The defaults are the plain GAN: one clean view, no penalty, no state. Every hook is a
pure function of its arguments; schemes hold only their (hashable) config.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

PyTree = Any

# D's forward pass inside the step: (images, batch_stats, *, independent=False,
# update_stats=True) -> (logits, new_batch_stats). With ``independent=True`` each logit
# depends only on its own sample's input (BatchNorm statistics enter as constants with
# respect to the input; see ``nssgan.stabilizers.gradients``); ``update_stats=False``
# leaves spectral-norm power iterations alone.
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


class Stabilizer:
    """The plain GAN. Schemes subclass this and override the hooks they need."""

    name = 'none'
    # The scheme's settings in ``config.stabilizer`` (besides ``name``) and defaults.
    defaults: dict[str, Any] = {}
    # True for a scheme whose update_state replays D's loss on the draws of D's views.
    # The step then (a) gives update_state the key it gave discriminator_views in the
    # same D update, so both can draw the same randomness; (b) gives update_state a
    # ``d_fn`` that is D as in D's loss: training-mode BatchNorm over the batch it is
    # given, differentiable through those statistics, nothing kept; and (c) passes the
    # generator's latent batch as ``latent=`` to discriminator_views, generator_views
    # and update_state (z of the fakes they receive).
    replays_views = False

    def __init__(self, config):
        self.config = config

    def setting(self, field: str) -> Any:
        """``config.stabilizer.<field>``, or its default when the config omits it."""
        settings = self.config.stabilizer
        return settings[field] if field in settings else self.defaults[field]

    def check(self, spec) -> None:
        """Raises ValueError (naming the config field) if the scheme cannot run on
        data described by ``spec``; called before anything is compiled."""
        del spec
        self.check_fields()

    def check_fields(self) -> None:
        """Refuses settings in ``config.stabilizer`` that this scheme does not read."""
        name = self.config.stabilizer.name
        for field in self.config.stabilizer:
            if field != 'name' and field not in self.defaults:
                valid = ', '.join(self.defaults) or 'none'
                raise ValueError(f'config.stabilizer.{field} is not a setting of '
                                 f'{name!r}; valid: {valid}.')

    def init_state(self, key: jax.Array, example_batch: jax.Array) -> PyTree:
        """The scheme's own trainable state (e.g. a lens ``TrainState``)."""
        del key, example_batch
        return {}

    def schedule(self, step: jax.Array, num_steps: int) -> dict[str, jax.Array]:
        """Annealed quantities at ``step`` (traced)."""
        del step, num_steps
        return {}

    def wrap_discriminator(self, d_apply: DiscriminatorApply) -> DiscriminatorApply:
        return d_apply

    def discriminator_views(self, scheme_state: PyTree, key: jax.Array,
                            real: jax.Array, fake: jax.Array,
                            schedule: dict[str, jax.Array]) -> list[View]:
        del scheme_state, key, schedule
        return [View(real, fake)]

    def generator_views(self, scheme_state: PyTree, key: jax.Array,
                        fake: jax.Array,
                        schedule: dict[str, jax.Array]) -> list[View]:
        del scheme_state, key, schedule
        return [View(None, fake)]

    def penalty(self, d_fn: Callable[[jax.Array], jax.Array], real: jax.Array,
                fake: jax.Array, key: jax.Array,
                schedule: dict[str, jax.Array]
                ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """A term added to D's loss; ``d_fn`` maps a batch to logits (stats frozen)."""
        del d_fn, real, fake, key, schedule
        return jnp.zeros(()), {}

    def update_state(self, scheme_state: PyTree, key: jax.Array,
                     real: jax.Array, fake: jax.Array,
                     d_fn: Callable[[jax.Array], jax.Array],
                     schedule: dict[str, jax.Array]
                     ) -> tuple[PyTree, dict[str, jax.Array]]:
        """One update of the scheme's own state against the current D."""
        del key, real, fake, d_fn, schedule
        return scheme_state, {}
