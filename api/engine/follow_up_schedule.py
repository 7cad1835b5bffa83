"""Scheduling the follow-ups (table follow_ups, migration 0024) in the turn's transaction; the worker sends them
(api/engine/follow_ups.py). Apart from the sender so that the toolbox does not import the brain's replies back.

The promise reminder is due on the eve of the promise date at 18:00 in the tenant's time zone (the last evening
before the access is blocked again); an eve already past is recorded as skipped (too_soon). The re-check waits
the tenant's `connection_recheck_seconds` (tenants.settings, default 120).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from niochat.tables import follow_ups, tenants

REMINDER_HOUR = 18  # the eve of the promise date, at 18:00 tenant time: after work, before the block
DEFAULT_RECHECK_SECONDS = 120.0
RECHECK_SETTING = "connection_recheck_seconds"


async def recheck_delay(conn: AsyncConnection) -> float:
    """The tenant's wait before a connection re-check (tenants.settings.connection_recheck_seconds)."""
    settings = await conn.scalar(select(tenants.c.settings)) or {}
    try:
        return max(0.0, float(settings.get(RECHECK_SETTING, DEFAULT_RECHECK_SECONDS)))
    except (TypeError, ValueError):
        return DEFAULT_RECHECK_SECONDS


def reminder_time(until: date, timezone: str) -> datetime:
    eve = until - timedelta(days=1)
    return datetime(eve.year, eve.month, eve.day, REMINDER_HOUR, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


async def _replace(conn: AsyncConnection, conversation_id: uuid.UUID, kind: str) -> None:
    # one pending follow-up of a kind per conversation: a new unlock or restart replaces the older one
    await conn.execute(update(follow_ups).where(
        follow_ups.c.conversation_id == conversation_id, follow_ups.c.kind == kind, follow_ups.c.status == "pending",
    ).values(status="cancelled", reason="replaced"))


async def schedule_promise(conn: AsyncConnection, tenant_id: uuid.UUID, conversation_id: uuid.UUID,
                           contact_id: uuid.UUID, *, contract_id: str, until: date, brain: str) -> str:
    """Record the promise and its reminder; `skipped` (reason too_soon) when the eve has passed already."""
    timezone = await conn.scalar(select(tenants.c.timezone)) or "America/Sao_Paulo"
    due = reminder_time(until, timezone)
    status, reason = ("pending", None) if due > datetime.now(UTC) else ("skipped", "too_soon")
    await _replace(conn, conversation_id, "promise_reminder")
    await conn.execute(insert(follow_ups).values(
        tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, kind="promise_reminder",
        due_at=due, status=status, reason=reason,
        payload={"contract_id": contract_id, "until": until.isoformat(), "brain": brain},
    ))
    return status


async def schedule_recheck(conn: AsyncConnection, tenant_id: uuid.UUID, conversation_id: uuid.UUID,
                           contact_id: uuid.UUID, *, contract_id: str, cause: str,
                           brain: str) -> tuple[uuid.UUID, float]:
    """A re-check of the contract's connection after the tenant's wait; (its id, the wait in seconds) for the
    deferred job the engine enqueues after the commit (the sweeper finds it too if Redis loses it)."""
    delay = await recheck_delay(conn)
    await _replace(conn, conversation_id, "connection_recheck")
    follow_up_id = await conn.scalar(insert(follow_ups).values(
        tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, kind="connection_recheck",
        due_at=func.now() + timedelta(seconds=delay), payload={"contract_id": contract_id, "cause": cause,
                                                               "brain": brain},
    ).returning(follow_ups.c.id))
    return follow_up_id, delay
