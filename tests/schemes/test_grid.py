"""Every scheme × every penalty × every loss the pair accepts, generated from the
registries: a few jitted steps stay finite, log what the scheme and penalty log, and
the samples score on the embedded metrics. A new scheme or penalty is covered here
without a test written for it (``toy`` stands for a scheme added as one module and one
registry line). The runs are tiny; without pytest-xdist they are spread over one worker
process per core (``grid_runner``)."""

import concurrent.futures
import itertools
import multiprocessing
import os

import grid_runner
import numpy as np
import pytest

from nssgan import losses, schemes, validation
from nssgan.stabilizers import PENALTIES

SCHEMES = {**schemes.SCHEMES, **grid_runner.EXTRA_SCHEMES}
GRID = list(itertools.product(SCHEMES, ('none', *PENALTIES), losses.LOSSES))
# What the step must log for a scheme beyond D's and G's losses.
SCHEME_METRICS = {
    'nss': {'t'},
    'ss': {'t'},
    'ns': {'t'},
    'roth': {'gamma', 'roth_omega'},
    'lens': {'lens_lambda', 'lens_loss'},
    'noise_tempered': {'mu'},
    'toy': {'fraction', 'toy_penalty', 'toy_updates'},
}


def _refusal(combo):
    """The config check's message when the pair refuses this loss or penalty, else None."""
    try:
        validation.validate(grid_runner.grid_config(*combo), num_devices=1, num_processes=1)
    except validation.ConfigError as e:
        return str(e)
    finally:
        for name in grid_runner.EXTRA_SCHEMES:
            schemes.SCHEMES.pop(name, None)
    return None


@pytest.fixture(scope='module')
def grid_results():
    accepted = [combo for combo in GRID if _refusal(combo) is None]
    if int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1')) > 1:
        # pytest-xdist already keeps every core busy: run here, while the other
        # workers run the other test files.
        return {combo: grid_runner.run_combo(combo) for combo in accepted}
    workers = min(2, os.cpu_count() or 1)
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return dict(zip(accepted, pool.map(grid_runner.run_combo, accepted, chunksize=4)))


@pytest.mark.parametrize('scheme, penalty, loss', GRID, ids=['-'.join(c) for c in GRID])
def test_scheme_penalty_loss_trains_and_evaluates(grid_results, scheme, penalty, loss):
    refusal = _refusal((scheme, penalty, loss))
    if refusal is not None:
        assert 'config.loss=' in refusal or 'config.penalty' in refusal, refusal
        pytest.skip(f'refused: {refusal}')
    result = grid_results[scheme, penalty, loss]
    metrics = result['metrics']
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    assert result['state_finite'] and result['step'] == 2
    expected = {'d_loss', 'g_loss', 'd_real_logit', 'd_fake_logit'}
    expected |= SCHEME_METRICS.get(scheme, set())
    if penalty != 'none':
        expected.add(f'{penalty}_penalty')
    assert expected <= set(metrics), expected - set(metrics)
    assert np.isfinite(result['primary_metric'])


def test_the_grid_covers_every_registered_scheme_and_penalty():
    assert set(schemes.SCHEMES) < {scheme for scheme, _, _ in GRID}
    assert {'none', *PENALTIES} == {penalty for _, penalty, _ in GRID}
