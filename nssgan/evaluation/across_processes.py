"""Evaluation split over a run's processes: each generates and embeds its share of the
sample batches; the embeddings are gathered in batch order, so every process scores
exactly the sample set one process would have scored.

Batch ``i`` (of ``config.batch_size`` samples on the run's fixed latents, or of a
dataset's step) belongs to process ``i mod P``. With one process this is the plain,
sequential evaluation.
"""

import functools
import math
from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils

from nssgan import sampling
from nssgan.sharding import make_mesh

Embedded = dict[str, np.ndarray]


def my_batches(num_batches: int) -> range:
    """This process's batch indices among ``num_batches``."""
    return range(jax.process_index(), num_batches, jax.process_count())


def local_copy(tree):
    """This process's copy (on its first device) of a tree of replicated arrays."""
    return jax.tree.map(lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x, tree)


def gather_in_order(local: Embedded, num_batches: int, batch_size: int) -> Embedded:
    """The processes' ``local`` rows (``my_batches``' batches, in order, ``batch_size``
    rows each) gathered on every process in global batch order."""
    count = jax.process_count()
    if count == 1:
        return local
    per_process = math.ceil(num_batches / count)
    gathered = {}
    for name, rows in local.items():
        batches = rows.reshape(-1, batch_size, *rows.shape[1:])
        padded = np.zeros((per_process, *batches.shape[1:]), rows.dtype)
        padded[: len(batches)] = batches
        everyone = np.asarray(multihost_utils.process_allgather(padded))  # [P, per, B, ...]
        in_order = everyone.swapaxes(0, 1).reshape(-1, *rows.shape[1:])
        gathered[name] = in_order[: num_batches * batch_size]
    return gathered


def embed_batches(
    batches: Callable[[Sequence[int]], np.ndarray],
    embed: Callable[[np.ndarray], Embedded],
    num_rows: int,
    batch_size: int,
) -> Embedded:
    """``embed`` of the first ``num_rows`` rows of batches 0, 1, ... (each ``batch_size``
    rows; ``batches(indices)`` gives those batches' rows, concatenated), each process
    producing and embedding its share on its first device."""
    num_batches = math.ceil(num_rows / batch_size)
    mine = my_batches(num_batches)
    with jax.set_mesh(make_mesh(jax.local_devices()[:1])):  # This process's work only.
        if mine:
            rows = batches(mine)
        else:  # More processes than batches: an empty share, shaped like the others'.
            rows = batches([0])[:0]
        if num_batches - 1 in mine:  # Rows of the last batch past num_rows: not embedded.
            rows = rows[: len(rows) - (num_batches * batch_size - num_rows)]
        local = embed(rows)
    full = len(mine) * batch_size
    local = {
        name: np.concatenate([v, np.zeros((full - len(v), *v.shape[1:]), v.dtype)])
        for name, v in local.items()
    }
    gathered = gather_in_order(local, num_batches, batch_size)
    return {name: v[:num_rows] for name, v in gathered.items()}


def score_samples(state, config, evaluator, num_samples: int) -> dict[str, float]:
    """``evaluator``'s metrics of ``num_samples`` samples of ``state``'s generator
    (``sampling.generate_samples``' set), generated and embedded across the processes."""
    batches = functools.partial(sampling.sample_batches, local_copy(state), config)
    embedded = embed_batches(batches, evaluator.embed, num_samples, config.batch_size)
    return evaluator.score(embedded)


def broadcast_arrays(
    arrays: dict[str, np.ndarray] | None, layout: dict[str, tuple[tuple[int, ...], type]]
) -> dict[str, np.ndarray]:
    """Process 0's ``arrays`` on every process, bit for bit (as bytes: JAX would cast
    float64 to float32); ``layout`` gives each array's shape and dtype, which the other
    processes need to receive it."""
    if jax.process_count() == 1:
        return arrays

    def as_bytes(name):
        shape, dtype = layout[name]
        if arrays is None:
            return np.zeros(math.prod(shape) * np.dtype(dtype).itemsize, np.uint8)
        value = np.ascontiguousarray(arrays[name], dtype).reshape(shape)
        return np.frombuffer(value.tobytes(), np.uint8)

    received = multihost_utils.broadcast_one_to_all({name: as_bytes(name) for name in layout})
    return {
        name: np.frombuffer(np.asarray(received[name]).tobytes(), dtype).reshape(shape)
        for name, (shape, dtype) in layout.items()
    }
