"""The dbt command line: the project's location, the environment its profiles.yml reads (derived from the
warehouse URL), and a plain way to run dbt against a warehouse (tests, benchmarks; Dagster runs it through
dagster-dbt)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url

from niochat.database import libpq_url


def dbt_project_dir() -> Path:
    """dbt's own DBT_PROJECT_DIR, else the source tree's dbt_project/, else ./dbt_project (the image's /app)."""
    if configured := os.environ.get("DBT_PROJECT_DIR"):
        return Path(configured).resolve()
    beside = Path(__file__).resolve().parents[1] / "dbt_project"
    if (beside / "dbt_project.yml").exists():
        return beside
    return (Path.cwd() / "dbt_project").resolve()

# The dbt password variable carries dbt's secret prefix: dbt scrubs DBT_ENV_SECRET_* values from its logs.
PASSWORD_VAR = "DBT_ENV_SECRET_NIOCHAT_PASSWORD"


def dbt_env(warehouse_url: str, *, threads: int | None = None) -> dict[str, str]:
    """DBT_NIOCHAT_* variables for dbt_project/profiles.yml.

    Handles both TCP URLs (`postgresql://user:pw@host:5432/db`) and unix-socket ones, where libpq takes the
    socket directory as `host` (`postgresql://postgres:@/db?host=/path/to/pgdata`, the embedded pgserver).
    """
    url = make_url(libpq_url(warehouse_url))
    query_host = url.query.get("host")
    if isinstance(query_host, tuple):
        query_host = query_host[0]
    query_port = url.query.get("port")
    if isinstance(query_port, tuple):
        query_port = query_port[0]
    sslmode = url.query.get("sslmode")
    if isinstance(sslmode, tuple):
        sslmode = sslmode[0]
    env = {
        "DBT_NIOCHAT_HOST": unquote(url.host or query_host or "localhost"),
        "DBT_NIOCHAT_PORT": str(url.port or query_port or 5432),
        "DBT_NIOCHAT_USER": url.username or os.environ.get("PGUSER") or "postgres",
        PASSWORD_VAR: url.password or "",
        "DBT_NIOCHAT_DBNAME": url.database or "postgres",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if sslmode:
        env["DBT_NIOCHAT_SSLMODE"] = sslmode
    if threads:
        env["DBT_NIOCHAT_THREADS"] = str(threads)
    return env


# Seeds and models, no tests: what `dbt run` alone would miss on a fresh warehouse is the vocabulary's seeds
# (dbt_project/seeds/), which the models join. For the tests and benchmarks that only need the marts built.
BUILD_WITHOUT_TESTS = ("build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")


def dbt_executable() -> str:
    """`dbt` from this interpreter's environment (its bin dir may not be on PATH), else from PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return str(beside)
    return shutil.which("dbt") or "dbt"


def run_dbt(warehouse_url: str, *args: str, threads: int | None = None) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project against `warehouse_url`; output captured (check `.returncode`)."""
    project = dbt_project_dir()
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        env={**os.environ, **dbt_env(warehouse_url, threads=threads)},
        cwd=project,
        capture_output=True,
        text=True,
    )
