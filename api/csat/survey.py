"""The satisfaction survey in the engine: scheduled when a conversation closes, sent by a durable job,
answered in the closed conversation (which stays closed), expired by the sweeper.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.csat import reader
from api.csat.model_reader import read_with_model
from api.engine import audit, live
from api.engine.deps import WorkerDeps
from api.engine.outbound import queue_text
from api.engine.queue import enqueue_send
from api.engine.reply_window import WHATSAPP_WINDOW
from niochat.database import tenant_transaction
from niochat.logging import get_logger
from niochat.tables import conversations, csat_requests, csat_responses, messages, tenants

log = get_logger(__name__)
OUTSTANDING = ("sent", "clarifying")


async def schedule(conn: AsyncConnection, conversation_id: uuid.UUID, delay: timedelta) -> None:
    """One survey per conversation, however often it is closed (the unique index keeps the first)."""
    settings = await conn.scalar(select(tenants.c.settings))
    if settings and settings.get("csat_enabled") is False:
        return
    conv = (
        await conn.execute(
            select(conversations.c.tenant_id, conversations.c.contact_id, conversations.c.assignee_id)
            .where(conversations.c.id == conversation_id)
        )
    ).one()
    await conn.execute(
        insert(csat_requests)
        .values(tenant_id=conv.tenant_id, conversation_id=conversation_id, contact_id=conv.contact_id,
                agent_id=conv.assignee_id, status="scheduled", scheduled_for=func.now() + delay)
        .on_conflict_do_nothing(index_elements=[csat_requests.c.conversation_id])
    )


async def outstanding_for(conn: AsyncConnection, contact_id: uuid.UUID, channel_id: uuid.UUID):
    """The closed conversation whose survey awaits this contact's answer, if any."""
    return (
        await conn.execute(
            select(conversations.c.id)
            .join(csat_requests, csat_requests.c.conversation_id == conversations.c.id)
            .where(conversations.c.contact_id == contact_id, conversations.c.channel_id == channel_id,
                   conversations.c.status == "closed", csat_requests.c.status.in_(OUTSTANDING),
                   csat_requests.c.expires_at > func.now())
            .order_by(csat_requests.c.sent_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def send_csat(ctx: dict, tenant_id: str, request_id: str) -> str:
    """Job: ask the question, unless the 24 h window closed or the customer already came back."""
    deps: WorkerDeps = ctx["deps"]
    message_id = None
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        request = (
            await conn.execute(
                select(csat_requests).where(csat_requests.c.id == request_id, csat_requests.c.status == "scheduled")
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        if request is None:
            return "not_scheduled"
        conv = (await conn.execute(select(conversations).where(conversations.c.id == request.conversation_id))).one()
        # Reopened since (closed_at cleared), or the customer started a new conversation: the survey is moot.
        newer = conv.closed_at is None or await conn.scalar(
            select(exists().where(conversations.c.contact_id == conv.contact_id, conversations.c.id != conv.id,
                                  conversations.c.created_at > conv.closed_at))
        )
        in_window = conv.last_inbound_at is not None and await conn.scalar(
            select(conv.last_inbound_at > func.now() - WHATSAPP_WINDOW)
        )
        if newer or not in_window:
            status = "skipped_new_conversation" if newer else "skipped_window"
            await conn.execute(update(csat_requests).where(csat_requests.c.id == request.id).values(status=status))
            return status
        company = await conn.scalar(select(tenants.c.name))
        message_id = await queue_text(conn, conv.tenant_id, conv.id, conv.channel_id, reader.question(company),
                                      sender_kind="system", idempotency_key=f"csat:{request.id}")
        await conn.execute(
            update(csat_requests).where(csat_requests.c.id == request.id).values(
                status="sent", sent_at=func.now(),
                expires_at=func.now() + timedelta(seconds=deps.settings.csat_expiry_seconds),
            )
        )
    if message_id:
        await enqueue_send(deps.arq, tenant_id, message_id)
    return "sent"


async def answer(conn: AsyncConnection, deps: WorkerDeps, conv, pending,
                 texts: list[str]) -> tuple[list[uuid.UUID], bool]:
    """Read the customer's answer in a closed conversation (`texts`: what the pending messages say, voice notes
    by their transcripts). Returns (messages queued, whether the text also carries a new request that a new
    conversation must handle)."""
    from api.brain import nlu

    request = (
        await conn.execute(
            select(csat_requests).where(csat_requests.c.conversation_id == conv.id,
                                        csat_requests.c.status.in_(OUTSTANDING))
            .with_for_update()
        )
    ).one_or_none()
    text = " ".join(texts)
    wants_more = any(str(getattr(i, "value", i)) not in ("greeting", "thanks_bye", "yes", "no")
                     for i in nlu.detect_intents(text))
    if request is None:
        return [], bool(text)
    reading = reader.read_rating(text)
    if reading is None or reading.understood_by == "lexicon":  # free text: the tenant's model reads it first
        reading = await read_with_model(conn, deps.http, deps.keyring, text) or reading
    key = f"csat:{request.id}:{pending[-1].id}"
    company = await conn.scalar(select(tenants.c.name))
    if reading is None:
        if wants_more or request.status == "clarifying":
            await conn.execute(update(csat_requests).where(csat_requests.c.id == request.id)
                               .values(status="unanswered"))
            return [], wants_more
        await conn.execute(update(csat_requests).where(csat_requests.c.id == request.id).values(status="clarifying"))
        queued = await queue_text(conn, conv.tenant_id, conv.id, conv.channel_id, reader.CLARIFY,
                                  sender_kind="system", idempotency_key=key)
        return [queued] if queued else [], False
    await conn.execute(
        insert(csat_responses).values(
            tenant_id=conv.tenant_id, csat_request_id=request.id, conversation_id=conv.id, rating=reading.rating,
            sentiment=reading.sentiment, comment=reading.comment, raw_text=text[:2000],
            understood_by=reading.understood_by,
        ).on_conflict_do_nothing(index_elements=[csat_responses.c.csat_request_id])
    )
    await conn.execute(update(csat_requests).where(csat_requests.c.id == request.id)
                       .values(status="answered", answered_at=func.now()))
    if reading.rating <= 2:
        await audit.record(conn, conv.tenant_id, "csat.low_rating", actor_kind="system",
                           entity_type="conversation", entity_id=conv.id, rating=reading.rating)
        await live.publish(deps.redis, conv.tenant_id, "csat.low_rating", conversation_id=str(conv.id),
                           rating=reading.rating, agent_id=str(request.agent_id) if request.agent_id else None)
    queued = await queue_text(conn, conv.tenant_id, conv.id, conv.channel_id,
                              reader.thanks_message(reading.rating, company), sender_kind="system",
                              idempotency_key=key)
    return ([queued] if queued else []), wants_more


async def move_to_new_conversation(conn: AsyncConnection, conv, pending) -> uuid.UUID:
    """A new request arrived after the survey: it starts a new conversation (the closed one stays closed)."""
    new_id = (
        await conn.execute(
            insert(conversations)
            .values(tenant_id=conv.tenant_id, channel_id=conv.channel_id, contact_id=conv.contact_id, status="bot",
                    last_message_at=func.now(), last_inbound_at=func.now())
            .on_conflict_do_nothing(index_elements=[conversations.c.channel_id, conversations.c.contact_id],
                                    index_where=text("status <> 'closed'"))
            .returning(conversations.c.id)
        )
    ).scalar_one_or_none()
    if new_id is None:
        new_id = (await conn.execute(select(conversations.c.id).where(and_(
            conversations.c.channel_id == conv.channel_id, conversations.c.contact_id == conv.contact_id,
            conversations.c.status != "closed")))).scalar_one()
    await conn.execute(update(messages).where(messages.c.id.in_([row.id for row in pending]))
                       .values(conversation_id=new_id))
    return new_id
