"""Cron job: PostgreSQL is the source of truth, Redis only carries work.

Every few seconds, re-enqueue inbound messages still unprocessed and outbound messages still unsent well past
their time (a Redis flush or restart, a failed enqueue, a killed worker), and refresh the live counters.
Fresh job ids each time: a duplicate job is harmless, since jobs lock their rows and skip finished work.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import text

from api.engine import live
from api.engine.deps import WorkerDeps
from api.engine.queue import enqueue_inbound, enqueue_send
from niochat.database import app_transaction
from niochat.logging import get_logger

log = get_logger(__name__)
REQUEUED = Counter("niochat_sweeper_requeued_total", "Work the sweeper re-enqueued", ["kind"])
GRACE_SECONDS = 15.0  # beyond the debounce window and a normal job's run time


async def sweep(ctx: dict) -> dict:
    deps: WorkerDeps = ctx["deps"]
    grace = deps.settings.debounce_seconds + GRACE_SECONDS
    async with app_transaction(deps.engine) as conn:
        pending = (
            await conn.execute(
                text("select * from niochat_pending_work(:inbound, :outbound)"),
                {"inbound": timedelta(seconds=grace), "outbound": timedelta(seconds=GRACE_SECONDS)},
            )
        ).all()
        counts = (await conn.execute(text("select * from niochat_live_counts()"))).all()
    stamp = int(time.time())
    conversations_done = set()
    for row in pending:
        if row.kind == "inbound" and row.conversation_id not in conversations_done:
            conversations_done.add(row.conversation_id)
            await enqueue_inbound(deps.arq, row.tenant_id, row.conversation_id, row.message_id, 0,
                                  job_id=f"sweep:{row.conversation_id}:{stamp}")
            REQUEUED.labels("inbound").inc()
        elif row.kind == "outbound":
            await enqueue_send(deps.arq, row.tenant_id, row.message_id, job_id=f"sweep:{row.message_id}:{stamp}")
            REQUEUED.labels("outbound").inc()
    await _refresh_live_counts(deps, counts)
    if pending:
        log.info("sweeper re-enqueued work", conversations=len(conversations_done),
                 outbound=sum(1 for row in pending if row.kind == "outbound"))
    return {"inbound": len(conversations_done), "outbound": sum(1 for row in pending if row.kind == "outbound")}


async def _refresh_live_counts(deps: WorkerDeps, counts) -> None:
    per_tenant: dict = defaultdict(lambda: {"bot": 0, "waiting": 0, "open": 0, "assigned": 0})
    for row in counts:
        per_tenant[row.tenant_id]  # every active tenant gets its zeros, so no count goes stale
        if row.status is None:
            continue
        per_tenant[row.tenant_id][row.status] += row.conversations
        if row.assigned:
            per_tenant[row.tenant_id]["assigned"] += row.conversations
    try:
        async with deps.redis.pipeline(transaction=False) as pipe:
            for tenant_id, values in per_tenant.items():
                pipe.hset(live.counters_key(tenant_id), mapping={**values, "refreshed_at": int(time.time())})
                pipe.expire(live.counters_key(tenant_id), 600)
            await pipe.execute()
    except Exception as exc:  # noqa: BLE001 - counters are a view; the next sweep refreshes them
        log.warning("live counters not refreshed", error=type(exc).__name__)
