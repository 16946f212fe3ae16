"""Embedded datasets and the TFDS pipeline, as step-indexed batch streams."""

from nssgan.data.base import PREPROCESSING_VERSION, Batch, Dataset
from nssgan.data.hadamard import hadamard_bases, hadamard_coefficients, hadamard_images
from nssgan.data.registry import (
    DATASETS,
    EMBEDDED_DATASETS,
    TFDS_DATASETS,
    dataset_spec,
    make_dataset,
)
from nssgan.data.spec import DatasetError, DatasetNotPreparedError, DataSpec

__all__ = [
    'Batch',
    'DATASETS',
    'DataSpec',
    'Dataset',
    'DatasetError',
    'DatasetNotPreparedError',
    'EMBEDDED_DATASETS',
    'PREPROCESSING_VERSION',
    'TFDS_DATASETS',
    'dataset_spec',
    'hadamard_bases',
    'hadamard_coefficients',
    'hadamard_images',
    'make_dataset',
]
