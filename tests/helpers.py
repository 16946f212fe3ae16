"""Small configs, a step runner, config loading and a ``main.py`` runner shared by the
tests."""

import functools
import importlib.util
import os
import re
import subprocess
import sys
import warnings

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
import scipy.linalg

from nssgan import data, step
from nssgan.base_config import base_config
from nssgan.sharding import DATA_AXIS, make_mesh

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_dcgan_config(**overrides):
    """DCGAN-32 on digits with 8-channel layers: compiles and runs in seconds."""
    config = base_config()
    config.dataset = 'digits'
    config.image_size = 32
    config.batch_size = 16
    config.num_train_steps = 4
    config.model.latent_dim = 16
    config.model.g_width = 8
    config.model.d_width = 8
    config.log_every = 2
    config.sample_every = 2
    config.checkpoint_every = 2
    config.num_samples = 16
    config.update(overrides)
    return config


def tiny_mlp_config(**overrides):
    """A small MLP GAN on the 8-Gaussian ring."""
    config = base_config()
    config.dataset = 'ring'
    config.batch_size = 32
    config.num_train_steps = 4
    config.model.name = 'mlp'
    config.model.latent_dim = 8
    config.model.mlp_hidden = (32, 32)
    config.log_every = 2
    config.sample_every = 2
    config.checkpoint_every = 2
    config.num_samples = 32
    config.update(overrides)
    return config


def run_steps(config, num_steps, devices=None):
    """Runs ``num_steps`` train steps on a mesh over ``devices``; returns the state
    and the metrics of each step."""
    spec = data.dataset_spec(config.dataset, config.image_size)
    dataset = data.make_dataset(
        config.dataset,
        batch_size=config.batch_size * config.n_dis,
        image_size=config.image_size,
        seed=config.seed,
    )
    frozen = ml_collections.FrozenConfigDict(config)
    mesh = make_mesh(devices)
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    batch_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(None, DATA_AXIS))
    with jax.set_mesh(mesh):
        state = jax.jit(
            functools.partial(step.create_state, frozen, spec), out_shardings=replicated
        )(jax.random.PRNGKey(config.seed))
        step_fn = jax.jit(
            functools.partial(step.train_step, config=frozen),
            in_shardings=(replicated, batch_sharding),
            out_shardings=(replicated, replicated),
        )
        batches = dataset.iterate(0)
        history = []
        for _ in range(num_steps):
            images = next(batches)['image']
            images = images.reshape(config.n_dis, -1, *spec.shape)
            state, metrics = step_fn(state, {'image': jax.device_put(images, batch_sharding)})
            history.append(jax.device_get(metrics))
    return jax.device_get(state), history


def load_config(name: str, argument: str | None = None):
    """``configs/<name>``'s ``get_config([argument])``."""
    path = os.path.join(ROOT, 'configs', name)
    spec = importlib.util.spec_from_file_location('config_under_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config() if argument is None else module.get_config(argument)


MAIN_ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}


def run_main(*args, timeout=300):
    """``python main.py ARGS`` in the repository root, on the CPU."""
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, 'main.py'), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=MAIN_ENV,
        cwd=ROOT,
    )


def start_main_until_step(*args, step: int = 0) -> subprocess.Popen:
    """Starts ``python main.py ARGS`` (on the CPU) and returns it once it has logged a
    training step ≥ ``step``; its stderr is a pipe, read up to that line."""
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, 'main.py'), *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=MAIN_ENV,
    )
    for line in process.stderr:
        logged = re.search(r'\] \[(\d+)\] d_', line)
        if logged and int(logged.group(1)) >= step:
            break
    return process


def assert_one_line_error(result, pattern):
    """The command failed with one ``error: ...`` line containing ``pattern``, and no
    traceback."""
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and pattern in last, result.stderr[-3000:]


def checkpoint_leaves(path) -> dict[str, np.ndarray]:
    """{key path: array} of the Orbax checkpoint at ``path`` (a step directory), read
    without a target structure."""
    tree = ocp.StandardCheckpointer().restore(os.path.join(path, 'default'))
    return {
        jax.tree_util.keystr(k): np.asarray(v)
        for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def flat_leaves(tree) -> dict[str, np.ndarray]:
    """``tree``'s leaves as numpy arrays, keyed by their paths (``.generator.params…``)."""
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def assert_trees_equal(a, b):
    """Two pytrees of the same structure, equal leaf by leaf (bitwise)."""
    jax.tree.map(np.testing.assert_array_equal, a, b)


def sqrtm_frechet(mu1, sigma1, mu2, sigma2):
    """pytorch-fid's Fréchet distance, the reference for nssgan's: scipy.linalg.sqrtm of
    the product (with its eps-offset retry when that is singular), real part."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = 1e-6 * np.eye(len(sigma1))
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    diff = mu1 - mu2
    return diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean.real)
