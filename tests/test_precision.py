"""config.compute_dtype='bfloat16': G and D compute in bfloat16 while parameters,
optimizer state, statistics and losses stay float32; every scheme's steps stay finite
and close to float32's."""

import functools

import grid_runner
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import data, schemes, step, validation
from nssgan.forward import discriminator_apply

from helpers import tiny_dcgan_config

STEPS = 3
# After 3 steps every logged metric (losses, penalties, gradient norms) of a bfloat16
# run is within METRIC_RTOL of float32's, relative to max(1, |value|) (measured on the
# MLP: at most 0.0021; on DCGAN-32, every scheme: at most 0.0115, Roth's penalty).
METRIC_RTOL = 0.05
# D's logits and the per-sample norm of ∇ₓD at initialization (measured on DCGAN-32
# and -64: logits 1.0% and 0.9%, norms 3.0% and 0.6%).
LOGIT_RTOL, INPUT_GRADIENT_NORM_RTOL = 0.03, 0.08


def _run(config):
    spec = data.dataset_spec(config.dataset, config.image_size)
    dataset = data.make_dataset(
        config.dataset,
        batch_size=config.batch_size * config.n_dis,
        image_size=config.image_size,
        seed=0,
        process_index=0,
        process_count=1,
    )
    frozen = ml_collections.FrozenConfigDict(config)
    state = step.create_state(frozen, spec, jax.random.PRNGKey(0))
    train_step = jax.jit(functools.partial(step.train_step, config=frozen))
    for s in range(STEPS):
        images = dataset.batch(s)['image'].reshape(config.n_dis, -1, *spec.shape)
        state, metrics = train_step(state, {'image': images})
    return jax.device_get(state), jax.device_get(metrics)


def _assert_close_to_float32(config):
    config.compute_dtype = 'float32'
    full, full_metrics = _run(config)
    config.compute_dtype = 'bfloat16'
    half, half_metrics = _run(config)
    for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(half)):
        assert a.dtype == b.dtype  # Parameters, moments, statistics: float32 still.
    for name, value in half_metrics.items():
        assert np.isfinite(value), name
        scale = max(1.0, abs(float(full_metrics[name])))
        assert abs(float(value) - float(full_metrics[name])) <= METRIC_RTOL * scale, name


@pytest.mark.parametrize('scheme', list(schemes.SCHEMES))
def test_every_scheme_trains_in_bfloat16_close_to_float32(scheme):
    try:
        _assert_close_to_float32(grid_runner.grid_config(scheme, 'none', 'non_saturating'))
    finally:
        for name in grid_runner.EXTRA_SCHEMES:  # grid_config registers the toy scheme.
            schemes.SCHEMES.pop(name, None)


def test_bfloat16_forward_and_input_gradients_are_close_and_come_back_float32():
    config = tiny_dcgan_config()
    spec = data.dataset_spec(config.dataset, config.image_size)
    x = jnp.asarray(
        data.make_dataset(
            'digits', batch_size=16, image_size=32, seed=0, process_index=0, process_count=1
        ).batch(0)['image']
    )
    results = {}
    for dtype in ('float32', 'bfloat16'):
        config.compute_dtype = dtype
        frozen = ml_collections.FrozenConfigDict(config)
        state = step.create_state(frozen, spec, jax.random.PRNGKey(0))

        @jax.jit  # One program: op-by-op, the DCGAN's passes take most of a minute.
        def forward_and_gradients(d_state, x):
            d = discriminator_apply(d_state)
            stats = d_state.batch_stats
            logits, new_stats = d(x, stats, independent=True)
            gradient = jax.grad(lambda x: d(x, stats, independent=True)[0].sum())(x)
            params_gradient = jax.grad(lambda p: d_state.apply_train(x, p)[0].sum())(d_state.params)
            return logits, new_stats, gradient, params_gradient

        logits, new_stats, gradient, params_gradient = forward_and_gradients(state.discriminator, x)
        for leaf in jax.tree.leaves((logits, new_stats, gradient, params_gradient)):
            assert leaf.dtype == jnp.float32
        norms = np.linalg.norm(np.asarray(gradient).reshape(len(x), -1), axis=1)
        results[dtype] = np.asarray(logits), norms
    (logits32, norms32), (logits16, norms16) = results['float32'], results['bfloat16']
    assert not np.array_equal(logits16, logits32)  # It did compute in bfloat16.
    assert np.max(np.abs(logits16 - logits32)) <= LOGIT_RTOL * np.max(np.abs(logits32))
    np.testing.assert_allclose(norms16, norms32, rtol=INPUT_GRADIENT_NORM_RTOL)


def test_compute_dtype_is_checked_and_a_gradient_scheme_in_bfloat16_warns(caplog):
    config = tiny_dcgan_config(compute_dtype='float16')
    with pytest.raises(validation.ConfigError, match="compute_dtype='float16' is not valid"):
        validation.validate(config, num_devices=1, num_processes=1)
    config.compute_dtype = 'bfloat16'
    config.stabilizer.name = 'roth'
    validation.validate(config, num_devices=1, num_processes=1)
    assert 'with roth: ∇ₓD is computed in bfloat16' in caplog.text
