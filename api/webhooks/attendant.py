"""Messages from the instance's own number: our own sends coming back, or a person typing on the phone.

The providers deliver every message of the number, also what an attendant types in the WhatsApp app or on
WhatsApp Web. Those are human replies: recorded as agent messages (no NioChat user), and the conversation moves
to `open` so the bot stops answering (see api/engine/handoff.py for when it takes over again). Our own sends
must never be mistaken for a person: Uazapi says so (`wasSentByApi`, and our track_id); for Evolution, an echo
is recognized by its id once the send is recorded, or by its text while the send's outcome is still unknown.
These are the statements of the pipeline's own-number path (pipeline.py), in the order it uses them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.engine import handoff
from api.webhooks import identity
from api.webhooks.channels import ChannelRef
from api.webhooks.events import InboundMessage
from api.webhooks.intake import Duplicate, contact_id_for
from niochat.tables import contacts, conversations, messages


@dataclass(frozen=True)
class PhoneReply:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    taken: bool  # the conversation moved from the bot (or the queue) to the person on the phone


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


def typed_on_phone(message: InboundMessage) -> bool:
    """Not one of our sends, going by what the payload says (the caller has already ruled out our in-flight
    echoes). Uazapi marks API sends (`wasSentByApi`): another integration's sends are not a person either."""
    if message.track_id is not None:
        return False
    return message.sent_by_api is not True


async def _conversation(conn: AsyncConnection, channel: ChannelRef, contact_id: uuid.UUID) -> uuid.UUID:
    """The contact's active conversation here, or a new one (the person writing first takes it right after)."""
    active = and_(conversations.c.channel_id == channel.id, conversations.c.contact_id == contact_id,
                  conversations.c.status != "closed")
    found = await conn.scalar(select(conversations.c.id).where(active))
    if found:
        return found
    created = await conn.scalar(
        insert(conversations)
        .values(tenant_id=channel.tenant_id, channel_id=channel.id, contact_id=contact_id, status="bot")
        .on_conflict_do_nothing(index_elements=[conversations.c.channel_id, conversations.c.contact_id],
                                index_where=conversations.c.status != "closed")
        .returning(conversations.c.id)
    )
    return created or await conn.scalar(select(conversations.c.id).where(active))


async def store_phone_reply(conn: AsyncConnection, channel: ChannelRef, message: InboundMessage) -> PhoneReply:
    """Record what the person typed as an agent message already sent (raises Duplicate if stored before)."""
    contact_id = await contact_id_for(conn, channel, message)
    conversation_id = await _conversation(conn, channel, contact_id)
    message_id = await conn.scalar(
        insert(messages)
        .values(
            tenant_id=channel.tenant_id, conversation_id=conversation_id, channel_id=channel.id,
            direction="outbound", sender_kind="agent", sender_user_id=None,
            provider_message_id=message.provider_message_id, content_type=message.content_type, text=message.text,
            media_url=message.media_url, media_mime=message.media_mime, media_file_name=message.media_file_name,
            media_size=message.media_size, media_seconds=message.media_seconds,
            quoted_provider_id=message.quoted_provider_id, status="sent", sent_at=message.timestamp,
            provider_timestamp=message.timestamp,
        )
        .on_conflict_do_nothing(index_elements=[messages.c.channel_id, messages.c.provider_message_id],
                                index_where=messages.c.provider_message_id.isnot(None))
        .returning(messages.c.id)
    )
    if message_id is None:
        raise Duplicate(message.provider_message_id)
    taken = await handoff.taken_on_phone(conn, conversation_id)
    return PhoneReply(message_id, conversation_id, taken)
