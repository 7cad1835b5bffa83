"""Everything materialized in this process, in order: raw tables, dbt build (tests as checks), one DuckDB file
per tenant. What `niochat pipeline run` does; Dagster's daemon does the same through the jobs and sensor."""

from dataclasses import dataclass, field

from dagster import AssetCheckEvaluation, DagsterInstance, ExecuteInProcessResult, materialize

from pipelines.dbt import niochat_dbt
from pipelines.definitions import resources
from pipelines.exports import TENANT_PARTITIONS, tenant_duckdb
from pipelines.raw import raw_tables
from pipelines.resources import ExportFolder, NiochatDatabases, ProgressReporter
from pipelines.sensors import warehouse_tenants


@dataclass
class PipelineRun:
    instance: DagsterInstance  # kept here: the results only hold a weak reference to it
    warehouse: ExecuteInProcessResult
    exports: dict[str, ExecuteInProcessResult] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.warehouse.success and all(result.success for result in self.exports.values())

    def check_evaluations(self) -> list[AssetCheckEvaluation]:
        return self.warehouse.get_asset_check_evaluations()

    def failed_checks(self) -> list[str]:
        return [f"{e.asset_key.to_user_string()}:{e.check_name}" for e in self.check_evaluations() if not e.passed]


def warehouse_run_config(full: bool, log_level: str = "INFO") -> dict:
    return {
        "ops": {"ingest_raw": {"config": {"full": full}}, "niochat_dbt": {"config": {"full_refresh": full}}},
        **_loggers(log_level),
    }


def _loggers(log_level: str) -> dict:
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def run_pipeline(
    databases: NiochatDatabases,
    *,
    full: bool = False,
    export_folder: ExportFolder | None = None,
    progress: ProgressReporter | None = None,
    instance: DagsterInstance | None = None,
    exports: bool = True,
    log_level: str = "INFO",
) -> PipelineRun:
    instance = instance or DagsterInstance.ephemeral()
    progress = progress or ProgressReporter()
    res = resources(databases=databases, progress=progress,
                    export_folder=export_folder or ExportFolder())
    warehouse = materialize([raw_tables, niochat_dbt], resources=res, instance=instance,
                            run_config=warehouse_run_config(full, log_level), raise_on_error=False)
    run = PipelineRun(instance, warehouse)
    if not warehouse.success or not exports:
        return run
    slugs = warehouse_tenants(databases.urls().warehouse_url)
    instance.add_dynamic_partitions(TENANT_PARTITIONS.name, slugs)
    progress.expect("exports", len(slugs))
    for slug in slugs:
        run.exports[slug] = materialize([tenant_duckdb], partition_key=slug, resources=res, instance=instance,
                                        run_config=_loggers(log_level), raise_on_error=False)
    return run
