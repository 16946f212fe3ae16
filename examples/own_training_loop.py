"""Using nssgan's pieces from your own JAX code: the jitted train step in a loop of
your own, and the stabilizers as plain functions of any discriminator.

    python examples/own_training_loop.py [--steps 200]

Trains NSS-GAN (a small DCGAN-32) on the digits that ship with scikit-learn, with your
data loop instead of nssgan's trainer, then calls the gradient penalties and the
gradient-normalized discriminator on the trained D. The test suite runs it.
"""

import argparse
import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from sklearn.datasets import load_digits

from nssgan import stabilizers, step
from nssgan.base_config import base_config
from nssgan.data import DataSpec
from nssgan.forward import discriminator_apply


def digits_in_minus_one_to_one(size: int = 32) -> np.ndarray:
    """scikit-learn's 8×8 digits as (N, size, size, 1) float32 images in [-1, 1]."""
    digits = load_digits().images.astype(np.float32) / 16.0 * 2.0 - 1.0
    repeat = size // 8
    return np.repeat(np.repeat(digits, repeat, axis=1), repeat, axis=2)[..., None]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=200)
    args = parser.parse_args(argv)

    # 1. The config: every field has a default; choose the scheme and its settings.
    config = base_config()
    config.num_train_steps = args.steps
    config.batch_size = 32
    config.model.g_width = config.model.d_width = 16
    config.stabilizer.name = 'nss'
    config.stabilizer.nss.T = 64
    # The step reads the config at trace time: it must be static (hashable).
    frozen = ml_collections.FrozenConfigDict(config)

    # 2. The state: G's and D's flax TrainStates, the scheme's state, the EMA, the key.
    # `spec` is all the step needs to know of your data: the kind and example shape.
    images = digits_in_minus_one_to_one()
    spec = DataSpec(name='my_digits', kind='image', shape=images.shape[1:])
    state = jax.jit(functools.partial(step.create_state, frozen, spec))(jax.random.PRNGKey(0))

    # 3. The step: n_dis D updates and one G update in one XLA program. A batch is
    # {'image': reals} with reals of shape (n_dis, batch_size, *spec.shape).
    train_step = jax.jit(functools.partial(step.train_step, config=frozen), donate_argnums=0)
    rng = np.random.default_rng(0)
    for i in range(args.steps):
        rows = rng.integers(0, len(images), config.n_dis * config.batch_size)
        reals = images[rows].reshape(config.n_dis, config.batch_size, *spec.shape)
        state, metrics = train_step(state, {'image': jnp.asarray(reals)})
        if (i + 1) % 50 == 0 or i + 1 == args.steps:
            print(
                f'step {i + 1}: d_loss {float(metrics["d_loss"]):.3f}, '
                f'g_loss {float(metrics["g_loss"]):.3f}, t {int(metrics["t"])}'
            )

    # 4. The stabilizers as plain functions of any d_fn (a batch → per-sample logits);
    # here the trained D, per sample under its BatchNorm (nssgan.forward).
    d_apply = discriminator_apply(state.discriminator)

    def d_fn(x):
        return d_apply(x, state.discriminator.batch_stats, independent=True, update_stats=False)[0]

    key = jax.random.PRNGKey(1)
    real = jnp.asarray(images[:64])
    fake = state.generator.apply_train(jax.random.normal(key, (64, 100)))[0]
    values = {
        'roth_omega': stabilizers.roth_penalty(d_fn, real, fake),
        'r1': stabilizers.r1_penalty(d_fn, real),
        'wgan_gp': stabilizers.wgan_gp_penalty(d_fn, real, fake, key),
        'mean |pgn f̂|': jnp.mean(jnp.abs(stabilizers.gradient_normalize(d_fn, 'pgn')(real))),
    }
    for name, value in values.items():
        print(f'{name}: {float(value):.4f}')
    return state, values


if __name__ == '__main__':
    main()
