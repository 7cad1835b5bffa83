"""The webhook pipeline's (pipeline.py) statements for a customer and for the channel's updates: who sent a
message id we already hold (both paths dedup by it), a customer's message with its contact and conversation
(found or created), an edit, delivery receipts, the connection's state.

Each function runs its statements on the tenant-scoped connection it is given; the pipeline holds the short
transaction and decides which function an event needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, func, select, text, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.csat import survey
from api.webhooks import identity
from api.webhooks.channels import ChannelRef
from api.webhooks.events import ConnectionUpdate, InboundMessage, StatusUpdate
from niochat.tables import audit_log, channels, contacts, conversations, messages, tenants

# Outbound statuses only move forward: a late "delivered" never overwrites "read".
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


class Duplicate(Exception):
    """The provider delivered a message we already stored."""


@dataclass(frozen=True)
class StoredMessage:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    conversation_status: str


async def known_sender(conn: AsyncConnection, channel: ChannelRef, provider_message_id: str) -> str | None:
    """Who sent the message with this id, if we recorded it: "bot"/"agent" for the echo of a send already
    confirmed, "phone" for a phone message delivered again; None for an id we never saw."""
    row = (await conn.execute(
        select(messages.c.sender_kind, messages.c.sender_user_id)
        .where(messages.c.channel_id == channel.id, messages.c.provider_message_id == provider_message_id)
    )).first()
    if row is None:
        return None
    return "phone" if row.sender_kind == "agent" and row.sender_user_id is None else row.sender_kind


def _contact_statement(key):
    """The contact, inserted on first contact, with its open conversation on the channel if any: one round trip
    for the usual message. `key` is the column that identifies the customer: the phone, or the LID when WhatsApp
    withholds the phone. Built once: constructing statements per webhook cost more CPU than running them."""
    values = {"tenant_id": bindparam("p_tenant_id"), "name": bindparam("p_name")}
    if key is contacts.c.phone:  # its LID is claimed afterwards: another contact may hold it (identity.reveal)
        values["phone"] = bindparam("p_phone")
        conflict = {"index_elements": [contacts.c.tenant_id, contacts.c.phone]}
    else:
        values["whatsapp_lid"] = bindparam("p_lid")
        conflict = {"index_elements": [contacts.c.tenant_id, contacts.c.whatsapp_lid],
                    "index_where": contacts.c.whatsapp_lid.isnot(None)}
    new_contact = (
        insert(contacts).values(**values).on_conflict_do_nothing(**conflict)
        .returning(contacts.c.id, contacts.c.name, contacts.c.whatsapp_lid, contacts.c.phone)
        .cte("new_contact")
    )
    contact = union_all(
        select(new_contact.c.id, new_contact.c.name, new_contact.c.whatsapp_lid, new_contact.c.phone),
        select(contacts.c.id, contacts.c.name, contacts.c.whatsapp_lid, contacts.c.phone)
        .where(contacts.c.tenant_id == bindparam("p_tenant_id"),
               key == bindparam("p_lid" if key is contacts.c.whatsapp_lid else "p_phone")),
    ).subquery("contact")
    return select(
        contact.c.id, contact.c.name, contact.c.whatsapp_lid, contact.c.phone,
        conversations.c.id.label("conversation_id"), conversations.c.status.label("conversation_status"),
    ).select_from(
        contact.outerjoin(conversations, and_(conversations.c.contact_id == contact.c.id,
                                              conversations.c.channel_id == bindparam("p_channel_id"),
                                              conversations.c.status != "closed"))
    )


_BY_PHONE = _contact_statement(contacts.c.phone)
_BY_LID = _contact_statement(contacts.c.whatsapp_lid)


async def _contact_and_conversation(conn: AsyncConnection, channel: ChannelRef, message: InboundMessage):
    """An existing contact's row is only written when its name or LID changed: locking it on every message
    would deadlock with the worker, which locks conversation then contact. A message that pairs the phone with
    a LID another contact holds (the customer wrote before by LID alone) merges that contact into this one."""
    statement = _BY_PHONE if message.phone else _BY_LID
    params = {"p_tenant_id": channel.tenant_id, "p_phone": message.phone, "p_name": message.name,
              "p_lid": message.lid, "p_channel_id": channel.id}
    row = (await conn.execute(statement, params)).first()
    if row is None:  # inserted by a concurrent delivery after this statement's snapshot: visible now
        row = (await conn.execute(statement, params)).one()
    if message.phone and message.lid and message.lid != row.whatsapp_lid:
        await identity.reveal(conn, channel.tenant_id, phone=message.phone, lid=message.lid)
        row = (await conn.execute(statement, params)).one()
    if message.name and message.name != row.name:
        await conn.execute(update(contacts).where(contacts.c.id == row.id).values(name=message.name))
    return row


async def contact_id_for(conn: AsyncConnection, channel: ChannelRef, message: InboundMessage) -> uuid.UUID:
    """The contact, created on first contact (name and LID kept current)."""
    return (await _contact_and_conversation(conn, channel, message)).id


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


_MESSAGE_FIELDS = (
    "tenant_id", "conversation_id", "channel_id", "provider_message_id", "content_type", "text", "media_url",
    "media_mime", "media_file_name", "media_size", "media_seconds", "quoted_provider_id", "status", "error",
    "provider_timestamp", "choice_id",
)
_inserted_message = (
    insert(messages)
    .values(direction="inbound", sender_kind="customer", **{name: bindparam(f"p_{name}") for name in _MESSAGE_FIELDS})
    .on_conflict_do_nothing(
        index_elements=[messages.c.channel_id, messages.c.provider_message_id],
        index_where=messages.c.provider_message_id.isnot(None),
    )
    .returning(messages.c.id, messages.c.conversation_id)
    .cte("inserted_message")
)
# The message and the conversation's last activity in one round trip; no row back means already stored.
_STORE_MESSAGE = (
    update(conversations)
    .where(conversations.c.id == _inserted_message.c.conversation_id)
    .values(last_message_at=func.now(), last_inbound_at=func.now())
    .returning(_inserted_message.c.id)
)


async def store_inbound(
    conn: AsyncConnection,
    channel: ChannelRef,
    message: InboundMessage,
    *,
    status: str = "received",
    error: str | None = None,
) -> StoredMessage:
    """Persist one customer message (raises Duplicate, rolling the transaction back, if already stored)."""
    found = await _contact_and_conversation(conn, channel, message)
    if found.conversation_id is not None:
        conversation_id, conversation_status = found.conversation_id, found.conversation_status
    else:
        conversation_id, conversation_status = await _active_conversation(conn, channel, found.id)
    message_id = (
        await conn.execute(
            _STORE_MESSAGE,
            {
                f"p_{name}": value
                for name, value in (
                    ("tenant_id", channel.tenant_id), ("conversation_id", conversation_id), ("channel_id", channel.id),
                    ("provider_message_id", message.provider_message_id), ("content_type", message.content_type),
                    ("text", message.text), ("media_url", message.media_url), ("media_mime", message.media_mime),
                    ("media_file_name", message.media_file_name), ("media_size", message.media_size),
                    ("media_seconds", message.media_seconds), ("quoted_provider_id", message.quoted_provider_id),
                    ("status", status), ("error", error), ("provider_timestamp", message.timestamp),
                    ("choice_id", message.choice_id),
                )
            },
        )
    ).scalar_one_or_none()
    if message_id is None:
        raise Duplicate(message.provider_message_id)
    return StoredMessage(message_id, conversation_id, conversation_status)


@dataclass(frozen=True)
class EditedMessage:
    message_id: uuid.UUID
    conversation_id: uuid.UUID


async def apply_edit(conn: AsyncConnection, channel: ChannelRef, message: InboundMessage) -> EditedMessage | None:
    """An edit replaces the stored text of the message it edits (a customer's message still waiting for the bot
    is then read as edited); it is not a new message. None when we never stored the edited message."""
    row = (await conn.execute(
        update(messages)
        .where(messages.c.channel_id == channel.id, messages.c.provider_message_id == message.edit_of)
        .values(text=message.text, edited_at=func.now())
        .returning(messages.c.id, messages.c.conversation_id)
    )).first()
    return EditedMessage(row.id, row.conversation_id) if row else None


async def apply_status(conn: AsyncConnection, channel: ChannelRef, event: StatusUpdate) -> list:
    """Record delivery/read receipts on our outbound messages; returns the rows changed (id, conversation_id)."""
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
        .returning(messages.c.id, messages.c.conversation_id)
    )
    return list(result.all())


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
