"""Cron job: PostgreSQL is the source of truth, Redis only carries work.

Every few seconds, re-enqueue inbound messages still unprocessed and outbound messages still unsent well past
their time (a Redis flush or restart, a failed enqueue, a killed worker), re-enqueue sends left 'sending' by a
worker that died during the provider call (the send job asks the provider before sending again), enqueue the
follow-ups due (api.engine.follow_ups: promise reminders, connection re-checks), give the bot back the
conversations a phone attendant left silent, give back what agents whose presence expired had not answered
(api.engine.assignment), and refresh the live counters.
Fresh job ids each time: a duplicate job is harmless, since jobs lock their rows and skip finished work.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy import text

from api.engine import assignment, handoff, live
from api.engine.delivery import CONFIRM_AFTER_SECONDS
from api.engine.deps import WorkerDeps
from api.engine.queue import enqueue_inbound, enqueue_job, enqueue_send
from niochat import live_keys
from niochat.database import app_transaction, tenant_transaction
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
        unconfirmed = (
            await conn.execute(
                text("select * from niochat_unconfirmed_sends(:older)"),
                {"older": timedelta(seconds=CONFIRM_AFTER_SECONDS)},
            )
        ).all()
        counts = (await conn.execute(text("select * from niochat_live_counts()"))).all()
        due_csat = (await conn.execute(text("select * from niochat_due_csat()"))).all()
        due_follow_ups = (await conn.execute(text("select * from niochat_due_follow_ups()"))).all()
        expired = await conn.scalar(text("select niochat_expire_csat()"))
        idle = (await conn.execute(text("select * from niochat_idle_conversations()"))).all()
        handbacks = (await conn.execute(text("select * from niochat_phone_handbacks()"))).all()
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
    for row in unconfirmed:
        await enqueue_send(deps.arq, row.tenant_id, row.message_id, job_id=f"confirm:{row.message_id}:{stamp}")
        REQUEUED.labels("unconfirmed").inc()
    for row in due_csat:
        await enqueue_job(deps.arq, "send_csat", row.tenant_id, row.request_id, job_id=f"csat:{row.request_id}")
    for row in due_follow_ups:  # promise reminders fall due here; re-checks too when Redis lost their job
        await enqueue_job(deps.arq, "run_follow_up", row.tenant_id, row.follow_up_id,
                          job_id=f"follow_up:{row.follow_up_id}")
    for row in idle:
        await _auto_close(deps, row.tenant_id, row.conversation_id)
    for row in handbacks:
        await _hand_back(deps, row.tenant_id, row.conversation_id, row.phone_agent_at)
    absent = await _presence_expired(deps)
    await _refresh_live_counts(deps, counts)
    if pending:
        log.info("sweeper re-enqueued work", conversations=len(conversations_done),
                 outbound=sum(1 for row in pending if row.kind == "outbound"))
    if unconfirmed:
        log.warning("sends of unknown outcome re-enqueued for confirmation", messages=len(unconfirmed))
    return {"inbound": len(conversations_done), "outbound": sum(1 for row in pending if row.kind == "outbound"),
            "unconfirmed": len(unconfirmed), "csat_due": len(due_csat), "csat_expired": expired,
            "follow_ups_due": len(due_follow_ups),
            "auto_closed": len(idle), "handed_back": len(handbacks), "absent": absent}


async def _auto_close(deps: WorkerDeps, tenant_id, conversation_id) -> None:
    """The customer went quiet while the bot waited: close (which schedules the survey)."""
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        try:
            await handoff.close(conn, conversation_id, actor=handoff.SYSTEM, reason="inactivity",
                                csat_delay=timedelta(seconds=deps.settings.csat_delay_seconds))
        except handoff.TransitionError:
            return  # closed meanwhile
    await live.publish(deps.redis, tenant_id, "conversation.updated", conversation_id=str(conversation_id))


async def _hand_back(deps: WorkerDeps, tenant_id, conversation_id, seen_phone_agent_at) -> None:
    """The attendant on the phone went quiet: the bot answers the next customer message."""
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        returned = await handoff.back_to_bot(conn, conversation_id, seen_phone_agent_at=seen_phone_agent_at)
    if returned:
        await live.publish(deps.redis, tenant_id, "conversation.updated", conversation_id=str(conversation_id),
                           action="handback", status="bot")


async def _presence_expired(deps: WorkerDeps) -> int:
    try:
        return await assignment.expire_absent(deps.engine, deps.redis)
    except RedisError as exc:  # presence is live state: the next sweep looks again
        log.warning("expired presence not swept", error=type(exc).__name__)
        return 0


async def _refresh_live_counts(deps: WorkerDeps, counts) -> None:
    per_tenant: dict = defaultdict(lambda: dict.fromkeys(live_keys.COUNTERS, 0))
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
                key = live_keys.counters_key(tenant_id)
                pipe.hset(key, mapping={**values, live_keys.REFRESHED_AT: int(time.time())})
                pipe.expire(key, 600)
            await pipe.execute()
    except Exception as exc:  # noqa: BLE001 - counters are a view; the next sweep refreshes them
        log.warning("live counters not refreshed", error=type(exc).__name__)
