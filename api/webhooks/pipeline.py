"""A webhook's events on their way in, read top to bottom. The route (routes.py) has read the body, found the
channel, checked the provider's secret and parsed the events; `receive` takes them from there, one by one:

1. classify (`_classify`, `_message`): a status, contact or connection update is stored in a short transaction
   of its own; a group's message is ignored; an edit replaces the text it edits; a message from the instance's
   own number takes the own-number path, any other message the customer path.
2. own number (`own_number`): our own send echoed back is confirmed as sent (`attendant.confirm_own_send`);
   a person typing on the provider's phone is stored as an agent reply that takes the conversation from the bot.
3. customer (`customer_message`): dedup (`_seen_before`: a Redis mark, then the unique index), the limits
   (`_not_answered`: a flood or a reaction is kept, not answered), store (`_store`: contact, conversation and
   message in one tenant-scoped transaction), then a job for the worker (`enqueue_inbound`).

Each event's result ("stored", "duplicate", "rate_limited", "agent:phone", "status:2", ...) goes back to the
route, which counts it and answers "rate_limited" with a 429 (the message is kept all the same).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from api.engine import live
from api.engine.queue import enqueue_inbound
from api.ratelimit import PER_CONTACT, PER_TENANT
from api.state import AppState
from api.webhooks import identity
from api.webhooks.attendant import confirm_own_send, store_phone_reply, typed_on_phone
from api.webhooks.channels import ChannelRef
from api.webhooks.events import (
    ConnectionUpdate,
    ContactUpdate,
    Ignored,
    InboundMessage,
    StatusUpdate,
    WebhookEvent,
)
from api.webhooks.intake import (
    Duplicate,
    StoredMessage,
    apply_connection,
    apply_edit,
    apply_status,
    known_sender,
    store_inbound,
)
from niochat.database import tenant_transaction

DEDUP_TTL_SECONDS = 7 * 24 * 3600


async def receive(state: AppState, channel: ChannelRef, events: Iterable[WebhookEvent]) -> AsyncIterator[str]:
    """Each event's result, in the webhook's order, as soon as the event is handled."""
    for event in events:
        yield await _classify(state, channel, event)


# 1. Classify


async def _classify(state: AppState, channel: ChannelRef, event: WebhookEvent) -> str:
    if isinstance(event, InboundMessage):
        return await _message(state, channel, event)
    if isinstance(event, StatusUpdate):
        async with tenant_transaction(state.engine, channel.tenant_id) as conn:
            changed = await apply_status(conn, channel, event)
        for row in changed:  # the agents' screens show each reply's delivery state live
            await live.publish(state.redis, channel.tenant_id, "message.updated",
                               conversation_id=str(row.conversation_id), message_id=str(row.id), action="status",
                               status=event.status)
        return f"status:{len(changed)}"
    if isinstance(event, ContactUpdate):
        async with tenant_transaction(state.engine, channel.tenant_id) as conn:
            revealed = await identity.reveal(conn, channel.tenant_id, phone=event.phone, lid=event.lid,
                                             name=event.name)
        return f"contact:{revealed}"
    if isinstance(event, ConnectionUpdate):
        async with tenant_transaction(state.engine, channel.tenant_id) as conn:
            await apply_connection(conn, channel, event)
        return f"connection:{event.state}"
    return f"ignored:{event.reason}" if isinstance(event, Ignored) else "ignored"


async def _message(state: AppState, channel: ChannelRef, message: InboundMessage) -> str:
    if message.is_group:
        return "ignored:group"
    if message.edit_of and await _edit(state, channel, message):
        return "edited"  # an edit of a message we never stored is kept as a message of its own, below
    if message.from_me:
        return await own_number(state, channel, message)
    return await customer_message(state, channel, message)


async def _edit(state: AppState, channel: ChannelRef, message: InboundMessage) -> bool:
    async with tenant_transaction(state.engine, channel.tenant_id) as conn:
        edited = await apply_edit(conn, channel, message)
    if edited is not None:
        await live.publish(state.redis, channel.tenant_id, "message.updated",
                           conversation_id=str(edited.conversation_id), message_id=str(edited.message_id),
                           action="edited")
    return edited is not None


# 2. The instance's own number


async def own_number(state: AppState, channel: ChannelRef, message: InboundMessage) -> str:
    """fromMe: the echo of one of our sends, or a person typing on the instance's phone (an agent reply)."""
    async with tenant_transaction(state.engine, channel.tenant_id) as conn:
        if await confirm_own_send(conn, channel, message):
            return "own:confirmed"
        if not typed_on_phone(message):
            return "ignored:own_message"
        if known := await known_sender(conn, channel, message.provider_message_id):
            return "duplicate" if known == "phone" else "ignored:own_message"
        try:
            reply = await store_phone_reply(conn, channel, message)
        except Duplicate:
            return "duplicate"
    await live.message_event(state.redis, channel.tenant_id, "outbound", "message.created",
                             conversation_id=str(reply.conversation_id), message_id=str(reply.message_id),
                             direction="outbound")
    if reply.taken:
        await live.publish(state.redis, channel.tenant_id, "conversation.updated",
                           conversation_id=str(reply.conversation_id), action="phone_takeover", status="open")
    return "agent:phone"


# 3. A customer


async def customer_message(state: AppState, channel: ChannelRef, message: InboundMessage) -> str:
    dedup_key = f"niochat:dedup:{channel.id}:{message.provider_message_id}"
    if await _seen_before(state, channel, message, dedup_key):
        return "duplicate"
    not_answered = await _not_answered(state, channel, message)
    try:
        stored = await _store(state, channel, message, not_answered)
    except Duplicate:
        return "duplicate"
    except BaseException:
        await state.redis.delete(dedup_key)  # not stored: the provider's retry must get through
        raise
    await live.message_event(state.redis, channel.tenant_id, "inbound", "message.created",
                             conversation_id=str(stored.conversation_id), message_id=str(stored.message_id),
                             direction="inbound")
    if not_answered:
        return not_answered
    await enqueue_inbound(state.arq, channel.tenant_id, stored.conversation_id, stored.message_id,
                          state.settings.debounce_seconds)
    return "stored"


async def _seen_before(state: AppState, channel: ChannelRef, message: InboundMessage, dedup_key: str) -> bool:
    """The Redis mark answers the usual retry without the database. A mark without its row means the process
    that set it died before committing (kill -9, OOM): the provider's retry must be stored, not dropped as a
    duplicate. The unique index catches what gets past both (`_store` raises Duplicate)."""
    if await state.redis.set(dedup_key, 1, nx=True, ex=DEDUP_TTL_SECONDS):
        return False
    async with tenant_transaction(state.engine, channel.tenant_id) as conn:
        return await known_sender(conn, channel, message.provider_message_id) is not None


async def _not_answered(state: AppState, channel: ChannelRef, message: InboundMessage) -> str | None:
    """Why the message is kept without an answer: "rate_limited" (a flood from the contact or the tenant) or
    "reaction" (kept with the conversation but nothing to answer); None when the bot answers it."""
    flooded = not await state.limits.allow(PER_CONTACT, str(channel.tenant_id), message.address) or (
        not await state.limits.allow(PER_TENANT, str(channel.tenant_id))
    )
    return "rate_limited" if flooded else "reaction" if message.content_type == "reaction" else None


async def _store(state: AppState, channel: ChannelRef, message: InboundMessage,
                 not_answered: str | None) -> StoredMessage:
    async with tenant_transaction(state.engine, channel.tenant_id) as conn:
        return await store_inbound(
            conn, channel, message, status="ignored" if not_answered else "received", error=not_answered,
        )
