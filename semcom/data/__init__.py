"""Datasets for semcom: IDX reading/writing and MNIST / Fashion-MNIST loading.

Importing this package does not import torch (only :func:`to_float_tensor`
needs it, and imports it when called).
"""

from .datasets import (
    DATASETS,
    ROLES,
    Dataset,
    DatasetError,
    DatasetNotFoundError,
    DatasetSpec,
    KnownSubset,
    dataset_fingerprint,
    default_cache_dir,
    get_spec,
    load_dataset,
    to_float_tensor,
    train_val_split,
)
from .download import DownloadError
from .idx import IDX_TYPES, IdxFormatError, read_idx, write_idx

__all__ = [
    "DATASETS",
    "ROLES",
    "Dataset",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "DownloadError",
    "IDX_TYPES",
    "IdxFormatError",
    "KnownSubset",
    "dataset_fingerprint",
    "default_cache_dir",
    "get_spec",
    "load_dataset",
    "read_idx",
    "to_float_tensor",
    "train_val_split",
    "write_idx",
]
