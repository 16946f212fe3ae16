"""What a dataset yields (`DataSpec`) and the errors the data module raises."""

import dataclasses

import numpy as np


class DatasetError(ValueError):
    """A dataset name, size or batching that cannot work."""


class DatasetNotPreparedError(DatasetError):
    """A TFDS dataset that has not been downloaded and prepared."""


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """The per-example layout of a dataset, known without loading it.

    Attributes:
      name: the dataset's name, as given to `make_dataset`.
      kind: 'image' (NHWC batches) or 'vector' (flat [N, D] batches).
      shape: per-example shape, (H, W, C) for images and (D,) for vectors.
      num_modes: the number of modes where it is known (10 digit classes, 1,000
        colour-digit classes, the components of a mixture), else None.
      mode_centers: for mixtures, the [num_modes][D] centres; else None.
      mode_std: for mixtures, the per-axis standard deviation of a component
        (within the plane for `submanifold7`); else None.
      value_range: the closed interval that holds every value, (-1, 1) for
        images; None for mixtures, whose support is unbounded.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    num_modes: int | None = None
    mode_centers: tuple[tuple[float, ...], ...] | None = None
    mode_std: float | None = None
    value_range: tuple[float, float] | None = (-1.0, 1.0)

    @property
    def centers(self) -> np.ndarray | None:
        """`mode_centers` as a float64 [num_modes, D] array (None if absent)."""
        if self.mode_centers is None:
            return None
        return np.asarray(self.mode_centers, dtype=np.float64)
