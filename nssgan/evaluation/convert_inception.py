"""Convert pytorch-fid's Inception weights to the Flax checkpoint of `inception`.

    python -m nssgan.evaluation.convert_inception \\
        --weights pt_inception-2015-12-05-6726825d.pth --out inception_fid.msgpack

``--weights`` is the file pytorch-fid downloads (FID_WEIGHTS_URL in its
``inception.py``); get it yourself, nothing here downloads. It is read with
``torch.load(path, map_location='cpu', weights_only=True)``, so a checkpoint
cannot run code (needs PyTorch, e.g. ``pip install -e '.[parity]'``; CPU is
enough). Every tensor is mapped to the Flax tree of `inception.FIDInceptionV3`
by name (torchvision's ``Inception3`` state-dict keys):

    <module>.conv.weight      [O, I, kh, kw] -> params/<module>/conv/kernel [kh, kw, I, O]
    <module>.bn.weight / bias                -> params/<module>/bn/scale / bias
    <module>.bn.running_mean / running_var   -> batch_stats/<module>/bn/mean / var
    fc.weight [1008, 2048] / fc.bias         -> params/fc/kernel [2048, 1008] / bias

``*.num_batches_tracked`` (a training counter, absent from older files) is
ignored. Every other key must be used, every Flax entry filled and every shape
match; otherwise the converter stops with an error that names the keys. The
output is a flax msgpack file (``flax.serialization``; plain arrays, no
pickle) read by `inception.load_inception`.
"""

import argparse
import hashlib
import os
import sys

import numpy as np
from flax import traverse_util

from nssgan.evaluation import inception

# pytorch-fid's file name carries the first 8 hex digits of its SHA-256
# (torch.hub's check_hash convention).
EXPECTED_SHA256_PREFIX = '6726825d'
IGNORED_SUFFIXES = ('.num_batches_tracked',)


class ConversionError(ValueError):
    """The weights file does not match pytorch-fid's FID Inception."""


def _torch_key(path: tuple) -> tuple[str, str]:
    """Flax path -> (torch key, layout), layout in {'conv', 'dense', 'vector'}."""
    collection, *modules, leaf = path
    prefix = '.'.join(modules)
    if collection == 'params':
        if modules[-1] == 'conv' and leaf == 'kernel':
            return f'{prefix}.weight', 'conv'
        if modules[-1] == 'bn' and leaf in ('scale', 'bias'):
            return f'{prefix}.{"weight" if leaf == "scale" else "bias"}', 'vector'
        if modules == ['fc'] and leaf == 'kernel':
            return 'fc.weight', 'dense'
        if modules == ['fc'] and leaf == 'bias':
            return 'fc.bias', 'vector'
    elif collection == 'batch_stats' and modules[-1] == 'bn' and leaf in ('mean', 'var'):
        return f'{prefix}.running_{leaf}', 'vector'
    raise AssertionError(f'no PyTorch name for Flax variable {"/".join(path)}')


def _torch_shape(shape: tuple, layout: str) -> tuple:
    if layout == 'conv':  # HWIO -> OIHW
        kh, kw, i, o = shape
        return (o, i, kh, kw)
    if layout == 'dense':  # [in, out] -> [out, in]
        return tuple(reversed(shape))
    return tuple(shape)


def _to_flax(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == 'conv':
        array = array.transpose(2, 3, 1, 0)
    elif layout == 'dense':
        array = array.T
    return np.ascontiguousarray(array, dtype=np.float32)


def _as_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):  # torch.Tensor
        value = value.detach().cpu()
        if not value.is_floating_point():
            return value.numpy()
        return value.float().numpy()
    return np.asarray(value)


def _short(keys, limit=12) -> str:
    keys = sorted(keys)
    more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def convert_state_dict(state_dict) -> dict:
    """pytorch-fid's state dict (torch tensors or numpy arrays) -> Flax variables.

    Raises ConversionError naming the missing, unused and mis-shaped keys.
    """
    if not hasattr(state_dict, 'keys'):
        raise ConversionError(
            f'expected a state dict (name -> tensor), got {type(state_dict).__name__}.'
        )
    given = {
        k: v
        for k, v in state_dict.items()
        if not (isinstance(k, str) and k.endswith(IGNORED_SUFFIXES))
    }
    expected = traverse_util.flatten_dict(inception.variable_shapes())
    names = {path: _torch_key(path) for path in expected}
    wanted = {key for key, _ in names.values()}
    missing = wanted - set(given)
    unused = set(map(str, given)) - wanted
    wrong = []
    for path, (key, layout) in names.items():
        if key in given:
            want = _torch_shape(expected[path].shape, layout)
            value = given[key]
            got = tuple(value.shape) if hasattr(value, 'shape') else np.shape(value)
            if got != want:
                wrong.append(f'{key} {list(got)} (expected {list(want)})')
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing key(s): {_short(missing)}')
    if unused:
        problems.append(f'{len(unused)} unexpected key(s): {_short(unused)}')
    if wrong:
        problems.append(f'{len(wrong)} wrong shape(s): {_short(wrong)}')
    if problems:
        raise ConversionError(
            "weights do not match pytorch-fid's FID Inception "
            '(torchvision Inception3, num_classes=1008, aux_logits=False + FID blocks): '
            + '; '.join(problems)
        )
    flat = {}
    for path, (key, layout) in names.items():
        array = _as_numpy(given[key])
        if not np.issubdtype(array.dtype, np.floating):
            raise ConversionError(f'{key} has non-float dtype {array.dtype}.')
        if not np.all(np.isfinite(array)):
            raise ConversionError(f'{key} has non-finite values.')
        flat[path] = _to_flax(array, layout)
    return traverse_util.unflatten_dict(flat)


def load_torch_state_dict(path: str):
    """``torch.load(path, map_location='cpu', weights_only=True)``, unwrapped."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'no weights file at {path!r}.')
    try:
        import torch
    except ImportError:
        raise ImportError(
            'the converter reads .pth files with PyTorch: '
            "pip install torch (CPU build is enough), e.g. pip install -e '.[parity]'."
        ) from None
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        # torch's own message suggests weights_only=False; we never do that.
        text = ' '.join(str(e).split())
        marker = 'WeightsUnpickler error:'
        if marker in text:
            detail = text[text.index(marker) + len(marker) :]
            detail = detail.split(' Please use ')[0].split(' Check the documentation')[0]
        else:
            detail = text[:200]
        raise ConversionError(
            f'torch.load(weights_only=True) refused {path!r} ({type(e).__name__}: '
            f'{detail.strip()}); a weights file must hold tensors only, it is never '
            'unpickled with code.'
        ) from None
    if isinstance(state, dict) and 'state_dict' in state and hasattr(state['state_dict'], 'keys'):
        state = state['state_dict']
    return state


def sha256_prefix(path: str, length: int = 8) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:length]


def convert_file(weights: str, out: str) -> dict:
    """Read ``weights`` (.pth), write the Flax checkpoint ``out``; returns the variables."""
    variables = convert_state_dict(load_torch_state_dict(weights))
    inception.check_variables(variables)
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    inception.save_inception(variables, out)
    return variables


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m nssgan.evaluation.convert_inception',
        description="Convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
        'to a Flax msgpack checkpoint for nssgan.evaluation.inception.',
    )
    parser.add_argument(
        '--weights', required=True, help=f'pytorch-fid weights file ({inception.PT_WEIGHTS_NAME})'
    )
    parser.add_argument(
        '--out', required=True, help='output Flax checkpoint, e.g. inception_fid.msgpack'
    )
    args = parser.parse_args(argv)
    try:
        variables = convert_file(args.weights, args.out)
    except (ConversionError, FileNotFoundError, ImportError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    prefix = sha256_prefix(args.weights)
    if prefix != EXPECTED_SHA256_PREFIX:
        print(
            f'warning: {args.weights} has SHA-256 prefix {prefix}, not '
            f"{EXPECTED_SHA256_PREFIX} of pytorch-fid's published weights; FID "
            'values will not be comparable to published ones.',
            file=sys.stderr,
        )
    count = sum(int(np.prod(a.shape)) for a in traverse_util.flatten_dict(variables).values())
    print(f'wrote {args.out}: {count:,} values from {args.weights}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
