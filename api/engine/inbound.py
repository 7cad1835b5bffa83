"""Job: answer a conversation's pending customer messages, in order, one conversation at a time.

The conversation row is locked (SELECT ... FOR UPDATE) for the whole job, so several workers never process
one conversation at once, and everything the job decides (replies queued, messages marked processed, status
changes) commits in one transaction. A worker killed mid-job commits nothing; the retry finds the same
messages pending and the idempotency keys make sure the customer still gets exactly one reply.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain.replies import without_emojis
from api.brain.select import brain_for, sgp_for
from api.brain.tools import Toolbox
from api.brain.turn import BrainInput, BrainReply, Persona
from api.csat import survey
from api.engine import assignment, follow_ups, handoff, hours, live
from api.engine.deps import WorkerDeps
from api.engine.outbound import queue_media, queue_text
from api.engine.queue import enqueue_inbound, enqueue_send
from api.media.incoming import read_media
from api.media.invoice import MediaReply, with_invoice_media
from niochat.database import tenant_transaction
from niochat.logging import get_logger
from niochat.tables import contacts, conversations, messages, tenants

log = get_logger(__name__)
HISTORY_LIMIT = 20


async def _persona(conn: AsyncConnection) -> Persona:
    tenant = (await conn.execute(select(tenants.c.name, tenants.c.settings))).one()
    persona = tenant.settings.get("persona") if isinstance(tenant.settings.get("persona"), dict) else {}
    return Persona(
        company=persona.get("company") or tenant.name,
        agent_name=persona.get("agent_name") or "Nia",
        emojis=bool(persona.get("emojis", True)),
    )


async def _history(conn: AsyncConnection, conversation_id: uuid.UUID) -> list[tuple[str, str]]:
    said = func.coalesce(messages.c.text, messages.c.transcript)  # voice notes by what they said
    rows = (
        await conn.execute(
            select(messages.c.sender_kind, said.label("text"))
            .where(
                messages.c.conversation_id == conversation_id,
                messages.c.status != "received",
                said.isnot(None),
            )
            .order_by(messages.c.created_at.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    return [(row.sender_kind, row.text) for row in reversed(rows)]


async def _apply_reply(conn, deps: WorkerDeps, conv, reply: BrainReply, key: str, invoices=()) -> list[uuid.UUID]:
    texts = list(reply.texts)
    if reply.handoff:
        team_id = await handoff.team_id_for(conn, reply.handoff.team_slug)
        texts.append(
            await handoff.to_queue(conn, conv.id, actor=handoff.BOT, reason=reply.handoff.reason, team_id=team_id)
        )
    elif reply.close:
        await handoff.close(
            conn,
            conv.id,
            actor=handoff.BOT,
            reason="resolved_by_bot",
            csat_delay=timedelta(seconds=deps.settings.csat_delay_seconds),
        )
    queued = []
    for index, body in enumerate(with_invoice_media(texts, invoices)):  # PIX QR image, boleto PDF
        if isinstance(body, MediaReply):
            message_id = await queue_media(conn, conv.tenant_id, conv.id, conv.channel_id, body.media,
                                           fallback_text=body.fallback, sender_kind="bot",
                                           idempotency_key=f"{key}:{index}")
        else:
            message_id = await queue_text(conn, conv.tenant_id, conv.id, conv.channel_id, body, sender_kind="bot",
                                          idempotency_key=f"{key}:{index}")
        if message_id:
            queued.append(message_id)
    return queued


async def process_conversation(ctx: dict, tenant_id: str, conversation_id: str) -> str:
    deps: WorkerDeps = ctx["deps"]
    queued: list[uuid.UUID] = []
    moves: list[assignment.Move] = []
    scheduled: list[tuple[uuid.UUID, float]] = []  # connection re-checks the turn asked for
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        await conn.execute(text("set local lock_timeout = '20s'"))
        conv = (
            await conn.execute(select(conversations).where(conversations.c.id == conversation_id).with_for_update())
        ).one_or_none()
        if conv is None:
            return "gone"
        pending = (
            await conn.execute(
                select(messages.c.id, messages.c.text, messages.c.choice_id, messages.c.created_at)
                .where(
                    messages.c.conversation_id == conv.id,
                    messages.c.direction == "inbound",
                    messages.c.status == "received",
                )
                .order_by(messages.c.provider_timestamp.asc().nulls_last(), messages.c.created_at, messages.c.id)
            )
        ).all()
        if not pending:
            return "nothing_pending"
        debounce = deps.settings.debounce_seconds
        if debounce and await conn.scalar(
            select(func.max(messages.c.created_at) > func.now() - timedelta(seconds=debounce * 0.9)).where(
                messages.c.id.in_([row.id for row in pending])
            )
        ):
            return "debouncing"  # a newer message's job (deferred by the window) will answer the whole burst
        media = await read_media(conn, deps, conv, pending)  # voice notes transcribed; photos and receipts routed
        intent = None  # what the brain acted on; no brain runs for chats with humans or survey answers
        if conv.status == "bot":
            contact = (await conn.execute(select(contacts).where(contacts.c.id == conv.contact_id))).one()
            history = await _history(conn, conv.id)
            new_texts = media.texts(pending)
            brain = await brain_for(conn, deps)
            tools = Toolbox(
                conn,
                tenant_id=conv.tenant_id,
                conversation_id=conv.id,
                contact_id=contact.id,
                phone=contact.phone,
                brain=brain.name,
                message_id=pending[-1].id,
                sgp=await sgp_for(conn, deps, conv.tenant_id),
                keyring=deps.keyring,
                state=dict(conv.bot_state or {}),
                customer_texts=[text for kind, text in history if kind == "customer"] + new_texts,
                contact_name=contact.name,
                lid=contact.whatsapp_lid,
                redis=deps.redis,
            )
            tenant = (await conn.execute(select(tenants.c.settings, tenants.c.timezone))).one()
            given = BrainInput(
                tenant_id=conv.tenant_id,
                conversation_id=conv.id,
                persona=await _persona(conn),
                contact_name=contact.name,
                business_hours=hours.describe(tenant.settings),
                humans_available=hours.is_open(tenant.settings, tenant.timezone, datetime.now(UTC)),
                new_messages=new_texts,
                history=history,
                first_contact=conv.first_bot_reply_at is None,
            )
            reply = await media.respond(brain, given, tools)
            if not given.persona.emojis:
                reply.texts = [without_emojis(text) for text in reply.texts]
            intent = reply.intent
            queued = await _apply_reply(conn, deps, conv, reply, key=f"reply:{pending[-1].id}",
                                        invoices=tools.invoices.values())
            if reply.handoff:
                moves = await assignment.fill(conn, deps.redis, conv.tenant_id)
            await conn.execute(update(conversations).where(conversations.c.id == conv.id).values(bot_state=tools.state))
            scheduled = tools.scheduled
        moved_to = None
        if conv.status == "closed":  # the survey's answer, in the conversation it rates
            queued, has_request = await survey.answer(conn, deps, conv, pending, media.texts(pending))
            if has_request:
                moved_to = await survey.move_to_new_conversation(conn, conv, pending)
        if moved_to is None:
            await conn.execute(
                update(messages)
                .where(messages.c.id.in_([row.id for row in pending]))
                # every message of the burst was read as that one request
                .values(status="processed", processed_at=func.now(), intent=intent)
            )
    for message_id in queued:
        await enqueue_send(deps.arq, conv.tenant_id, message_id)
    await follow_ups.enqueue_scheduled(deps, conv.tenant_id, scheduled)
    if moved_to is not None:
        await enqueue_inbound(deps.arq, conv.tenant_id, moved_to, pending[-1].id, 0, job_id=f"moved:{pending[-1].id}")
    await live.publish(deps.redis, conv.tenant_id, "conversation.updated", conversation_id=str(conv.id))
    await assignment.announce(deps.redis, conv.tenant_id, moves)
    return f"answered:{len(pending)}:{len(queued)}"
