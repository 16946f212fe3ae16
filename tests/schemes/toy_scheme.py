"""A scheme written as a user would add one: this module plus one registry line
(``SCHEMES['toy'] = ToyScheme``), touching nothing else. Every hook has a checkable
effect, so the tests can see that the step calls each."""

import jax.numpy as jnp
import ml_collections

from nssgan.schemes import Scheme, View


class ToyScheme(Scheme):
    """Two half-weighted views (the second with reals scaled by ``real_scale``), a
    constant penalty of ``penalty`` and a counter of its state updates."""

    @classmethod
    def defaults(cls):
        return ml_collections.ConfigDict(dict(real_scale=0.0, penalty=2.5))

    def check(self, run):
        if not self.settings.penalty >= 0:
            raise ValueError(f'{self.field("penalty")} must be ≥ 0.')

    def init_state(self, key, example_batch, run):
        return {
            'updates': jnp.zeros((), jnp.int32),
            'example_size': jnp.asarray(example_batch.size, jnp.int32),
        }

    def schedule(self, step, run):
        return {'fraction': step / run.num_train_steps}

    def discriminator_views(self, state, real, fake, ctx):
        return [View(real, fake, 0.5), View(real * self.settings.real_scale, fake, 0.5)]

    def penalty(self, real, fake, ctx):
        value = 0.0 * jnp.mean(ctx.frozen_d_fn(real)) + self.settings.penalty
        return value, {'toy_penalty': value}

    def update_state(self, state, real, fake, ctx):
        updates = state['updates'] + 1
        return {**state, 'updates': updates}, {'toy_updates': updates}
