"""What the demo commands add to the floor's provisioning (niochat.provisioning): the SGP sandbox dataset of a demo
tenant, and waiting for a started sandbox to answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from niochat.provisioning import DemoTenant
from niochat.settings import Settings


def dataset_of(spec: DemoTenant, settings: Settings) -> Path:
    """The SGP sandbox dataset holding this tenant's customers."""
    from sandbox.sgp import BUILTIN_DATASET, dataset_path  # imported here: the sandbox brings FastAPI along

    if spec.sgp_dataset:
        return BUILTIN_DATASET.with_name(spec.sgp_dataset)
    return dataset_path(settings.sgp_sandbox_data)


def wait_until_up(url: str, seconds: float = 20) -> None:
    async def poll() -> None:
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(int(seconds * 10)):
                try:
                    if (await http.get(url)).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{url} did not come up")

    asyncio.run(poll())
