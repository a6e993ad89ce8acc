"""Datasets for semcom: IDX reading/writing and MNIST / Fashion-MNIST loading.

Importing this package does not import torch (only :func:`to_float_tensor`
needs it, and imports it when called).
"""

from .dataset import Dataset, dataset_fingerprint, load_dataset, to_float_tensor, train_val_split
from .locate import default_cache_dir
from .registry import DATASETS, ROLES, DatasetError, DatasetNotFoundError, DatasetSpec, KnownSubset, get_spec
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
