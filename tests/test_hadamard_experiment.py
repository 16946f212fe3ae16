"""The Hadamard experiment's statistics from a (very short) trained run."""

import numpy as np

from nssgan import hadamard_experiment, train
from nssgan.paper_setups import hadamard_config


def test_statistics_of_a_trained_run(tmp_path):
    config = hadamard_config('ss')
    config.num_train_steps = 4
    config.model.mlp_hidden = (16,)
    config.log_every = config.sample_every = config.checkpoint_every = 4
    train.train_and_evaluate(config, str(tmp_path))
    stats = hadamard_experiment.coefficient_statistics(config, str(tmp_path), num_samples=4000)
    # Reals: α ~ U(−1, 1) exactly recovered, std 1/√3 (standard error ≈ 0.005).
    np.testing.assert_allclose(stats['real_std'], 1 / np.sqrt(3), atol=0.03)
    assert stats['real_residual'] < 1e-8
    # SS at t = 8 leaves B1 (constant) alone and damps the highest frequencies.
    np.testing.assert_allclose(stats['projected_real_std'][0], stats['real_std'][0], rtol=1e-4)
    assert np.all(stats['projected_real_std'][4:] < 0.2 * stats['real_std'][4:])
    assert stats['fake_std'].shape == (8,)
    path = hadamard_experiment.plot({'ss': stats}, str(tmp_path / 'h.png'))
    assert (tmp_path / 'h.png').stat().st_size > 1000 and path.endswith('h.png')
