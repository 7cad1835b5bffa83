"""Cron job: each tenant's retention setting (`settings.retention`, LGPD), applied every hour.

`{"retention": {"messages_days": 365, "media_days": 90}}` (PATCH /api/v1/settings): the content of messages
older than `messages_days` (text, transcript, media references) is removed, and so are what customers wrote in
survey answers and the bot's dialog state of conversations closed that long ago; media references (the
provider's link, the file name) go after `media_days`. Rows stay, so the metrics keep counting them. Off unless
set. Work is done in batches, each its own transaction, until half the worker's job timeout is spent (a first run
on a long history finishes over the next hours). The cron keeps the ordinary job timeout on purpose: arq holds every
job's in-progress mark for the longest timeout of any function, so a long one here would leave a killed worker's
jobs unretried that long. Each tenant's figures go to the audit log (`privacy.retention`) whenever something was
removed. One run per tenant at a time (an advisory lock), whatever the number of workers.
"""

from __future__ import annotations

import time
import uuid

from prometheus_client import Counter
from sqlalchemy import text

from api.engine import audit
from api.engine.deps import WorkerDeps
from niochat import privacy
from niochat.database import app_transaction, tenant_scope
from niochat.logging import get_logger

log = get_logger(__name__)
REMOVED = Counter("niochat_retention_removed_total", "Content removed by the tenants' retention settings", ["kind"])
LOCK = "niochat.retention:"


async def apply_retention(ctx: dict) -> dict:
    deps: WorkerDeps = ctx["deps"]
    deadline = time.monotonic() + deps.settings.job_timeout_seconds / 2
    async with app_transaction(deps.engine) as conn:
        due = (await conn.execute(text("select * from niochat_retention_tenants()"))).all()
    totals: dict[str, int] = {}
    started = 0
    for row in due:
        if time.monotonic() > deadline:
            log.info("retention continues next run", tenants_left=len(due) - started)
            break
        started += 1
        figures = await _tenant(deps, row.tenant_id, privacy.Retention(row.messages_days, row.media_days), deadline)
        for key, value in (figures or {}).items():
            totals[key] = totals.get(key, 0) + value
    return {"tenants": started, **totals}


async def _tenant(deps: WorkerDeps, tenant_id: uuid.UUID, retention: privacy.Retention,
                  deadline: float) -> dict[str, int] | None:
    async with deps.engine.connect() as conn:
        locked = await conn.scalar(text("select pg_try_advisory_lock(hashtext(:key))"), {"key": LOCK + str(tenant_id)})
        await conn.commit()
        if not locked:
            return None  # another worker is on it
        try:
            figures = await _remove(conn, tenant_id, retention, deadline)
            if any(figures.values()):
                async with tenant_scope(conn, tenant_id):
                    await audit.record(conn, tenant_id, "privacy.retention", actor_kind="system",
                                       entity_type="tenant", entity_id=tenant_id,
                                       messages_days=_days(retention.messages_days),
                                       media_days=_days(retention.media_days), **figures)
                for kind, count in figures.items():
                    REMOVED.labels(kind).inc(count)
                log.info("retention applied", tenant=str(tenant_id), **figures)
            return figures
        finally:
            await conn.execute(text("select pg_advisory_unlock(hashtext(:key))"), {"key": LOCK + str(tenant_id)})
            await conn.commit()


def _batches(deadline: float):
    """Batches until the run's time is spent (at least one)."""
    yield
    while time.monotonic() < deadline:
        yield


async def _remove(conn, tenant_id: uuid.UUID, retention: privacy.Retention, deadline: float) -> dict[str, int]:
    figures = {"messages": 0, "media": 0, "csat_answers": 0, "conversations": 0}
    if retention.media_days is not None and retention.media_days > 0:
        for _ in _batches(deadline):
            async with tenant_scope(conn, tenant_id):
                done = await privacy.remove_old_media(conn, tenant_id, retention.media_days)
            figures["media"] += done
            if done < privacy.RETENTION_BATCH:
                break
    if retention.messages_days is not None and retention.messages_days > 0:
        for _ in _batches(deadline):
            async with tenant_scope(conn, tenant_id):
                done, media = await privacy.remove_old_content(conn, tenant_id, retention.messages_days)
            figures["messages"] += done
            figures["media"] += media
            if done < privacy.RETENTION_BATCH:
                break
        async with tenant_scope(conn, tenant_id):
            figures["csat_answers"], figures["conversations"] = await privacy.remove_old_answers(
                conn, tenant_id, retention.messages_days)
    return figures


def _days(value) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)
