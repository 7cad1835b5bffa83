"""Webhook intake: find the channel by its key, then store what the provider delivered under its tenant.

Nothing slow happens here: one short transaction per message, then a job is enqueued for the worker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from cachetools import TTLCache
from sqlalchemy import and_, bindparam, func, or_, select, text, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.csat import survey
from api.webhooks import identity
from api.webhooks.events import ConnectionUpdate, InboundMessage, StatusUpdate
from niochat.channel_keys import REVOKED_SECONDS, key_hash, revoked_mark
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


async def find_channel(engine: AsyncEngine, keyring: Keyring, hashed: str) -> ChannelRef | None:
    """The active channel whose webhook key hashes to `hashed` (niochat.channel_keys.key_hash)."""
    async with app_transaction(engine) as conn:
        row = (await conn.execute(text("select * from niochat_channel_by_key(:hashed)"),
                                  {"hashed": hashed})).one_or_none()
    if row is None or not row.is_active:
        return None
    return ChannelRef(row.channel_id, row.tenant_id, row.provider, row.instance, keyring.decrypt(row.token_encrypted))


class ChannelDirectory:
    """Active channels by the hash of their webhook key, remembered for a few seconds per API process.

    Every webhook needs its channel, and a channel changes only when it is provisioned: a database transaction
    per webhook for it was the largest single cost of the intake path. A deactivated channel is refused at most
    `ttl` seconds later. A rotated key is refused at once: the rotation marks the old hash in Redis (`revoke`),
    and a remembered channel is only used while its hash is not marked. Unknown keys are not remembered, so a new
    channel works at once."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring, redis=None, ttl: float = 30.0,
                 maxsize: int = 10_000):
        self._engine, self._keyring, self._redis, self.ttl = engine, keyring, redis, ttl
        self._known: TTLCache[str, ChannelRef] = TTLCache(maxsize=maxsize, ttl=ttl)

    async def find(self, key: str) -> ChannelRef | None:
        hashed = key_hash(key)
        if (channel := self._known.get(hashed)) is not None:
            if self._redis is None or not await self._redis.exists(revoked_mark(hashed)):
                return channel
            self._known.pop(hashed, None)
        channel = await find_channel(self._engine, self._keyring, hashed)
        if channel is not None:
            self._known[hashed] = channel
        return channel

    async def revoke(self, hashed: str) -> None:
        """Before a key is replaced: no process may keep using what it remembers of it (the mark outlives any
        entry remembered before the replacement commits)."""
        self._known.pop(hashed, None)
        if self._redis is not None:
            await self._redis.set(revoked_mark(hashed), 1, ex=REVOKED_SECONDS)


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
            .where(identity.same_customer(message.phone, message.lid), conversations.c.channel_id == channel.id)
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
