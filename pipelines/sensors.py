"""The tenant sensor: one export partition per tenant in the warehouse, exports requested when marts change."""

import psycopg
from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from niochat.database import libpq_url
from pipelines.exports import TENANT_PARTITIONS
from pipelines.jobs import export_job
from pipelines.resources import NiochatDatabases

# The last mart of a dbt build: when it has a newer materialization, every tenant's file is stale.
MARTS_DONE = AssetKey(["marts", "agg_tenant_daily_kpis"])


def warehouse_tenants(warehouse_url: str) -> list[str]:
    """Tenant slugs in the marts (none before the first dbt build)."""
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        if conn.execute("select to_regclass('marts.dim_tenants')").fetchone()[0] is None:
            return []
        return [row[0] for row in conn.execute("select tenant_slug from marts.dim_tenants order by 1")]


def plan(slugs: list[str], known: list[str], marts_version: str, cursor: str | None):
    """(partitions to add, partitions to delete, slugs to export): new tenants always, all when marts changed."""
    current, registered = set(slugs), set(known)
    new = sorted(current - registered)
    gone = sorted(registered - current)
    due = sorted(current) if marts_version and marts_version != (cursor or "") else new
    return new, gone, due


@sensor(job=export_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def tenant_exports(context: SensorEvaluationContext, databases: NiochatDatabases) -> SensorResult:
    slugs = warehouse_tenants(databases.urls().warehouse_url)
    known = context.instance.get_dynamic_partitions(TENANT_PARTITIONS.name)
    latest = context.instance.get_latest_materialization_event(MARTS_DONE)
    marts_version = str(latest.timestamp) if latest else ""
    new, gone, due = plan(slugs, known, marts_version, context.cursor)
    requests = []
    if new:
        requests.append(TENANT_PARTITIONS.build_add_request(new))
    if gone:
        requests.append(TENANT_PARTITIONS.build_delete_request(gone))
    return SensorResult(
        run_requests=[RunRequest(partition_key=slug, run_key=f"{slug}@{marts_version}") for slug in due],
        dynamic_partitions_requests=requests,
        cursor=marts_version or context.cursor,
    )
