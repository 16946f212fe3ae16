"""Every scheme × every penalty × every loss the pair accepts, generated from the
registries: a few jitted steps stay finite and the samples score on the embedded
metrics. A new scheme or penalty is covered here without a test written for it
(``toy`` stands for a scheme added as one module and one registry line).

The runs are tiny (an MLP on the 8×8 Hadamard images, batch 8) and compiled at
XLA's lowest backend optimization level: what is tested is that each combination
builds, trains and evaluates, not its speed.
"""

import functools
import itertools

import jax
import ml_collections
import numpy as np
import pytest

from nssgan import data, losses, sampling, schemes, step, validation
from nssgan.base_config import base_config
from nssgan.evaluation import evaluator
from nssgan.forward import sample_latent
from nssgan.stabilizers import PENALTIES

from schemes.toy_scheme import ToyScheme

SCHEMES = {**schemes.SCHEMES, 'toy': ToyScheme}
GRID = list(itertools.product(SCHEMES, ('none', *PENALTIES), losses.LOSSES))
FAST_COMPILE = {'xla_backend_optimization_level': '0'}


def _config(scheme, penalty, loss):
    config = base_config()
    config.dataset = 'hadamard'
    config.image_size = 8
    config.batch_size = 8
    config.num_train_steps = 2
    config.model.name = 'mlp'
    config.model.latent_dim = 4
    config.model.mlp_hidden = (8,)
    config.loss = loss
    config.stabilizer.name = scheme
    config.stabilizer.lens.update(features=2, num_blocks=1)
    config.penalty.name = penalty
    config.eval.num_samples = 16
    return config


def _compiled(fn, *args):
    return jax.jit(fn).lower(*args).compile(FAST_COMPILE)


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(schemes.SCHEMES, 'toy', ToyScheme)


@pytest.mark.usefixtures('toy_registered')
@pytest.mark.parametrize('scheme, penalty, loss', GRID, ids=['-'.join(combo) for combo in GRID])
def test_scheme_penalty_loss_trains_and_evaluates(scheme, penalty, loss):
    config = _config(scheme, penalty, loss)
    try:
        spec = validation.validate(config, num_devices=1, num_processes=1)
    except validation.ConfigError as e:  # The pair refuses this loss or penalty.
        assert any(field in str(e) for field in ('config.loss=', 'config.penalty'))
        pytest.skip(f'refused: {e}')
    frozen = ml_collections.FrozenConfigDict(config)
    state = step.create_state(frozen, spec, jax.random.PRNGKey(0))
    batches = data.make_dataset(
        config.dataset, batch_size=config.batch_size, image_size=config.image_size, seed=0
    ).iterate(0)
    batch = {'image': next(batches)['image'][None]}
    train_step = _compiled(functools.partial(step.train_step, config=frozen), state, batch)
    for _ in range(2):
        state, metrics = train_step(state, batch)
        batch = {'image': next(batches)['image'][None]}
    metrics = jax.device_get(metrics)
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state))
    assert int(state.step) == 2
    z = sample_latent(jax.random.PRNGKey(1), config.eval.num_samples, config.model.latent_dim)
    samples = np.asarray(sampling.generate(state, z, frozen))
    scores = evaluator.Evaluator(config)(samples)
    metric, _ = evaluator.primary_metric(config)
    assert np.isfinite(scores[metric])


def test_the_grid_covers_every_registered_scheme_and_penalty():
    assert set(schemes.SCHEMES) < {scheme for scheme, _, _ in GRID}
    assert {'none', *PENALTIES} == {penalty for _, penalty, _ in GRID}
