"""What a run records beside its numbers (the machine, package versions), its JSON file and its progress log."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info(database_url: str | None = None, redis_url: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count_logical": os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_total_mb": round(psutil.virtual_memory().total / 2**20),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        pass
    if database_url:
        info["postgres"] = _postgres_version(database_url)
    if redis_url:
        info["redis"] = _redis_version(redis_url)
    for name in ("uvicorn", "fastapi", "httpx", "uvloop", "httptools", "arq"):
        info[f"{name}_version"] = package_version(name)
    return info


def package_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _postgres_version(database_url: str) -> str | None:
    try:
        from sqlalchemy import text

        from niochat.database import sync_engine

        engine = sync_engine(database_url)
        try:
            with engine.connect() as conn:
                return conn.scalar(text("show server_version"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"unknown ({type(exc).__name__})"


def _redis_version(redis_url: str) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(redis_url)
        try:
            return client.info("server").get("redis_version")
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"unknown ({type(exc).__name__})"


def write_result(name: str, payload: dict[str, Any], output: str | Path | None = None) -> Path:
    path = Path(output) if output else RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def utc_stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
