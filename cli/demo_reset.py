"""`niochat demo --reset`: start from an empty data dir. Only what NioChat itself keeps there is removed (the
data dir may be a folder holding other things), and never while another niochat process uses the servers."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli.children import StepFailed
from niochat.embedded import EmbeddedRedis
from niochat.settings import Settings

# the embedded servers' data, the analytics' files, the logs, and the generated secret key and demo password
OWNED = ("pgdata", "redis", "exports", "logs", "dagster", "secret.key", "demo-password")


def _in_use(data_dir: Path) -> bool:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata((data_dir / "pgdata").resolve())
    return (info is not None and info.is_running()) or EmbeddedRedis(data_dir)._ping()


def reset_data_dir(settings: Settings) -> list[str]:
    """Remove NioChat's data from the data dir; returns what was removed."""
    if settings.database_url or settings.redis_url:
        raise StepFailed("--reset only wipes the embedded PostgreSQL and Redis under NIOCHAT_DATA_DIR; with "
                         "NIOCHAT_DATABASE_URL or NIOCHAT_REDIS_URL set, empty those servers yourself")
    data_dir = Path(settings.data_dir)
    if not data_dir.exists():
        return []
    if _in_use(data_dir):
        raise StepFailed(f"the embedded servers under {data_dir} are in use by another niochat process; stop it "
                         "first (or `niochat services stop`)")
    removed = []
    for name in OWNED:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed
