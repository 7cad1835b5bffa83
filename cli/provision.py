"""What the demo commands add to the floor's provisioning (niochat.provisioning): the SGP sandbox dataset of a demo
tenant."""

from __future__ import annotations

from pathlib import Path

from niochat.provisioning import DemoTenant
from niochat.settings import Settings


def dataset_of(spec: DemoTenant, settings: Settings) -> Path:
    """The SGP sandbox dataset holding this tenant's customers."""
    from sandbox.sgp import BUILTIN_DATASET, dataset_path  # imported here: the sandbox brings FastAPI along

    if spec.sgp_dataset:
        return BUILTIN_DATASET.with_name(spec.sgp_dataset)
    return dataset_path(settings.sgp_sandbox_data)
