"""The `Dataset` interface and the step-indexed batching of the embedded sets.

Every dataset yields, for training step ``s``, a batch that is a pure function
of its constructor arguments and ``s``. A resumed run therefore needs only the
step number to continue the uninterrupted run's data stream bit for bit.
"""

import abc
import itertools
from collections.abc import Iterator, Mapping

import numpy as np

from nssgan.data.spec import DatasetError, DataSpec

Batch = dict[str, np.ndarray]

# Bump when any dataset yields other images for the same arguments (decoding, resizing,
# scaling): cached statistics of the real data (FID) are keyed by it.
PREPROCESSING_VERSION = 1


def step_rng(seed: int, *keys: int) -> np.random.Generator:
    """A NumPy generator that is a pure function of ``seed`` and ``keys``.

    Negative seeds are mapped into [0, 2**64), as NumPy's seeding needs.
    """
    return np.random.default_rng([seed % 2**64, *keys])


def check_step(step: int) -> None:
    if step < 0:
        raise DatasetError(f'A step must be >= 0; got {step}.')


class Dataset(abc.ABC):
    """An endless stream of this process's batches, indexed by training step.

    Batches are dicts ``{'image': float32 [local_batch_size, *spec.shape],
    'label': int32 [local_batch_size]}``; ``'image'`` holds the vectors of
    vector data too, and ``'label'`` is -1 where a dataset has no labels.

    A step's global batch is ``groups`` consecutive parts (one per discriminator update
    when a step makes several); each process yields its share of every part, in part
    order, so which examples each part holds does not depend on the number of processes.

    Attributes:
      spec: the `DataSpec`.
      global_batch_size: examples per step over all processes.
      local_batch_size: examples per step in this process.
      seed, process_index, process_count, groups: as given.
      epoch_size: examples in one pass over the data (the embedded set, or the
        TFDS split), or None for generative data.
    """

    epoch_size: int | None = None

    def __init__(
        self,
        spec: DataSpec,
        *,
        batch_size: int,
        seed: int,
        process_index: int,
        process_count: int,
        groups: int = 1,
    ):
        if process_count < 1 or not 0 <= process_index < process_count:
            raise DatasetError(
                f'process_index={process_index} must lie in [0, process_count={process_count}).'
            )
        if groups < 1 or batch_size < 1 or batch_size % (process_count * groups):
            raise DatasetError(
                f'A step of {batch_size} examples in {groups} part(s) (discriminator updates) '
                f'cannot be split over {process_count} process(es): config.batch_size must be '
                f'a multiple of the number of processes.'
            )
        self.spec = spec
        self.global_batch_size = batch_size
        self.local_batch_size = batch_size // process_count
        self.seed = seed
        self.process_index = process_index
        self.process_count = process_count
        self.groups = groups

    @abc.abstractmethod
    def iterate(self, start_step: int = 0) -> Iterator[Batch]:
        """Yields the batches of steps ``start_step, start_step + 1, ...``."""

    def batch(self, step: int) -> Batch:
        """The batch of ``step``: the first element of ``iterate(step)``."""
        return next(self.iterate(step))

    @property
    def local_rows(self) -> np.ndarray:
        """This process's rows of a global batch: its share of each of the ``groups``
        parts, in order."""
        part = self.global_batch_size // self.groups
        share = part // self.process_count
        starts = np.arange(self.groups) * part + self.process_index * share
        return (starts[:, None] + np.arange(share)).reshape(-1)


class IndexedDataset(Dataset):
    """A dataset that computes any step's batch directly and cheaply."""

    @abc.abstractmethod
    def batch(self, step: int) -> Batch:
        """The batch of ``step``."""

    def iterate(self, start_step: int = 0) -> Iterator[Batch]:
        check_step(start_step)
        for step in itertools.count(start_step):
            yield self.batch(step)


class GenerativeDataset(IndexedDataset):
    """Draws a fresh batch each step from ``step_rng(seed, step)``.

    Each step draws the small per-example parameters (coefficients, indices,
    offsets, noise) of the whole global batch, then builds only this process's
    rows. The processes' rows together are the single-process batch, whatever the
    number of processes.
    """

    @abc.abstractmethod
    def draw(self, rng: np.random.Generator, n: int) -> Mapping[str, np.ndarray]:
        """Per-example parameters of ``n`` examples, each with leading dim n."""

    @abc.abstractmethod
    def render(self, params: Mapping[str, np.ndarray]) -> Batch:
        """The batch made from (a slice of) ``draw``'s parameters."""

    def batch(self, step: int) -> Batch:
        check_step(step)
        params = self.draw(step_rng(self.seed, step), self.global_batch_size)
        return self.render({k: v[self.local_rows] for k, v in params.items()})


class EpochDataset(IndexedDataset):
    """Cycles through a finite in-memory set, reshuffled every epoch.

    The example stream is the concatenation of epochs, epoch ``e`` being the
    permutation drawn from ``step_rng(seed, e)``. Step ``s`` takes stream
    positions ``[s * B, (s + 1) * B)`` for the global batch size ``B``, and each
    process its own rows of them, so a batch may straddle two epochs.
    """

    def __init__(self, spec: DataSpec, images: np.ndarray, labels: np.ndarray, **kwargs):
        super().__init__(spec, **kwargs)
        self._images = images
        self._labels = labels
        self.epoch_size = len(images)

    def permutation(self, epoch: int) -> np.ndarray:
        """The example order of ``epoch``."""
        return step_rng(self.seed, epoch).permutation(self.epoch_size)

    def batch(self, step: int) -> Batch:
        check_step(step)
        positions = step * self.global_batch_size + self.local_rows
        epochs, offsets = np.divmod(positions, self.epoch_size)
        indices = np.empty_like(positions)
        for epoch in np.unique(epochs):
            rows = epochs == epoch
            indices[rows] = self.permutation(int(epoch))[offsets[rows]]
        return {'image': self._images[indices], 'label': self._labels[indices]}
