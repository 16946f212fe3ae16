"""InceptionV3 as used for FID: a Flax port of pytorch-fid's FID Inception.

pytorch-fid (mseitzer/pytorch-fid, ``src/pytorch_fid/inception.py``) builds
torchvision's ``Inception3(num_classes=1008, aux_logits=False)``, replaces
Mixed_5b..5d, 6b..6e, 7b and 7c by its ``FIDInceptionA``, ``FIDInceptionC``,
``FIDInceptionE_1`` and ``FIDInceptionE_2`` blocks, and loads the weights
``pt_inception-2015-12-05-6726825d.pth`` (TensorFlow's 2015-12-05 Inception,
the network of the original TF FID code). This module reproduces it:

* input: NHWC float images **in [-1, 1]** (nssgan's data range). pytorch-fid
  takes [0, 1] and computes ``2 * x - 1`` after the resize; bilinear
  interpolation is affine with weights summing to 1, so resizing the [-1, 1]
  image first is the same map (up to float rounding, ~1e-7). Values are not
  clipped. One channel is repeated to RGB (as PIL's ``convert('RGB')`` does in
  pytorch-fid's data loader); other channel counts are refused.
* resize to 299x299 like ``F.interpolate(x, size=(299, 299), mode='bilinear',
  align_corners=False)``: half-pixel centres, source index clamped at 0, two
  taps, **no antialiasing when downsampling**. ``jax.image.resize(...,
  'bilinear')`` agrees with it when upsampling but antialiases (widens the
  kernel) when downsampling, so `resize_bilinear` applies one hand-built
  interpolation matrix per axis, computed in float32 exactly as PyTorch's CPU
  kernel computes its indices and weights.
* the stem (Conv2d_1a_3x3 .. maxpool2), Mixed_5b..7c with the FID blocks:
  the 3x3 average pools of FIDInceptionA / FIDInceptionC / FIDInceptionE_1
  exclude the zero padding from the count (``count_include_pad=False``, as
  TensorFlow's pool does), FIDInceptionE_2 (Mixed_7c) uses a 3x3 *max* pool
  instead; Mixed_6a and Mixed_7a are torchvision's InceptionB / InceptionD.
  Every convolution is torchvision's BasicConv2d: conv without bias,
  BatchNorm (inference, running statistics, eps = 1e-3), ReLU.
* outputs: the pool3 features [N, 2048] (global average pool of Mixed_7c,
  pytorch-fid's block 3, the FID features) and the logits [N, 1008] of the
  weights' fc layer (Inception Score uses their softmax; dropout is the
  identity at inference).

Convolutions, the fc layer and the resize run at ``lax.Precision.HIGHEST``,
so GPUs and TPUs do not fall back to TF32 / bfloat16 passes for these
float32 products.

Weights: convert pytorch-fid's file once with

    python -m nssgan.evaluation.convert_inception \\
        --weights pt_inception-2015-12-05-6726825d.pth --out inception_fid.msgpack

and load it with `load_inception`. Nothing is downloaded.

The Flax parameter tree mirrors the PyTorch module names (``Mixed_5b /
branch5x5_1 / conv / kernel``), which is what the converter relies on.
"""

import os

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization, traverse_util

INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_CLASSES = 1008
BN_EPSILON = 1e-3
CHECKPOINT_FORMAT = 'nssgan-inception-fid'
CHECKPOINT_VERSION = 1
PT_WEIGHTS_NAME = 'pt_inception-2015-12-05-6726825d.pth'
DEFAULT_BATCH_SIZE = 50

_HIGHEST = jax.lax.Precision.HIGHEST


def converter_command(out: str = 'inception_fid.msgpack') -> str:
    """The shell command that makes a checkpoint for `load_inception`."""
    return f'python -m nssgan.evaluation.convert_inception --weights {PT_WEIGHTS_NAME} --out {out}'


# --------------------------------------------------------------------------
# Resize


def bilinear_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out_size, in_size] float32 matrix of torch's bilinear, align_corners=False.

    Mirrors the index and weight computation of PyTorch's CPU upsampling
    kernel (float32 arithmetic, the fused multiply-add included): scale =
    in / out, src = scale * (dst + 0.5) - 0.5 clamped at 0, i0 = floor(src),
    i1 = min(i0 + 1, in - 1), weights (1 - frac, frac); the matrix equals the
    one torch 2.13 CPU applies, bit for bit. No antialiasing, whatever the
    scale.
    """
    if in_size < 1 or out_size < 1:
        raise ValueError(f'sizes must be positive; got {in_size} -> {out_size}.')
    scale = np.float32(in_size) / np.float32(out_size)
    dst = np.arange(out_size, dtype=np.float32) + np.float32(0.5)
    # torch's compiled kernel contracts scale * (dst + 0.5) - 0.5 into one
    # fused multiply-add (a single rounding): the float64 product of two
    # float32 numbers and the subtraction of 0.5 are exact, then one rounding.
    src = (np.float64(scale) * dst.astype(np.float64) - 0.5).astype(np.float32)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    frac = (src - i0.astype(np.float32)).astype(np.float32)
    matrix = np.zeros((out_size, in_size), np.float32)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, i0), np.float32(1.0) - frac)
    np.add.at(matrix, (rows, i1), frac)
    return matrix


def resize_bilinear(images, size=(INPUT_SIZE, INPUT_SIZE)):
    """NHWC images to ``size`` = (H', W') as torch's bilinear, align_corners=False.

    Separable: out = M_h @ x @ M_w^T per image and channel, at HIGHEST
    precision. A side that already has its target size is left untouched
    (torch's matrix would be the identity).
    """
    images = jnp.asarray(images)
    _, h, w, _ = images.shape
    out_h, out_w = size
    x = images
    if h != out_h:
        m = jnp.asarray(bilinear_matrix(h, out_h), x.dtype)
        x = jnp.einsum('oh,nhwc->nowc', m, x, precision=_HIGHEST)
    if w != out_w:
        m = jnp.asarray(bilinear_matrix(w, out_w), x.dtype)
        x = jnp.einsum('ow,nhwc->nhoc', m, x, precision=_HIGHEST)
    return x


# --------------------------------------------------------------------------
# Network


def _pad(p):
    ph, pw = (p, p) if isinstance(p, int) else p
    return ((ph, ph), (pw, pw))


def _avg_pool_exclude_pad(x):
    """3x3, stride 1, padding 1, ``count_include_pad=False``."""
    return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_valid(x):
    """3x3, stride 2, no padding (torch MaxPool2d(3, stride=2))."""
    return nn.max_pool(x, (3, 3), strides=(2, 2), padding='VALID')


class BasicConv2d(nn.Module):
    """torchvision's BasicConv2d: conv (no bias) -> BatchNorm(eps 1e-3) -> ReLU."""

    features: int
    kernel_size: tuple = (1, 1)
    strides: tuple = (1, 1)
    padding: object = 0

    @nn.compact
    def __call__(self, x):
        kernel = self.kernel_size
        if isinstance(kernel, int):
            kernel = (kernel, kernel)
        x = nn.Conv(
            self.features,
            tuple(kernel),
            strides=tuple(self.strides),
            padding=_pad(self.padding),
            use_bias=False,
            precision=_HIGHEST,
            name='conv',
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, name='bn')(x)
        return nn.relu(x)


class FIDInceptionA(nn.Module):
    """Mixed_5b/5c/5d: InceptionA with an average pool that excludes padding."""

    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv2d(64, 1, name='branch1x1')(x)
        b5 = BasicConv2d(48, 1, name='branch5x5_1')(x)
        b5 = BasicConv2d(64, 5, padding=2, name='branch5x5_2')(b5)
        b3 = BasicConv2d(64, 1, name='branch3x3dbl_1')(x)
        b3 = BasicConv2d(96, 3, padding=1, name='branch3x3dbl_2')(b3)
        b3 = BasicConv2d(96, 3, padding=1, name='branch3x3dbl_3')(b3)
        bp = BasicConv2d(self.pool_features, 1, name='branch_pool')(_avg_pool_exclude_pad(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    """Mixed_6a (torchvision's InceptionB, unchanged by pytorch-fid)."""

    @nn.compact
    def __call__(self, x):
        b3 = BasicConv2d(384, 3, strides=(2, 2), name='branch3x3')(x)
        bd = BasicConv2d(64, 1, name='branch3x3dbl_1')(x)
        bd = BasicConv2d(96, 3, padding=1, name='branch3x3dbl_2')(bd)
        bd = BasicConv2d(96, 3, strides=(2, 2), name='branch3x3dbl_3')(bd)
        return jnp.concatenate([b3, bd, _max_pool_valid(x)], axis=-1)


class FIDInceptionC(nn.Module):
    """Mixed_6b..6e: InceptionC with an average pool that excludes padding."""

    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c7 = self.channels_7x7
        b1 = BasicConv2d(192, 1, name='branch1x1')(x)
        b7 = BasicConv2d(c7, 1, name='branch7x7_1')(x)
        b7 = BasicConv2d(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
        bd = BasicConv2d(c7, 1, name='branch7x7dbl_1')(x)
        bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(bd)
        bd = BasicConv2d(c7, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(bd)
        bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(bd)
        bd = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(bd)
        bp = BasicConv2d(192, 1, name='branch_pool')(_avg_pool_exclude_pad(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    """Mixed_7a (torchvision's InceptionD, unchanged by pytorch-fid)."""

    @nn.compact
    def __call__(self, x):
        b3 = BasicConv2d(192, 1, name='branch3x3_1')(x)
        b3 = BasicConv2d(320, 3, strides=(2, 2), name='branch3x3_2')(b3)
        b7 = BasicConv2d(192, 1, name='branch7x7x3_1')(x)
        b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
        b7 = BasicConv2d(192, 3, strides=(2, 2), name='branch7x7x3_4')(b7)
        return jnp.concatenate([b3, b7, _max_pool_valid(x)], axis=-1)


class FIDInceptionE(nn.Module):
    """Mixed_7b (FIDInceptionE_1, pool 'avg' excluding padding) and Mixed_7c
    (FIDInceptionE_2, pool 'max': pytorch-fid's patch of TF's graph)."""

    pool: str = 'avg'

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv2d(320, 1, name='branch1x1')(x)
        b3 = BasicConv2d(384, 1, name='branch3x3_1')(x)
        b3 = jnp.concatenate(
            [
                BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
                BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3),
            ],
            axis=-1,
        )
        bd = BasicConv2d(448, 1, name='branch3x3dbl_1')(x)
        bd = BasicConv2d(384, 3, padding=1, name='branch3x3dbl_2')(bd)
        bd = jnp.concatenate(
            [
                BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(bd),
                BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(bd),
            ],
            axis=-1,
        )
        if self.pool == 'avg':
            pooled = _avg_pool_exclude_pad(x)
        elif self.pool == 'max':
            # Padding enters the max as -inf, like torch's max_pool2d.
            pooled = nn.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))
        else:
            raise ValueError(f"pool must be 'avg' or 'max'; got {self.pool!r}.")
        bp = BasicConv2d(192, 1, name='branch_pool')(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
    """pytorch-fid's FID Inception on 299x299 NHWC inputs already in [-1, 1].

    Returns (pool3 features [N, 2048], logits [N, 1008]). Use
    `features_and_logits` for images of any size (it resizes first).
    """

    num_classes: int = NUM_CLASSES

    @nn.compact
    def __call__(self, x):
        x = BasicConv2d(32, 3, strides=(2, 2), name='Conv2d_1a_3x3')(x)
        x = BasicConv2d(32, 3, name='Conv2d_2a_3x3')(x)
        x = BasicConv2d(64, 3, padding=1, name='Conv2d_2b_3x3')(x)
        x = _max_pool_valid(x)
        x = BasicConv2d(80, 1, name='Conv2d_3b_1x1')(x)
        x = BasicConv2d(192, 3, name='Conv2d_4a_3x3')(x)
        x = _max_pool_valid(x)
        x = FIDInceptionA(32, name='Mixed_5b')(x)
        x = FIDInceptionA(64, name='Mixed_5c')(x)
        x = FIDInceptionA(64, name='Mixed_5d')(x)
        x = InceptionB(name='Mixed_6a')(x)
        x = FIDInceptionC(128, name='Mixed_6b')(x)
        x = FIDInceptionC(160, name='Mixed_6c')(x)
        x = FIDInceptionC(160, name='Mixed_6d')(x)
        x = FIDInceptionC(192, name='Mixed_6e')(x)
        x = InceptionD(name='Mixed_7a')(x)
        x = FIDInceptionE('avg', name='Mixed_7b')(x)
        x = FIDInceptionE('max', name='Mixed_7c')(x)
        features = jnp.mean(x, axis=(1, 2))
        logits = nn.Dense(self.num_classes, precision=_HIGHEST, name='fc')(features)
        return features, logits


MODEL = FIDInceptionV3()


def variable_shapes() -> dict:
    """The variable tree {'params', 'batch_stats'} of the model, as ShapeDtypeStructs."""
    dummy = jax.ShapeDtypeStruct((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32)
    return jax.eval_shape(MODEL.init, jax.random.key(0), dummy)


def init_random(key) -> dict:
    """Randomly initialised variables (for tests; FID needs the converted weights)."""
    return MODEL.init(key, jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32))


# --------------------------------------------------------------------------
# Forward


def _check_images(images):
    if images.ndim != 4:
        raise ValueError(f'images must be NHWC [N, H, W, C]; got shape {images.shape}.')
    if not jnp.issubdtype(images.dtype, jnp.floating):
        raise ValueError(
            f'images must be floating point in [-1, 1]; got dtype '
            f'{images.dtype} (map uint8 with x / 127.5 - 1).'
        )
    if images.shape[-1] not in (1, 3):
        raise ValueError(f'images must have 1 or 3 channels; got {images.shape[-1]}.')


@jax.jit
def _prepare(images):
    x = images.astype(jnp.float32)
    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    return resize_bilinear(x, (INPUT_SIZE, INPUT_SIZE))


@jax.jit
def _network(variables, x):
    return MODEL.apply(variables, x)


def features_and_logits(variables, images):
    """(pool3 features [N, 2048], logits [N, 1008]) of NHWC images in [-1, 1].

    ``variables`` from `load_inception`. Images of any size are resized to
    299x299 as pytorch-fid does; 1-channel images are repeated to RGB. Made of
    jax operations only, so it can be used inside `jax.jit` / `jax.vmap`; by
    itself it runs a jitted resize and a jitted 299-px network, so inputs of
    different resolutions (same batch size) share one compiled network.
    """
    images = jnp.asarray(images)
    _check_images(images)
    return _network(variables, _prepare(images))


def batched_features_and_logits(variables, images, batch_size: int = DEFAULT_BATCH_SIZE):
    """`features_and_logits` over a large [N, H, W, C] array, ``batch_size`` at a time.

    The last chunk is padded to ``batch_size`` (one compiled shape); returns
    numpy float32 arrays (features [N, 2048], logits [N, 1008]).
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1; got {batch_size}.')
    n = len(images)
    if n == 0:
        return (np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, NUM_CLASSES), np.float32))
    batch_size = min(batch_size, n)
    features, logits = [], []
    for start in range(0, n, batch_size):
        chunk = np.asarray(images[start : start + batch_size])
        count = len(chunk)
        if count < batch_size:
            pad = np.zeros((batch_size - count,) + chunk.shape[1:], chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        chunk_features, chunk_logits = features_and_logits(variables, chunk)
        features.append(np.asarray(chunk_features)[:count])
        logits.append(np.asarray(chunk_logits)[:count])
    return np.concatenate(features), np.concatenate(logits)


# --------------------------------------------------------------------------
# Checkpoint


def save_inception(variables, path: str) -> None:
    """Write converted variables as a flax msgpack checkpoint (no pickle)."""
    state = {
        'format': CHECKPOINT_FORMAT,
        'version': CHECKPOINT_VERSION,
        'variables': jax.tree_util.tree_map(
            lambda a: np.asarray(a, np.float32), flax.core.unfreeze(variables)
        ),
    }
    data = serialization.msgpack_serialize(state)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def check_variables(variables) -> None:
    """Raise ValueError naming every missing, unexpected or mis-shaped entry."""
    expected = {
        k: v.shape for k, v in traverse_util.flatten_dict(variable_shapes(), sep='/').items()
    }
    got = {k: np.shape(v) for k, v in traverse_util.flatten_dict(variables, sep='/').items()}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    shapes = sorted(
        f'{k} {got[k]} != {expected[k]}'
        for k in set(expected) & set(got)
        if tuple(got[k]) != tuple(expected[k])
    )
    problems = []
    if missing:
        problems.append(f'missing {missing}')
    if unexpected:
        problems.append(f'unexpected {unexpected}')
    if shapes:
        problems.append(f'wrong shapes {shapes}')
    if problems:
        raise ValueError('FID Inception variables do not match the model: ' + '; '.join(problems))


def _read_checkpoint(path: str) -> dict:
    with open(path, 'rb') as f:
        data = f.read()
    try:
        state = serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises several types on garbage
        raise ValueError(
            f'{path} is not a converted FID Inception checkpoint ({type(e).__name__}); '
            f'make one with: {converter_command(path)}'
        ) from None
    if (
        not isinstance(state, dict)
        or state.get('format') != CHECKPOINT_FORMAT
        or 'variables' not in state
    ):
        raise ValueError(
            f'{path} is not a converted FID Inception checkpoint (no '
            f'{CHECKPOINT_FORMAT!r} marker); make one with: {converter_command(path)}'
        )
    if state.get('version') != CHECKPOINT_VERSION:
        raise ValueError(
            f'{path} has checkpoint version {state.get("version")}, expected '
            f'{CHECKPOINT_VERSION}; re-make it with: {converter_command(path)}'
        )
    variables = state['variables']
    try:
        check_variables(variables)
    except ValueError as e:
        raise ValueError(f'{path}: {e}; re-make it with: {converter_command(path)}') from None
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), variables)


def load_inception(path: str) -> dict:
    """Variables {'params', 'batch_stats'} of a checkpoint made by the converter.

    Raises FileNotFoundError / ValueError with a one-line message naming the
    converter command when the file is missing or not such a checkpoint.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"FID Inception weights not found at {path!r}; convert pytorch-fid's "
            f'{PT_WEIGHTS_NAME} once (nothing is downloaded) with: {converter_command(path)}'
        )
    return _read_checkpoint(path)
