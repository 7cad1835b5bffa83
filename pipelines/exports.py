"""Per-tenant DuckDB files: one dynamic partition per tenant slug, registered by the tenant sensor."""

from dagster import AssetExecutionContext, AssetKey, DynamicPartitionsDefinition, MaterializeResult, asset

from ingest.export import TABLES, export_tenant
from pipelines.resources import ExportFolder, NiochatDatabases, ProgressReporter

TENANT_PARTITIONS = DynamicPartitionsDefinition(name="tenants")
EXPORT_KEY = AssetKey(["exports", "tenant_duckdb"])
MART_KEYS = [AssetKey(["marts", table]) for table in TABLES]


@asset(
    key=EXPORT_KEY,
    deps=MART_KEYS,
    partitions_def=TENANT_PARTITIONS,
    group_name="exports",
    kinds={"duckdb"},
    description="One DuckDB file per tenant with the marts (that tenant's rows only) and a README table.",
)
def tenant_duckdb(context: AssetExecutionContext, databases: NiochatDatabases, export_folder: ExportFolder,
                  progress: ProgressReporter) -> MaterializeResult:
    slug = context.partition_key
    result = export_tenant(databases.urls().warehouse_url, slug, export_folder.file_for(slug))
    progress.step("exports", slug, str(result.path))
    return MaterializeResult(
        metadata={"path": str(result.path), "seconds": round(result.seconds, 3),
                  **{f"rows_{table}": rows for table, rows in result.rows.items()}}
    )
