"""SGP (TSMX) URA API sandbox for the demo and the tests. Imports nothing of `api/`."""

from sandbox.sgp.app import create_app
from sandbox.sgp.dataset import (
    BUILTIN_DATASET,
    DATASET_ENV,
    EXTRA_DATASETS,
    VELOZ_DATASET,
    DatasetError,
    dataset_path,
    load_dataset,
)

__all__ = [
    "BUILTIN_DATASET",
    "DATASET_ENV",
    "EXTRA_DATASETS",
    "VELOZ_DATASET",
    "DatasetError",
    "create_app",
    "dataset_path",
    "load_dataset",
]
