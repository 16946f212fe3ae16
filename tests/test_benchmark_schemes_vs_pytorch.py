"""benchmarks/schemes_vs_pytorch.py: both sides build the same DCGAN, and every PyTorch
step runs (tiny batch; no timing)."""

import math
import pathlib
import sys

import pytest

torch = pytest.importorskip('torch')
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'))

import schemes_vs_pytorch as bench  # noqa: E402


@pytest.mark.parametrize('d_norm', bench.D_NORMS)
def test_parameter_counts_agree(d_norm):
    assert bench.nssgan_parameter_counts(32, d_norm) == bench.torch_parameter_counts(32, d_norm)


@pytest.mark.parametrize('variant', list(bench.VARIANTS))
def test_pytorch_steps_run(variant):
    run_step = bench.torch_step(variant, 32, 'layer', batch=2)
    for _ in range(2):
        d_loss, g_loss = run_step()
        assert math.isfinite(float(d_loss)) and math.isfinite(float(g_loss))


def test_batch_norm_notes_say_the_math_differs():
    assert any('different penalties' in note for note in bench.math_notes('batch'))
    assert any('same losses' in note for note in bench.math_notes('layer'))
