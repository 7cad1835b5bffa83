"""One asset per raw table, all loaded by one step in one source snapshot (ingest.sync)."""
# No `from __future__ import annotations` in the modules that define Dagster objects: Dagster reads the
# parameter annotations (config, resources) at definition time.

from dagster import AssetExecutionContext, AssetKey, AssetSpec, Config, MaterializeResult, multi_asset

from ingest.sync import TableSync, sync
from ingest.tables import TABLES
from pipelines.resources import NiochatDatabases, ProgressReporter

RAW_GROUP = "raw"


def raw_key(table: str) -> AssetKey:
    return AssetKey([RAW_GROUP, table])


class IngestConfig(Config):
    full: bool = False  # truncate and reload (the nightly run), also how source deletes reach the warehouse


def sync_metadata(result: TableSync) -> dict:
    return {
        "rows_read": result.rows_read,
        "rows_written": result.rows_written,
        "rows_deleted": result.rows_deleted,
        "full": result.full,
        "watermark": result.watermark.isoformat() if result.watermark else "",
        "seconds": round(result.seconds, 3),
    }


@multi_asset(
    name="ingest_raw",
    specs=[
        AssetSpec(raw_key(table.name), group_name=RAW_GROUP, kinds={"postgres"},
                  description=f"Operational `{table.name}` copied into the warehouse (raw.{table.name}).")
        for table in TABLES
    ],
    can_subset=True,
)
def raw_tables(context: AssetExecutionContext, config: IngestConfig, databases: NiochatDatabases,
               progress: ProgressReporter):
    urls = databases.urls()
    chosen = [key.path[-1] for key in context.selected_asset_keys]
    for result in sync(urls.database_url, urls.warehouse_url, tables=chosen, full=config.full):
        progress.step(RAW_GROUP, result.table, f"{result.rows_written} rows")
        yield MaterializeResult(asset_key=raw_key(result.table), metadata=sync_metadata(result))
