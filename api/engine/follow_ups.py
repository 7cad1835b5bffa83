"""Follow-ups the bot owes a customer, sent by the worker when they fall due (table follow_ups, migration 0024).

- promise_reminder: after a granted trust unlock, one reminder on the eve of the promise date (18:00 in the
  tenant's time zone, the day before the access is blocked again), only inside WhatsApp's 24-hour window;
  outside it the row becomes `skipped` (reason outside_window) and a tool call records it for the metrics.
- connection_recheck: a short while after an unlock or a router restart (tenant setting
  `connection_recheck_seconds`, default 120), the SGP is asked again and the customer told whether the
  connection is back.

Scheduling (the toolbox, in the turn's transaction) is api/engine/follow_up_schedule.py. Each runs at most
once: the job claims its row (pending -> sent, a conditional update) in the transaction
that queues the message, as the survey does; the message's idempotency key covers a retried job.
"""

from __future__ import annotations

import time
import uuid
from datetime import date

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain import replies
from api.engine import live
from api.engine.deps import WorkerDeps
from api.engine.outbound import queue_text
from api.engine.queue import enqueue_follow_up, enqueue_send
from api.engine.reply_window import WHATSAPP_WINDOW
from api.sgp.models import SgpError
from niochat.database import tenant_transaction
from niochat.logging import get_logger
from niochat.tables import conversations, follow_ups, tool_calls

log = get_logger(__name__)
# What the follow-ups record in tool_calls (tools promise_reminder, connection_recheck; the vocabulary knows them)
WORKER_TOOLS = frozenset({"promise_reminder"})  # no toolbox method: the unlock schedules it, the worker sends it
ASKS_SGP = frozenset({"connection_recheck"})  # its run asks the SGP again
OUTCOMES = frozenset({"sent", "back_online", "still_offline", "sgp_unavailable", "skipped_outside_window",
                      "skipped_with_agent"})


async def enqueue_scheduled(deps: WorkerDeps, tenant_id, scheduled: list[tuple[uuid.UUID, float]]) -> None:
    for follow_up_id, delay in scheduled:
        await enqueue_follow_up(deps.arq, tenant_id, follow_up_id, delay)


async def _record(conn, row, outcome: str, started: float, **arguments) -> None:
    await conn.execute(insert(tool_calls).values(
        tenant_id=row.tenant_id, conversation_id=row.conversation_id, brain=row.payload.get("brain") or "rules",
        tool=row.kind, arguments={"contract_id": row.payload.get("contract_id"), **arguments}, outcome=outcome,
        latency_ms=int((time.perf_counter() - started) * 1000),
    ))


async def _skip(conn, row, reason: str, started: float) -> str:
    await conn.execute(update(follow_ups).where(follow_ups.c.id == row.id, follow_ups.c.status == "pending")
                       .values(status="skipped", reason=reason))
    await _record(conn, row, f"skipped_{reason}", started)
    return f"skipped_{reason}"


async def run_follow_up(ctx: dict, tenant_id: str, follow_up_id: str) -> str:
    """Job: send one due follow-up (the sweeper and the deferred enqueue both lead here)."""
    deps: WorkerDeps = ctx["deps"]
    started = time.perf_counter()
    message_id = conversation_id = None
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        row = (await conn.execute(
            select(follow_ups).where(follow_ups.c.id == follow_up_id, follow_ups.c.status == "pending",
                                     follow_ups.c.due_at <= func.now())
            .with_for_update(skip_locked=True)
        )).one_or_none()
        if row is None:
            return "not_due"
        conv = (await conn.execute(select(conversations).where(conversations.c.id == row.conversation_id))).one()
        if row.kind == "promise_reminder":  # days later: in the customer's newest conversation on that channel
            conv = (await conn.execute(
                select(conversations).where(conversations.c.contact_id == row.contact_id,
                                            conversations.c.channel_id == conv.channel_id)
                .order_by(conversations.c.created_at.desc()).limit(1))).one()
        in_window = conv.last_inbound_at is not None and await conn.scalar(
            select(conv.last_inbound_at > func.now() - WHATSAPP_WINDOW))
        if not in_window:
            return await _skip(conn, row, "outside_window", started)
        if row.kind == "connection_recheck" and conv.status != "bot":
            return await _skip(conn, row, "with_agent", started)  # a person is talking to the customer now
        claimed = await conn.scalar(  # pending -> sent before anything goes out: exactly once
            update(follow_ups).where(follow_ups.c.id == row.id, follow_ups.c.status == "pending")
            .values(status="sent", sent_at=func.now()).returning(follow_ups.c.id))
        if claimed is None:
            return "not_due"
        if row.kind == "promise_reminder":
            body, outcome = replies.promise_reminder(date.fromisoformat(row.payload["until"])), "sent"
        else:
            body, outcome = await _recheck(conn, deps, conv, row.payload.get("contract_id"))
        await _record(conn, row, outcome, started)
        message_id = await queue_text(conn, conv.tenant_id, conv.id, conv.channel_id, body, sender_kind="bot",
                                      idempotency_key=f"follow_up:{row.id}")
        conversation_id = conv.id
    if message_id:
        await enqueue_send(deps.arq, tenant_id, message_id)
        await live.publish(deps.redis, tenant_id, "conversation.updated", conversation_id=str(conversation_id))
    return outcome


async def _recheck(conn: AsyncConnection, deps: WorkerDeps, conv, contract_id: str | None) -> tuple[str, str]:
    """The SGP asked again: the words for the customer and the tool call's outcome."""
    from api.brain.select import sgp_for  # the brain's SGP access, as the inbound job has it

    state = dict(conv.bot_state or {})
    sgp = await sgp_for(conn, deps, conv.tenant_id)
    try:
        if sgp is None or not contract_id:
            raise SgpError("no SGP or contract to ask")
        status = await sgp.connection_status(contract_id)
    except SgpError as exc:
        log.warning("connection re-check failed", error=type(exc).__name__)
        return replies.RECHECK_UNKNOWN, "sgp_unavailable"
    if status.online:
        return replies.RECHECK_BACK, "back_online"
    protocol = state.get("ticket_protocol")
    if not protocol:  # the rules brain reads the customer's "sim" as the go-ahead for a ticket
        state.update(awaiting="ticket_confirm", last_action="connection_down",
                     problem="Conexão continua offline após reinício do roteador/desbloqueio")
        await conn.execute(update(conversations).where(conversations.c.id == conv.id).values(bot_state=state))
    return replies.recheck_offline(protocol), "still_offline"
