"""Jobs and schedules: the marts kept fresh every few minutes, a full rebuild every night."""

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from pipelines.dbt import niochat_dbt
from pipelines.exports import EXPORT_KEY
from pipelines.raw import RAW_GROUP

WAREHOUSE = AssetSelection.groups(RAW_GROUP) | AssetSelection.assets(niochat_dbt)
REFRESH_CRON = "*/5 * * * *"
NIGHTLY_CRON = "0 3 * * *"
TIMEZONE = "America/Sao_Paulo"

refresh_job = define_asset_job(
    "refresh_warehouse", selection=WAREHOUSE, description="Incremental extract-load, then dbt build (tests included)."
)
full_refresh_job = define_asset_job(
    "full_refresh_warehouse",
    selection=WAREHOUSE,
    description="Reload raw from scratch (source deletes included) and rebuild every dbt model.",
    config={"ops": {"ingest_raw": {"config": {"full": True}}, "niochat_dbt": {"config": {"full_refresh": True}}}},
)
export_job = define_asset_job(
    "export_tenants", selection=AssetSelection.assets(EXPORT_KEY), description="Per-tenant DuckDB files."
)

_ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def _busy(context: ScheduleEvaluationContext) -> bool:
    """A warehouse run still going: the next one would only wait for its locks."""
    return any(
        context.instance.get_runs_count(RunsFilter(job_name=job.name, statuses=_ACTIVE))
        for job in (refresh_job, full_refresh_job)
    )


@schedule(job=refresh_job, cron_schedule=REFRESH_CRON, execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING)
def every_five_minutes(context: ScheduleEvaluationContext):
    if _busy(context):
        return SkipReason("the previous warehouse run is still going")
    return RunRequest()


@schedule(job=full_refresh_job, cron_schedule=NIGHTLY_CRON, execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING)
def nightly_full_refresh(context: ScheduleEvaluationContext):
    if _busy(context):
        return SkipReason("a warehouse run is still going")
    return RunRequest()
