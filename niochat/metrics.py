"""Prometheus across processes: the API, its workers and gunicorn children write to one directory, and any
API process's /metrics shows the sum (prometheus-client's multiprocess mode).

`enable_multiprocess` must run before prometheus_client is first imported, so the `niochat` command calls it
first thing; a process started otherwise (tests, plain uvicorn) keeps its own in-memory registry.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def enable_multiprocess(data_dir: Path, *, wipe: bool = False) -> Path:
    directory = Path(os.environ.get(ENV) or (Path(data_dir) / "metrics")).resolve()
    if wipe and directory.exists():
        shutil.rmtree(directory)  # counters of a previous run must not add up with this one
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(directory)
    return directory


def render() -> bytes:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get(ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
