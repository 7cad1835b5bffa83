"""Conversation status changes: bot -> waiting (team queue) -> open (agent) -> closed, and back to bot.
A person answering from the instance's own phone also opens the conversation (nobody assigned in NioChat);
the bot takes it back when they go silent.

Each function changes the row, writes the audit entry, and returns what the caller must tell the customer
(if anything); callers queue that text and publish the live event after committing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.engine import audit, hours
from niochat.tables import conversations, teams, tenants


class TransitionError(ValueError):
    """The change is not allowed from the conversation's current status."""


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "bot" | "system"
    user_id: uuid.UUID | None = None


BOT = Actor("bot")
SYSTEM = Actor("system")
# Default of tenants.settings.phone_handback_minutes (the migration's niochat_phone_handbacks() uses the same).
PHONE_HANDBACK_MINUTES = 30


async def _tenant(conn: AsyncConnection):
    return (await conn.execute(select(tenants.c.name, tenants.c.timezone, tenants.c.settings))).one()


async def team_id_for(conn: AsyncConnection, slug: str | None) -> uuid.UUID | None:
    if slug is None:
        return None
    return await conn.scalar(select(teams.c.id).where(teams.c.slug == slug))


async def _status(conn: AsyncConnection, conversation_id: uuid.UUID) -> str:
    status = await conn.scalar(
        select(conversations.c.status).where(conversations.c.id == conversation_id).with_for_update()
    )
    if status is None:
        raise LookupError(conversation_id)
    return status


async def to_queue(
    conn: AsyncConnection, conversation_id: uuid.UUID, *, actor: Actor, reason: str,
    team_id: uuid.UUID | None = None, now: datetime | None = None,
) -> str:
    """Hand the conversation to humans (team queue, unassigned). Returns the customer notice."""
    if await _status(conn, conversation_id) == "closed":
        raise TransitionError("conversation is closed; reopen it first")
    await conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(
            status="waiting", team_id=team_id, assignee_id=None, assigned_at=None, handoff_reason=reason,
            handoff_at=func.coalesce(conversations.c.handoff_at, func.now()),
        )
    )
    tenant = await _tenant(conn)
    await audit.record(conn, tenant_id_of(conn), "conversation.transfer", actor_kind=actor.kind,
                       actor_user_id=actor.user_id, entity_type="conversation", entity_id=conversation_id,
                       team_id=team_id, reason=reason)
    if hours.is_open(tenant.settings, tenant.timezone, now or datetime.now(UTC)):
        return "Pronto! Sua conversa está na fila e um atendente vai te responder em instantes."
    return (
        f"Nosso atendimento humano funciona {hours.describe(tenant.settings)}. Sua conversa ficou na fila "
        "e um atendente responde assim que abrirmos."
    )


def tenant_id_of(conn: AsyncConnection) -> object:
    """The tenant the transaction is bound to (the RLS setting), for inserts that need it."""
    return func.niochat_current_tenant()


async def assign(conn: AsyncConnection, conversation_id: uuid.UUID, user_id: uuid.UUID, *, actor: Actor) -> None:
    if await _status(conn, conversation_id) == "closed":
        raise TransitionError("conversation is closed; reopen it first")
    await conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(
            status="open", assignee_id=user_id, assigned_at=func.now(),
            handoff_at=func.coalesce(conversations.c.handoff_at, func.now()),
        )
    )
    await audit.record(conn, tenant_id_of(conn), "conversation.assign", actor_kind=actor.kind,
                       actor_user_id=actor.user_id, entity_type="conversation", entity_id=conversation_id,
                       assignee_id=user_id)


async def close(
    conn: AsyncConnection, conversation_id: uuid.UUID, *, actor: Actor, csat_delay: timedelta | None,
    reason: str | None = None,
) -> None:
    """Close, and schedule the satisfaction survey `csat_delay` from now (None: no survey)."""
    if await _status(conn, conversation_id) == "closed":
        raise TransitionError("conversation is already closed")
    closed_by = {"user": "agent", "bot": "bot", "system": "system"}[actor.kind]
    await conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(
            status="closed", closed_at=func.now(), closed_by=closed_by, closed_by_user_id=actor.user_id,
            close_reason=reason, phone_agent_at=None,  # a phone attendant's hold ends with the conversation
        )
    )
    await audit.record(conn, tenant_id_of(conn), "conversation.close", actor_kind=actor.kind,
                       actor_user_id=actor.user_id, entity_type="conversation", entity_id=conversation_id,
                       reason=reason)
    if csat_delay is not None:
        from api.csat.survey import schedule

        await schedule(conn, conversation_id, csat_delay)


async def reopen(conn: AsyncConnection, conversation_id: uuid.UUID, *, actor: Actor) -> None:
    if await _status(conn, conversation_id) != "closed":
        raise TransitionError("conversation is not closed")
    await conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(
            status="open" if actor.kind == "user" else "bot",
            assignee_id=actor.user_id if actor.kind == "user" else None,
            closed_at=None, closed_by=None, closed_by_user_id=None, close_reason=None,
        )
    )
    await audit.record(conn, tenant_id_of(conn), "conversation.reopen", actor_kind=actor.kind,
                       actor_user_id=actor.user_id, entity_type="conversation", entity_id=conversation_id)


async def taken_on_phone(conn: AsyncConnection, conversation_id: uuid.UUID) -> bool:
    """A person wrote from the instance's own phone: the conversation is theirs ('open', nobody assigned here) and
    the bot stays quiet until they go silent. True when this took it from the bot or the queue."""
    status = await _status(conn, conversation_id)
    values = {
        "phone_agent_at": func.now(), "last_message_at": func.now(),
        "first_human_reply_at": func.coalesce(conversations.c.first_human_reply_at, func.now()),
    }
    taken = status in ("bot", "waiting")
    if taken:
        values.update(status="open", handoff_at=func.coalesce(conversations.c.handoff_at, func.now()),
                      handoff_reason=func.coalesce(conversations.c.handoff_reason, "agent_on_phone"))
    await conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))
    if taken:
        await audit.record(conn, tenant_id_of(conn), "conversation.phone_takeover", actor_kind="system",
                           entity_type="conversation", entity_id=conversation_id, previous_status=status)
    return taken


async def back_to_bot(conn: AsyncConnection, conversation_id: uuid.UUID, *, seen_phone_agent_at: datetime) -> bool:
    """The phone attendant went silent: the bot answers again. Only if nobody took the conversation here and the
    attendant has not written since `seen_phone_agent_at`; False when that changed meanwhile."""
    returned = (
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.status == "open",
                   conversations.c.assignee_id.is_(None), conversations.c.phone_agent_at == seen_phone_agent_at)
            .values(status="bot", phone_agent_at=None, team_id=None)
            .returning(conversations.c.id)
        )
    ).scalar_one_or_none()
    if returned:
        await audit.record(conn, tenant_id_of(conn), "conversation.handback", actor_kind="system",
                           entity_type="conversation", entity_id=conversation_id, reason="phone_attendant_silent")
    return returned is not None


async def take(conn: AsyncConnection, conversation_id: uuid.UUID, user_id: uuid.UUID, *, actor: Actor,
               visible: ColumnElement[bool]) -> bool:
    """The agent takes a conversation nobody holds (with the bot or waiting in a queue, `visible` to them): one
    conditional update, so of two agents taking at once exactly one wins. False: someone else has it, or it is
    closed (the caller says which)."""
    taken = (
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.status.in_(("bot", "waiting")),
                   conversations.c.assignee_id.is_(None), visible)
            .values(status="open", assignee_id=user_id, assigned_at=func.now(), phone_agent_at=None,
                    handoff_at=func.coalesce(conversations.c.handoff_at, func.now()),
                    handoff_reason=func.coalesce(conversations.c.handoff_reason, "agent_took"))
            .returning(conversations.c.id)
        )
    ).scalar_one_or_none()
    if taken:
        await audit.record(conn, tenant_id_of(conn), "conversation.take", actor_kind=actor.kind,
                           actor_user_id=actor.user_id, entity_type="conversation", entity_id=conversation_id,
                           assignee_id=user_id)
    return taken is not None


async def hand_back(conn: AsyncConnection, conversation_id: uuid.UUID, *, actor: Actor) -> None:
    """A person gives the conversation back to the bot without closing it: the bot answers the customer's next
    message. Nothing is sent now (the customer was talking to a person; the bot speaks when spoken to)."""
    if await _status(conn, conversation_id) == "closed":
        raise TransitionError("conversation is closed; reopen it first")
    await conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(
            status="bot", assignee_id=None, assigned_at=None, team_id=None, phone_agent_at=None,
        )
    )
    await audit.record(conn, tenant_id_of(conn), "conversation.handback", actor_kind=actor.kind,
                       actor_user_id=actor.user_id, entity_type="conversation", entity_id=conversation_id,
                       reason="agent")
