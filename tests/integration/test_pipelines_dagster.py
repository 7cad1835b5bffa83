"""The Dagster definitions: they load and validate, the whole graph materializes with an ephemeral instance
(raw tables -> dbt build with its tests as asset checks -> one DuckDB file per tenant), the tenant sensor registers
partitions, the schedule waits for a running refresh, and `niochat pipeline run` reports a failing dbt test as a
failed asset check.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import insert
from typer.testing import CliRunner

from ingest.tables import TABLES
from niochat import migrate
from niochat.database import drop_database, ensure_database, sync_engine
from niochat.tables import conversations
from pipelines import defs
from pipelines.dbt import build_args, niochat_dbt
from pipelines.exports import EXPORT_KEY, TENANT_PARTITIONS
from pipelines.jobs import every_five_minutes, full_refresh_job, nightly_full_refresh, refresh_job
from pipelines.resources import ExportFolder, NiochatDatabases
from pipelines.run import run_pipeline
from pipelines.sensors import plan, tenant_exports
from tests.support.basics import TEST_SECRET
from tests.support.factories import full_tenant


@dataclass
class Graph:
    databases: NiochatDatabases
    slugs: list[str]
    instance: DagsterInstance
    exports: Path
    run: object


@pytest.fixture(scope="module")
def graph(pg_server_url, tmp_path_factory) -> Graph:
    op_name, wh_name = f"niochat_dg_op_{uuid.uuid4().hex[:8]}", f"niochat_dg_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    instance = DagsterInstance.ephemeral()
    try:
        migrate.upgrade(database_url)
        with engine.begin() as conn:
            slugs = [full_tenant(conn).slug for _ in range(2)]
        databases = NiochatDatabases(database_url=database_url, warehouse_url=warehouse_url)
        exports = tmp_path_factory.mktemp("exports")
        run = run_pipeline(databases, export_folder=ExportFolder(path=str(exports)), instance=instance)
        yield Graph(databases, sorted(slugs), instance, exports, run)
    finally:
        instance.dispose()
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


def test_definitions_load_with_raw_tables_upstream_of_dbt():
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    raw = {AssetKey(["raw", table.name]) for table in TABLES}
    assert raw <= keys and EXPORT_KEY in keys
    assert {AssetKey(["marts", "fct_conversations"]), AssetKey(["marts", "agg_tenant_daily_kpis"])} <= keys
    for table in TABLES:  # every dbt source is the raw asset ingest materializes, not a loose external asset
        staging = AssetKey(["staging", f"stg_niochat__{table.name}"])
        assert graph.get(staging).parent_keys == {AssetKey(["raw", table.name])}
    # the vocabulary's seeds are assets of their own, upstream of the classification that reads them
    seeds = {AssetKey(["reference", name]) for name in ("tool_vocabulary", "outcome_vocabulary", "value_vocabulary")}
    assert seeds <= set(niochat_dbt.keys)
    classified = graph.get(AssetKey(["intermediate", "int_tool_calls_classified"])).parent_keys
    assert {AssetKey(["reference", "tool_vocabulary"]), AssetKey(["reference", "outcome_vocabulary"])} <= classified
    assert len(list(niochat_dbt.check_keys)) >= 60, "dbt tests are asset checks"
    assert every_five_minutes.cron_schedule == "*/5 * * * *"
    assert nightly_full_refresh.job_name == full_refresh_job.name
    assert build_args(True) == ["build", "--full-refresh"] and build_args(False) == ["build"]


def test_dagster_definitions_validate_command():
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run([str(dagster), "definitions", "validate", "-m", "pipelines"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_whole_graph_materializes_and_every_asset_check_passes(graph):
    assert graph.run.warehouse.success
    evaluations = graph.run.check_evaluations()
    assert len(evaluations) == len(list(niochat_dbt.check_keys))
    assert [e for e in evaluations if not e.passed] == []
    for key in [*(AssetKey(["raw", t.name]) for t in TABLES), *niochat_dbt.keys]:
        assert graph.instance.get_latest_materialization_event(key) is not None, key
    assert sorted(graph.run.exports) == graph.slugs and all(run.success for run in graph.run.exports.values())
    assert sorted(graph.instance.get_dynamic_partitions(TENANT_PARTITIONS.name)) == graph.slugs
    for slug in graph.slugs:
        assert (graph.exports / f"{slug}.duckdb").stat().st_size > 0
        materialized = graph.instance.get_latest_materialization_event(EXPORT_KEY)
        assert materialized is not None


def test_the_tenant_sensor_registers_partitions_and_requests_exports(graph):
    fresh = DagsterInstance.ephemeral()
    try:
        context = build_sensor_context(instance=fresh, resources={"databases": graph.databases})
        result = tenant_exports(context)
        assert isinstance(result, SensorResult)
        (added,) = result.dynamic_partitions_requests
        assert sorted(added.partition_keys) == graph.slugs
        assert sorted(request.partition_key for request in result.run_requests) == graph.slugs
    finally:
        fresh.dispose()
    # new tenants always get a file; everyone gets one when the marts changed; nothing otherwise
    assert plan(["a", "b"], ["a"], "v1", "v1") == (["b"], [], ["b"])
    assert plan(["a", "b"], ["a", "b"], "v2", "v1") == ([], [], ["a", "b"])
    assert plan(["a"], ["a", "gone"], "v1", "v1") == ([], ["gone"], [])


def test_the_schedule_skips_while_a_warehouse_run_is_going(tmp_path):
    # a persistent instance (schedule contexts need its ref), not entered as a context manager: that would
    # leave it installed as Dagster's current definitions-state storage after the test
    instance = DagsterInstance.local_temp(str(tmp_path))
    try:
        context = build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(UTC))
        assert isinstance(every_five_minutes(context), RunRequest)
        create_run_for_test(instance, job_name=refresh_job.name, status=DagsterRunStatus.STARTED)
        context = build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(UTC))
        assert isinstance(every_five_minutes(context), SkipReason)
        assert isinstance(nightly_full_refresh(context), SkipReason)
    finally:
        instance.dispose()


def test_niochat_pipeline_run_reports_a_failing_dbt_test_as_a_failed_asset_check(graph, tmp_path, redis_url):
    """`niochat pipeline run` in process: progress, summary, and a non-zero exit naming the failed check."""
    from cli import app

    engine = sync_engine(graph.databases.database_url)
    env = {
        "NIOCHAT_DATABASE_URL": graph.databases.database_url, "NIOCHAT_WAREHOUSE_URL": graph.databases.warehouse_url,
        "NIOCHAT_REDIS_URL": redis_url, "NIOCHAT_SECRET_KEY": TEST_SECRET, "NIOCHAT_DATA_DIR": str(tmp_path),
    }
    try:
        with engine.begin() as conn:  # closed before it was created: the resolution time comes out negative
            tenant = full_tenant(conn)
            conn.execute(insert(conversations).values(
                tenant_id=tenant.tenant_id, channel_id=tenant.ids["channels"][0],
                contact_id=tenant.ids["contacts"][0], status="closed", closed_by="agent",
                created_at=datetime(2026, 3, 2, 12, tzinfo=UTC), closed_at=datetime(2026, 3, 2, 11, tzinfo=UTC),
            ))
        result = CliRunner().invoke(app, ["pipeline", "run"], env=env)
    finally:
        with engine.begin() as conn:
            conn.execute(conversations.delete().where(conversations.c.closed_at < conversations.c.created_at))
        engine.dispose()
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "failed check marts/fct_conversations:non_negative_fct_conversations_resolution_seconds" in output
    assert "1 failed" in output and "raw" in output and "dbt tests" in output
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir()), \
        "no export from a warehouse whose tests failed"
