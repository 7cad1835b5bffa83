"""Everything Dagster loads: `dagster dev -m pipelines`, `dagster definitions validate -m pipelines`."""

from __future__ import annotations

from dagster import Definitions
from dagster_dbt import DbtCliResource

from ingest.dbt_command import dbt_executable
from pipelines.dbt import niochat_dbt
from pipelines.exports import tenant_duckdb
from pipelines.jobs import every_five_minutes, export_job, full_refresh_job, nightly_full_refresh, refresh_job
from pipelines.project import dbt_project
from pipelines.raw import raw_tables
from pipelines.resources import ExportFolder, NiochatDatabases, ProgressReporter
from pipelines.sensors import tenant_exports


def resources(**overrides) -> dict:
    """The resources with NioChat's settings as defaults; tests and the CLI override some."""
    return {
        "databases": NiochatDatabases(),
        "export_folder": ExportFolder(),
        "progress": ProgressReporter(),
        "dbt": DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable()),
        **overrides,
    }


ASSETS = [raw_tables, niochat_dbt, tenant_duckdb]

defs = Definitions(
    assets=ASSETS,
    jobs=[refresh_job, full_refresh_job, export_job],
    schedules=[every_five_minutes, nightly_full_refresh],
    sensors=[tenant_exports],
    resources=resources(),
)
