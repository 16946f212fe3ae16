"""Parity of nssgan.evaluation.inception with pytorch-fid's FID Inception.

The reference (tests/pytorch_fid_reference.py) restates torchvision's
Inception3 blocks and pytorch-fid's FID patches and forward in PyTorch. It
gets random weights and random BatchNorm statistics, its state dict (the key
names of pt_inception-2015-12-05-6726825d.pth) goes through the converter's
command line, and pool3 features and logits must agree to 1e-4 relative
error, for images upsampled (32 px) and downsampled (400 px) to 299 px.
"""

import os
import time

import numpy as np
import pytest
from flax import traverse_util

from nssgan.evaluation import convert_inception, inception

RTOL = 1e-4


def _rel_err(got, want) -> float:
    """max |got - want| / max |want| (the scale of the whole output)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """(torch InceptionV3 wrapper, its state dict, .pth path, converted .msgpack path)."""
    torch = pytest.importorskip('torch')
    import pytorch_fid_reference as ref

    tmp = tmp_path_factory.mktemp('inception')
    with torch.random.fork_rng():
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(1)
        model = ref.Inception3()
        # BN statistics from 160-px inputs: cheaper than 299 px, as O(1).
        calibration = torch.rand(2, 3, 160, 160, generator=generator) * 2 - 1
        ref.randomize_(model, calibration, generator)
    model.eval()
    state_dict = model.state_dict()
    pth = str(tmp / 'pt_inception-random.pth')
    torch.save(state_dict, pth)
    out = str(tmp / 'inception_fid.msgpack')
    assert convert_inception.main(['--weights', pth, '--out', out]) == 0
    return ref.InceptionV3(model).eval(), state_dict, pth, out


@pytest.mark.parametrize(
    'in_hw, out_hw',
    [
        ((32, 32), (299, 299)),  # upsampling
        ((64, 48), (299, 299)),  # upsampling, non-square
        ((400, 512), (299, 299)),  # downsampling (no antialiasing in torch)
        ((17, 1000), (5, 299)),  # down and up, odd factors
        ((7, 7), (7, 7)),  # identity
    ],
)
def test_resize_matches_torch_interpolate(in_hw, out_hw):
    torch = pytest.importorskip('torch')
    import torch.nn.functional as F

    x = np.random.default_rng(0).uniform(-1, 1, (2,) + in_hw + (3,)).astype(np.float32)
    want = (
        F.interpolate(
            torch.from_numpy(x).permute(0, 3, 1, 2),
            size=out_hw,
            mode='bilinear',
            align_corners=False,
        )
        .permute(0, 2, 3, 1)
        .numpy()
    )
    got = np.asarray(inception.resize_bilinear(x, out_hw))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


@pytest.mark.parametrize('n, m', [(32, 299), (64, 299), (400, 299), (1000, 299), (13, 5)])
def test_bilinear_matrix_is_torchs(n, m):
    """The interpolation weights equal torch's bit for bit (one-hot inputs)."""
    torch = pytest.importorskip('torch')
    import torch.nn.functional as F

    eye = torch.eye(n).reshape(n, 1, n, 1)
    want = (
        F.interpolate(eye, size=(m, 1), mode='bilinear', align_corners=False)[:, 0, :, 0].numpy().T
    )
    np.testing.assert_array_equal(inception.bilinear_matrix(n, m), want)


def test_features_and_logits_match_pytorch_fid(reference):
    torch = pytest.importorskip('torch')
    model, _, _, out = reference
    variables = inception.load_inception(out)
    rng = np.random.default_rng(0)
    small = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    large = rng.uniform(-1, 1, (3, 400, 400, 3)).astype(np.float32)

    def torch_forward(images):  # pytorch-fid takes NCHW in [0, 1]
        x = torch.from_numpy((images + 1) / 2).permute(0, 3, 1, 2)
        with torch.no_grad():
            pool3, logits = model(x)
        return pool3[:, :, 0, 0].numpy(), logits.numpy()

    start = time.perf_counter()
    features, logits = inception.features_and_logits(variables, small)
    # 3 images in chunks of 2 (the last one padded): same compiled network.
    features_l, logits_l = inception.batched_features_and_logits(variables, large, batch_size=2)
    elapsed = time.perf_counter() - start

    errors = {}
    for name, (feats, lgts), images in [
        ('32px', (features, logits), small),
        ('400px', (features_l, logits_l), large),
    ]:
        want_f, want_l = torch_forward(images)
        assert feats.shape == want_f.shape == (len(images), inception.FEATURE_DIM)
        assert lgts.shape == want_l.shape == (len(images), inception.NUM_CLASSES)
        # the random network is not degenerate
        assert np.std(want_f) > 1e-2 * np.mean(np.abs(want_f)) and np.all(np.isfinite(want_l))
        errors[name] = (_rel_err(feats, want_f), _rel_err(lgts, want_l))
    print(f'\nrelative errors (features, logits): {errors}; JAX time {elapsed:.1f} s')
    for f_err, l_err in errors.values():
        assert f_err < RTOL and l_err < RTOL, errors


def test_features_and_logits_under_jit_and_gray(reference):
    """Jittable as a whole; one channel is the same as its RGB repetition."""
    import jax

    variables = inception.load_inception(reference[3])
    gray = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    f_jit, l_jit = jax.jit(inception.features_and_logits)(variables, gray)
    f_rgb, l_rgb = inception.features_and_logits(variables, np.repeat(gray, 3, axis=-1))
    np.testing.assert_allclose(f_jit, f_rgb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l_jit, l_rgb, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='floating point'):
        inception.features_and_logits(variables, np.zeros((1, 8, 8, 3), np.uint8))


def test_converter_maps_every_tensor(reference):
    _, state_dict, _, out = reference
    variables = inception.load_inception(out)
    conv = state_dict['Mixed_6b.branch7x7_2.conv.weight'].numpy()  # [O, I, 1, 7]
    np.testing.assert_array_equal(
        variables['params']['Mixed_6b']['branch7x7_2']['conv']['kernel'], conv.transpose(2, 3, 1, 0)
    )
    np.testing.assert_array_equal(
        variables['params']['fc']['kernel'], state_dict['fc.weight'].numpy().T
    )
    np.testing.assert_array_equal(
        variables['batch_stats']['Mixed_7c']['branch_pool']['bn']['var'],
        state_dict['Mixed_7c.branch_pool.bn.running_var'].numpy(),
    )
    np.testing.assert_array_equal(
        variables['params']['Conv2d_1a_3x3']['bn']['scale'],
        state_dict['Conv2d_1a_3x3.bn.weight'].numpy(),
    )
    used = [k for k in state_dict if not k.endswith('num_batches_tracked')]
    assert len(traverse_util.flatten_dict(variables)) == len(used) == 472


def test_converter_refuses_bad_state_dicts(reference, tmp_path, capsys):
    torch = pytest.importorskip('torch')
    _, state_dict, _, _ = reference

    missing = dict(state_dict)
    del missing['Mixed_5c.branch5x5_2.bn.running_var']
    pth = str(tmp_path / 'missing.pth')
    torch.save(missing, pth)
    out = str(tmp_path / 'out.msgpack')
    assert convert_inception.main(['--weights', pth, '--out', out]) == 1
    err = capsys.readouterr().err
    assert '1 missing key(s): Mixed_5c.branch5x5_2.bn.running_var' in err
    assert not os.path.exists(out)

    extra = dict(state_dict)
    extra['AuxLogits.fc.weight'] = torch.zeros(1008, 768)
    extra['fc.weight'] = torch.zeros(1000, 2048)
    with pytest.raises(convert_inception.ConversionError) as e:
        convert_inception.convert_state_dict(extra)
    assert 'unexpected key(s): AuxLogits.fc.weight' in str(e.value)
    assert 'fc.weight [1000, 2048] (expected [1008, 2048])' in str(e.value)

    # Old files without num_batches_tracked convert.
    old = {k: v for k, v in state_dict.items() if not k.endswith('num_batches_tracked')}
    convert_inception.convert_state_dict(old)


class _NotATensor:
    pass


def test_converter_does_not_unpickle_objects(tmp_path, capsys):
    torch = pytest.importorskip('torch')
    pth = str(tmp_path / 'code.pth')
    torch.save({'fc.weight': _NotATensor()}, pth)
    assert convert_inception.main(['--weights', pth, '--out', str(tmp_path / 'x')]) == 1
    assert 'weights_only=True' in capsys.readouterr().err


def test_load_inception_errors_name_the_converter(tmp_path):
    missing = str(tmp_path / 'nowhere.msgpack')
    with pytest.raises(FileNotFoundError) as e:
        inception.load_inception(missing)
    message = str(e.value)
    assert '\n' not in message
    assert (
        f'python -m nssgan.evaluation.convert_inception --weights '
        f'pt_inception-2015-12-05-6726825d.pth --out {missing}' in message
    )

    garbage = tmp_path / 'garbage.msgpack'
    garbage.write_bytes(b'\x00not msgpack at all' * 10)
    with pytest.raises(ValueError, match='convert_inception') as e:
        inception.load_inception(str(garbage))
    assert '\n' not in str(e.value)

    from flax import serialization

    other = tmp_path / 'other.msgpack'
    other.write_bytes(serialization.msgpack_serialize({'params': {'w': np.zeros(3)}}))
    with pytest.raises(ValueError, match='not a converted FID Inception checkpoint'):
        inception.load_inception(str(other))
