"""A small CNN digit classifier, trained once per resolution and cached on disk.

It scores generated `digits` and `color_digits` without Inception weights: its
softmax gives each sample's class (mode), its penultimate layer the feature
space of a Fréchet distance (`nssgan.evaluation.digits`).

Data: scikit-learn's 1,797 digits as `nssgan.data` serves them
(`nssgan.data.digits.load_digits(image_size)`: bicubic from 8x8, in [-1, 1]),
split per class into 80% training and 20% held-out test images (1,438 / 359)
by a fixed permutation.

Network (any image_size S): 3x3 convolutions with ReLU, Conv(16, stride 2 if
S > 8), then Conv(32, stride 2) while the side exceeds 8, Conv(32), Conv(64,
stride 2) to at most 4x4, Dense(128), Dense(64) = the features (after ReLU,
like Inception's pool3), Dense(10) = the logits.

Training: He-normal initial kernels, zero biases; Adam (3e-3, cosine decay to
0) on the softmax cross-entropy, batch 64, 30 epochs, random shifts of up to
S/8 px (one source pixel) with -1 (black) fill; seed 0 and a fixed batch
order, so the same platform gives the same weights. 10-15 s at 32 px on 2 busy
CPU cores (test accuracy 0.986), 5 s at 8 px, 30 s at 64 px.

Cache: ``<cache_dir>/digit_classifier_<CLASSIFIER_VERSION>_<S>px.npz`` (the
weights and the test accuracy), with cache_dir the argument, else
$NSSGAN_CACHE, else ~/.cache/nssgan. Change `CLASSIFIER_VERSION` with the
network, the data or the training, so stale files are never read.
"""

import dataclasses
import functools
import math
import os
import tempfile
import warnings
import zipfile

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

from nssgan.data import digits as data_digits

CLASSIFIER_VERSION = 'v1'
NUM_CLASSES = 10
FEATURE_DIM = 64
TEST_FRACTION = 0.2
SEED = 0
BATCH_SIZE = 64
NUM_EPOCHS = 30
LEARNING_RATE = 3e-3
PREDICT_BATCH = 512


class DigitCNN(nn.Module):
    """Images [N, S, S, 1] in [-1, 1] -> (logits [N, 10], features [N, 64])."""

    num_classes: int = NUM_CLASSES
    feature_dim: int = FEATURE_DIM

    @nn.compact
    def __call__(self, x):
        side = x.shape[1]

        def conv(x, channels, stride):
            return nn.relu(nn.Conv(channels, (3, 3), strides=stride)(x))

        stride = 2 if side > 8 else 1
        x = conv(x, 16, stride)
        side = math.ceil(side / stride)
        while side > 8:
            x = conv(x, 32, 2)
            side = math.ceil(side / 2)
        x = conv(x, 32, 1)
        x = conv(x, 64, 2)
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(128)(x))
        features = nn.relu(nn.Dense(self.feature_dim)(x))
        return nn.Dense(self.num_classes)(features), features


def default_cache_dir() -> str:
    """$NSSGAN_CACHE, else ~/.cache/nssgan."""
    return os.environ.get('NSSGAN_CACHE') or os.path.join(
        os.path.expanduser('~'), '.cache', 'nssgan'
    )


def cache_path(image_size: int, cache_dir: str | None = None) -> str:
    """Where the classifier for ``image_size`` px is cached."""
    return os.path.join(
        cache_dir or default_cache_dir(),
        f'digit_classifier_{CLASSIFIER_VERSION}_{image_size}px.npz',
    )


def train_test_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: per class, a fixed TEST_FRACTION is held out."""
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for c in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = round(TEST_FRACTION * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _param_shapes(image_size: int) -> dict:
    shapes = jax.eval_shape(
        DigitCNN().init, jax.random.PRNGKey(0), jnp.zeros((1, image_size, image_size, 1))
    )['params']
    return {k: v.shape for k, v in traverse_util.flatten_dict(shapes).items()}


def init_params(image_size: int, rng: np.random.Generator) -> dict:
    """He-normal kernels (std sqrt(2 / fan_in)) and zero biases, drawn with NumPy.

    (Flax's own ``init`` compiles the whole forward pass: seconds on a busy CPU.)
    """
    params = {}
    for key, shape in _param_shapes(image_size).items():
        if key[-1] == 'kernel':
            fan_in = int(np.prod(shape[:-1]))
            value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        else:
            value = np.zeros(shape)
        params[key] = value.astype(np.float32)
    return traverse_util.unflatten_dict(params)


def _shift(images: jax.Array, shifts: jax.Array) -> jax.Array:
    """Translates each image by its integer (dy, dx), filling with -1 (black)."""
    pad = images.shape[1]

    def one(image, shift):
        padded = jnp.pad(image, ((pad, pad), (pad, pad), (0, 0)), constant_values=-1.0)
        return jax.lax.dynamic_slice(padded, (pad - shift[0], pad - shift[1], 0), image.shape)

    return jax.vmap(one)(images, shifts)


def train_classifier(image_size: int) -> tuple[dict, float]:
    """Trains the classifier at ``image_size`` px; returns ``(params, test_accuracy)``."""
    images, labels = data_digits.load_digits(image_size)
    train_idx, test_idx = train_test_split(labels)
    x_train = images[train_idx]
    y_train = labels[train_idx]
    steps_per_epoch = len(train_idx) // BATCH_SIZE
    num_steps = NUM_EPOCHS * steps_per_epoch
    rng = np.random.default_rng(SEED)
    batches = np.concatenate(
        [rng.permutation(len(train_idx))[: steps_per_epoch * BATCH_SIZE] for _ in range(NUM_EPOCHS)]
    ).reshape(num_steps, BATCH_SIZE)
    max_shift = max(1, image_size // 8)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(num_steps, BATCH_SIZE, 2))

    model = DigitCNN()
    params = init_params(image_size, rng)
    optimizer = optax.adam(optax.cosine_decay_schedule(LEARNING_RATE, num_steps))

    def loss_fn(params, x, y):
        logits, _ = model.apply({'params': params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def step(params, opt_state, x, y, shift):
        grads = jax.grad(loss_fn)(params, _shift(x, shift), y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    # A Python loop of jitted steps: the same steps under one lax.scan ran
    # about ten times slower on XLA:CPU.
    opt_state = optimizer.init(params)
    for index, shift in zip(batches, shifts):
        params, opt_state = step(params, opt_state, x_train[index], y_train[index], shift)
    params = jax.device_get(params)
    logits, _ = _predict(params, images[test_idx])
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels[test_idx]))
    return params, accuracy


@jax.jit
def _apply(params, images):
    logits, features = DigitCNN().apply({'params': params}, images)
    return jax.nn.log_softmax(logits), features


def _predict(params, images) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities [N, 10] and features [N, 64] (float64), in chunks.

    Chunks hold PREDICT_BATCH images, or the power of two above N for fewer,
    zero-padded, so a handful of shapes is ever compiled.
    """
    images = np.asarray(images, dtype=np.float32)
    n = len(images)
    chunk = min(PREDICT_BATCH, 1 << max(n - 1, 0).bit_length())
    log_probs, features = [], []
    for start in range(0, n, chunk):
        batch = images[start : start + chunk]
        pad = chunk - len(batch)
        if pad:
            batch = np.concatenate([batch, np.zeros((pad,) + batch.shape[1:], batch.dtype)])
        lp, f = jax.device_get(_apply(params, batch))
        log_probs.append(lp[: chunk - pad])
        features.append(f[: chunk - pad])
    if not log_probs:
        return np.zeros((0, NUM_CLASSES)), np.zeros((0, FEATURE_DIM))
    return (
        np.concatenate(log_probs).astype(np.float64),
        np.concatenate(features).astype(np.float64),
    )


@dataclasses.dataclass(frozen=True, eq=False)
class DigitClassifier:
    """A trained classifier at ``image_size`` px and its held-out test accuracy."""

    image_size: int
    params: dict
    test_accuracy: float

    def predict(self, images) -> tuple[np.ndarray, np.ndarray]:
        """``(log_probs [N, 10], features [N, 64])``, float64, for [N, S, S, 1] images."""
        images = np.asarray(images)
        expected = (self.image_size, self.image_size, 1)
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(
                f'the classifier takes [N, {self.image_size}, '
                f'{self.image_size}, 1] images; got {images.shape}.'
            )
        return _predict(self.params, images)

    @functools.cached_property
    def real_features(self) -> np.ndarray:
        """Features [1797, 64] of all the embedded digits at this resolution."""
        return self.predict(data_digits.load_digits(self.image_size)[0])[1]


def _save(path: str, params: dict, accuracy: float) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    arrays = {'/'.join(k): np.asarray(v) for k, v in traverse_util.flatten_dict(params).items()}
    arrays['__test_accuracy__'] = np.float64(accuracy)
    fd, tmp = tempfile.mkstemp(suffix='.npz', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)  # atomic: a concurrent reader sees all or nothing
    except BaseException:
        os.unlink(tmp)
        raise


def _load(path: str, image_size: int) -> tuple[dict, float] | None:
    """The cached weights, or None when the file is missing or does not fit."""
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    accuracy = arrays.pop('__test_accuracy__', None)
    expected = {'/'.join(k): v for k, v in _param_shapes(image_size).items()}
    if accuracy is None or {k: v.shape for k, v in arrays.items()} != expected:
        return None
    params = traverse_util.unflatten_dict({tuple(k.split('/')): v for k, v in arrays.items()})
    return params, float(accuracy)


@functools.cache
def _load_or_train(image_size: int, path: str) -> DigitClassifier:
    loaded = _load(path, image_size)
    if loaded is None:
        params, accuracy = train_classifier(image_size)
        try:
            _save(path, params, accuracy)
        except OSError as e:
            warnings.warn(f'could not cache the digit classifier at {path}: {e}')
    else:
        params, accuracy = loaded
    return DigitClassifier(image_size, params, accuracy)


def load_classifier(image_size: int, *, cache_dir: str | None = None) -> DigitClassifier:
    """The digit classifier for ``image_size`` px: from the cache, else trained and cached.

    Memoized per process and cache file.
    """
    if (
        not isinstance(image_size, (int, np.integer))
        or isinstance(image_size, bool)
        or image_size < 1
    ):
        raise ValueError(f'image_size must be a positive int; got {image_size!r}.')
    path = os.path.abspath(cache_path(int(image_size), cache_dir))
    return _load_or_train(int(image_size), path)
