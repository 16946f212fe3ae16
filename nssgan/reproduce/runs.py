"""A claim's training runs: each config over the budget's seeds, scored at the end."""

import copy
import dataclasses
import os

import jax
import ml_collections
import numpy as np

from nssgan import compare, sampling
from nssgan.forward import sample_latent
from nssgan.state import GANState


@dataclasses.dataclass
class Run:
    """One trained seed: its final state, its config, and its scores."""

    seed: int
    config: ml_collections.ConfigDict
    state: GANState
    scores: dict[str, float]


def train_seeds(name: str, config, budget, out: str, *, num_samples: int) -> list[Run]:
    """``config`` trained once per seed of ``budget`` in ``out/<name>/seed<k>``.

    Logs four times per run and writes samples and a checkpoint only at the end.
    """
    runs = []
    for seed in budget.seeds:
        seeded = copy.deepcopy(config)
        seeded.seed = seed
        steps = seeded.num_train_steps
        seeded.log_every = max(1, steps // 4)
        seeded.sample_every = seeded.checkpoint_every = steps
        print(f'[{name} seed {seed}] {steps} steps', flush=True)
        workdir = os.path.join(out, name, f'seed{seed}')
        state, scores = compare.train_and_score(seeded, workdir, num_samples)
        runs.append(Run(seed, seeded, state, scores))
    return runs


def scores_of(runs: list[Run], metric: str) -> list[float]:
    return [run.scores[metric] for run in runs]


def samples(run: Run, n: int) -> np.ndarray:
    """``n`` samples of the run's final generator, from latents of its own seed."""
    z = sample_latent(jax.random.PRNGKey(run.seed + 100), n, run.config.model.latent_dim)
    return np.asarray(sampling.generate(run.state, z, ml_collections.FrozenConfigDict(run.config)))


CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), 'configs')


def config_file(name: str, argument: str | None = None):
    """``configs/<name>``'s config (the repository's config files, beside the package)."""
    path = os.path.join(CONFIGS, name)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f'{path} is missing: run the reproduction from a checkout of the repository '
            '(pip install -e .), whose configs/ it reads.'
        )
    return compare.load_config(f'{path}:{argument}' if argument else path)
