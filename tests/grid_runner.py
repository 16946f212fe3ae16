"""Runs one (scheme, penalty, loss) combination of the generated test grid
(``tests/schemes/test_grid.py``) in a worker process: a few jitted steps and one
evaluation on the embedded metrics. Compilation dominates and holds one core, so the
grid is spread over one worker per core."""

import functools
import os

os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import jax  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402

from nssgan import data, sampling, schemes, step, validation  # noqa: E402
from nssgan.base_config import base_config  # noqa: E402
from nssgan.evaluation import evaluator  # noqa: E402
from nssgan.forward import sample_latent  # noqa: E402

from schemes.toy_scheme import ToyScheme  # noqa: E402

EXTRA_SCHEMES = {'toy': ToyScheme}  # A scheme added as one module and one registry line.
# The tiny programs compile in half the time at XLA's lowest backend optimization level
# with its older CPU fusion code generator (as tests/conftest.py sets for the suite);
# what the grid tests is that each combination builds, trains and evaluates, not its speed.
FAST_COMPILE = {'xla_backend_optimization_level': '0', 'xla_cpu_use_fusion_emitters': False}


def grid_config(scheme: str, penalty: str, loss: str) -> ml_collections.ConfigDict:
    """A small MLP GAN on the 8×8 Hadamard images, batch 8, with the combination."""
    schemes.SCHEMES.update(EXTRA_SCHEMES)  # Before base_config: it fills the sections.
    config = base_config()
    config.dataset = 'hadamard'
    config.image_size = 8
    config.batch_size = 8
    config.num_train_steps = 2
    config.model.name = 'mlp'
    config.model.latent_dim = 4
    config.model.mlp_hidden = (8,)
    # Without BatchNorm: its per-sample path is tested on its own (test_forward.py).
    config.model.g_batchnorm = False
    config.model.d_norm = 'none'
    config.loss = loss
    config.stabilizer.name = scheme
    config.stabilizer.lens.update(features=2, num_blocks=1)
    config.penalty.name = penalty
    config.eval.num_samples = 16
    return config


def run_combo(combo: tuple[str, str, str]) -> dict:
    """Two jitted steps and an evaluation of ``combo``; what the test asserts on."""
    try:
        return run_config(grid_config(*combo))
    finally:
        for name in EXTRA_SCHEMES:  # Leave the registry as it was (in-process runs).
            schemes.SCHEMES.pop(name, None)


def run_config(config: ml_collections.ConfigDict) -> dict:
    """Two jitted steps of ``config`` and an evaluation of its samples."""
    spec = validation.validate(config, num_devices=1, num_processes=1)
    frozen = ml_collections.FrozenConfigDict(config)
    state = step.create_state(frozen, spec, jax.random.PRNGKey(0))
    batches = data.make_dataset(
        config.dataset, batch_size=config.batch_size, image_size=config.image_size, seed=0
    ).iterate(0)
    batch = {'image': next(batches)['image'][None]}
    train_step = (
        jax.jit(functools.partial(step.train_step, config=frozen))
        .lower(state, batch)
        .compile(FAST_COMPILE)
    )
    for _ in range(2):
        state, metrics = train_step(state, batch)
        batch = {'image': next(batches)['image'][None]}
    z = sample_latent(jax.random.PRNGKey(1), config.eval.num_samples, config.model.latent_dim)
    samples = np.asarray(sampling.generate(state, z, frozen))
    metric, _ = evaluator.primary_metric(config)
    return {
        'metrics': {k: float(v) for k, v in jax.device_get(metrics).items()},
        'state_finite': all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state)),
        'step': int(state.step),
        'primary_metric': float(evaluator.Evaluator(config)(samples)[metric]),
    }
