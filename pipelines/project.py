"""The dbt project as Dagster sees it. Small on purpose: @dbt_assets reads its manifest at import time.

The manifest (target/manifest.json) is prepared by `make install` with `dbt parse`; when it is missing (a fresh
image, a clean checkout) or older than the project's files (a model was edited), it is prepared here, before the
definitions load.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from ingest.dbt_command import dbt_executable, dbt_project_dir


def parse_manifest(project_dir: Path) -> Path:
    """`dbt parse`: writes target/manifest.json without touching a database."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)],
        check=True,
        env=env,
        cwd=project_dir,
    )
    return project_dir / "target" / "manifest.json"


def manifest_is_stale(project_dir: Path, manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        sources.extend(path for path in (project_dir / folder).rglob("*") if path.suffix in (".sql", ".yml", ".csv"))
    return any(path.stat().st_mtime > built for path in sources if path.exists())


@cache
def dbt_project() -> DbtProject:
    project_dir = dbt_project_dir()
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if manifest_is_stale(project_dir, project.manifest_path):
        parse_manifest(project_dir)
    return project
