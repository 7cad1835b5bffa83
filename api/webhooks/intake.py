"""Webhook intake: find the channel by its key, then store what the provider delivered under its tenant.

Nothing slow happens here: one short transaction per message, then a job is enqueued for the worker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.csat import survey
from api.webhooks.events import ConnectionUpdate, InboundMessage, StatusUpdate
from niochat.database import app_transaction
from niochat.secrets import Keyring
from niochat.tables import audit_log, channels, contacts, conversations, messages, tenants

# Outbound statuses only move forward: a late "delivered" never overwrites "read".
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True)
class ChannelRef:
    id: uuid.UUID
    tenant_id: uuid.UUID
    provider: str
    instance: str
    token: str


class Duplicate(Exception):
    """The provider delivered a message we already stored."""


@dataclass(frozen=True)
class StoredMessage:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    conversation_status: str


async def find_channel(engine: AsyncEngine, keyring: Keyring, key: str) -> ChannelRef | None:
    async with app_transaction(engine) as conn:
        row = (await conn.execute(text("select * from niochat_channel_by_key(:key)"), {"key": key})).one_or_none()
    if row is None or not row.is_active:
        return None
    return ChannelRef(row.channel_id, row.tenant_id, row.provider, row.instance, keyring.decrypt(row.token_encrypted))


async def contact_id_for(conn: AsyncConnection, channel: ChannelRef, message: InboundMessage) -> uuid.UUID:
    """The contact, created on first contact. An existing row is only written when its name or LID changed:
    locking it on every message would deadlock with the worker, which locks conversation then contact."""
    created = (
        await conn.execute(
            insert(contacts)
            .values(tenant_id=channel.tenant_id, phone=message.phone, name=message.name, whatsapp_lid=message.lid)
            .on_conflict_do_nothing(index_elements=[contacts.c.tenant_id, contacts.c.phone])
            .returning(contacts.c.id)
        )
    ).scalar_one_or_none()
    if created:
        return created
    row = (
        await conn.execute(
            select(contacts.c.id, contacts.c.name, contacts.c.whatsapp_lid).where(
                contacts.c.tenant_id == channel.tenant_id, contacts.c.phone == message.phone
            )
        )
    ).one()
    changes = {
        key: value
        for key, value in (("name", message.name), ("whatsapp_lid", message.lid))
        if value and value != getattr(row, key)
    }
    if changes:
        await conn.execute(update(contacts).where(contacts.c.id == row.id).values(**changes))
    return row.id


async def _active_conversation(conn: AsyncConnection, channel: ChannelRef, contact_id: uuid.UUID) -> tuple:
    """The contact's open conversation on this channel, a recently closed one reopened, or a new one."""
    active = and_(conversations.c.channel_id == channel.id, conversations.c.contact_id == contact_id)
    row = (
        await conn.execute(
            select(conversations.c.id, conversations.c.status).where(active, conversations.c.status != "closed")
        )
    ).one_or_none()
    if row:
        return row.id, row.status
    surveyed = await survey.outstanding_for(conn, contact_id, channel.id)
    if surveyed:  # the answer to the satisfaction survey belongs to the conversation it rates (kept closed)
        return surveyed, "closed"
    reopen_minutes = await conn.scalar(select(func.coalesce(tenants.c.settings["reopen_window_minutes"].as_float(), 0)))
    if reopen_minutes:
        reopened = (
            await conn.execute(
                update(conversations)
                .where(
                    conversations.c.id
                    == select(conversations.c.id)
                    .where(active)
                    .order_by(conversations.c.closed_at.desc())
                    .limit(1)
                    .scalar_subquery(),
                    conversations.c.closed_at > func.now() - timedelta(minutes=reopen_minutes),
                )
                .values(status="bot", closed_at=None, closed_by=None, closed_by_user_id=None, close_reason=None)
                .returning(conversations.c.id)
            )
        ).scalar_one_or_none()
        if reopened:
            return reopened, "bot"
    created = (
        await conn.execute(
            insert(conversations)
            .values(tenant_id=channel.tenant_id, channel_id=channel.id, contact_id=contact_id, status="bot")
            .on_conflict_do_nothing(
                index_elements=[conversations.c.channel_id, conversations.c.contact_id],
                index_where=text("status <> 'closed'"),
            )
            .returning(conversations.c.id)
        )
    ).scalar_one_or_none()
    if created:
        return created, "bot"
    # Another delivery created it a moment ago.
    row = (
        await conn.execute(
            select(conversations.c.id, conversations.c.status).where(active, conversations.c.status != "closed")
        )
    ).one()
    return row.id, row.status


async def store_inbound(
    conn: AsyncConnection,
    channel: ChannelRef,
    message: InboundMessage,
    *,
    status: str = "received",
    error: str | None = None,
) -> StoredMessage:
    """Persist one customer message (raises Duplicate, rolling the transaction back, if already stored)."""
    contact_id = await contact_id_for(conn, channel, message)
    conversation_id, conversation_status = await _active_conversation(conn, channel, contact_id)
    message_id = (
        await conn.execute(
            insert(messages)
            .values(
                tenant_id=channel.tenant_id,
                conversation_id=conversation_id,
                channel_id=channel.id,
                direction="inbound",
                sender_kind="customer",
                provider_message_id=message.provider_message_id,
                content_type=message.content_type,
                text=message.text,
                media_url=message.media_url,
                media_mime=message.media_mime,
                media_file_name=message.media_file_name,
                media_size=message.media_size,
                media_seconds=message.media_seconds,
                quoted_provider_id=message.quoted_provider_id,
                status=status,
                error=error,
                provider_timestamp=message.timestamp,
            )
            .on_conflict_do_nothing(
                index_elements=[messages.c.channel_id, messages.c.provider_message_id],
                index_where=messages.c.provider_message_id.isnot(None),
            )
            .returning(messages.c.id)
        )
    ).scalar_one_or_none()
    if message_id is None:
        raise Duplicate(message.provider_message_id)
    await conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(last_message_at=func.now(), last_inbound_at=func.now())
    )
    return StoredMessage(message_id, conversation_id, conversation_status)


async def confirm_own_send(conn: AsyncConnection, channel: ChannelRef, message: InboundMessage) -> bool:
    """The provider's echo of a message we sent: record it as sent if the worker has not yet (it may have died
    during the provider call). Uazapi carries our id in track_id; for Evolution, the text (or a media's caption)
    of a message of unknown outcome to that contact identifies it: in flight ('sending'), waiting for a retry
    after an ambiguous failure, or given up on moments ago. False when nothing of ours matched."""
    other = messages.alias("other")
    other_has_id = (
        select(1)
        .where(other.c.channel_id == channel.id, other.c.provider_message_id == message.provider_message_id,
               other.c.id != messages.c.id)
        .exists()
    )
    ours = and_(messages.c.channel_id == channel.id, messages.c.direction == "outbound", ~other_has_id)
    if message.track_id:
        try:
            target = and_(ours, messages.c.id == uuid.UUID(message.track_id),
                          messages.c.status.in_(["queued", "sending", "failed"]))
        except ValueError:
            return False
    else:
        in_flight_to_contact = (
            select(conversations.c.id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone == message.phone, conversations.c.channel_id == channel.id)
        )
        maybe_sent = or_(
            messages.c.status == "sending",
            and_(messages.c.status == "queued", messages.c.attempts > 0),
            and_(messages.c.status == "failed", messages.c.updated_at > func.now() - timedelta(minutes=10)),
        )
        target = and_(ours, maybe_sent, messages.c.text == message.text,
                      messages.c.conversation_id.in_(in_flight_to_contact))
    found = (
        await conn.execute(
            select(messages.c.id).where(target).order_by(messages.c.created_at).limit(1).with_for_update()
        )
    ).scalar_one_or_none()
    if found is None:
        return False
    await conn.execute(
        update(messages)
        .where(messages.c.id == found)
        .values(status="sent", provider_message_id=message.provider_message_id, sent_at=func.now(), error=None,
                next_attempt_at=None)
    )
    return True


async def apply_status(conn: AsyncConnection, channel: ChannelRef, event: StatusUpdate) -> int:
    """Record delivery/read receipts on our outbound messages; returns how many rows changed."""
    target = messages.c.channel_id == channel.id
    ids = messages.c.provider_message_id.in_(event.provider_message_ids)
    if event.status == "failed":
        values, allowed = {"status": "failed", "error": "provider reported delivery failure"}, ["queued", "sent"]
    else:
        rank = STATUS_RANK.get(event.status, 0)
        values = {"status": event.status}
        allowed = [status for status, r in STATUS_RANK.items() if r < rank]
    result = await conn.execute(
        update(messages)
        .where(target, ids, messages.c.direction == "outbound", messages.c.status.in_(allowed))
        .values(**values)
    )
    return result.rowcount


async def apply_connection(conn: AsyncConnection, channel: ChannelRef, event: ConnectionUpdate) -> None:
    changed = (
        await conn.execute(
            update(channels)
            .where(channels.c.id == channel.id, channels.c.connection_status != event.state)
            .values(connection_status=event.state, connection_changed_at=func.now())
            .returning(channels.c.id)
        )
    ).scalar_one_or_none()
    if changed:
        await conn.execute(
            insert(audit_log).values(
                tenant_id=channel.tenant_id,
                actor_kind="system",
                action="channel.connection",
                entity_type="channel",
                entity_id=str(channel.id),
                details={"state": event.state},
            )
        )
