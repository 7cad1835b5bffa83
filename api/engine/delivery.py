"""Job: send one queued outbound message through the channel's provider, exactly once, with retries and backoff.

Messages of one conversation go out one at a time and in order: the job holds the conversation's advisory
lock (session level, on one connection) while it sends this message and any earlier one still pending.
Each send is recorded in three committed steps: 'sending' before the provider call, then 'sent' (or back to
'queued' for a retry, or 'failed'). A worker killed during the call leaves 'sending' behind; whoever sends next
in that conversation first asks the provider whether the message went out (Uazapi by our track_id, Evolution
by text and time) and only sends again if it did not. A retry after an ambiguous failure (timeout, 5xx) asks too.
Images and documents travel the same way (their caption stands for the text); one the provider refuses for good
is replaced by its fallback text, in the same place in the conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from arq import Retry
from prometheus_client import Counter
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.engine import live
from api.engine.deps import WorkerDeps
from api.whatsapp.clients import SEND_TIMEOUT, ChannelAccess, ProviderError, WhatsAppClient, client_for
from api.whatsapp.media import OUTBOUND_KINDS, OutboundMedia
from niochat.database import tenant_scope
from niochat.logging import get_logger
from niochat.tables import channels, contacts, conversations, messages, tenants

log = get_logger(__name__)
SENDS = Counter("niochat_outbound_sends_total", "Outbound send attempts by result", ["provider", "result"])
FAILED = Counter("niochat_outbound_failed_total", "Outbound messages given up on (marked failed)", ["provider"])
CONFIRMED = Counter(
    "niochat_outbound_confirmed_total",
    "Sends of unknown outcome (worker died, timeout) that the provider confirmed, so were not sent again",
    ["provider"],
)
FALLBACKS = Counter(
    "niochat_outbound_media_fallbacks_total", "Images and documents the provider refused, sent as text instead",
    ["provider"],
)
# A 'sending' row younger than this may still be in a live worker's provider call.
CONFIRM_AFTER_SECONDS = (SEND_TIMEOUT.read or 10.0) + 5.0
PENDING = ("queued", "sending")


def typing_delay_ms(tenant_settings: dict, text: str) -> int:
    """'typing...' shown before the message, when the tenant wants it (settings.typing_delay_ms_per_char)."""
    per_char = tenant_settings.get("typing_delay_ms_per_char") or 0
    return int(min(len(text) * per_char, 4000)) if isinstance(per_char, int | float) and per_char > 0 else 0


def backoff_seconds(base: float, attempt: int) -> float:
    return min(base * 2 ** (attempt - 1), 300.0)


@asynccontextmanager
async def _conversation_lock(engine: AsyncEngine, conversation_id) -> AsyncIterator[AsyncConnection]:
    """One connection holding the conversation's session-level advisory lock (several transactions run on it;
    PostgreSQL drops the lock by itself if this process dies)."""
    key = func.hashtextextended(str(conversation_id), 0)
    async with engine.connect() as conn:
        await conn.execute(text("set lock_timeout = '15s'"))
        await conn.execute(select(func.pg_advisory_lock(key)))
        await conn.commit()
        try:
            yield conn
        finally:
            try:
                await conn.rollback()
                await conn.execute(select(func.pg_advisory_unlock(key)))
                await conn.execute(text("reset lock_timeout"))
                await conn.commit()
            except Exception:  # noqa: BLE001 - never hand a connection still holding the lock back to the pool
                await conn.invalidate()


async def _update(conn: AsyncConnection, tenant_id: str, message_id, **values) -> None:
    async with tenant_scope(conn, tenant_id):
        await conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


async def _mark_sent(conn: AsyncConnection, tenant_id: str, row, provider_id: str, attempts: int) -> None:
    await _update(conn, tenant_id, row.id, status="sent", provider_message_id=provider_id, sent_at=func.now(),
                  attempts=attempts, error=None, next_attempt_at=None)


async def _record_failure(conn: AsyncConnection, deps: WorkerDeps, tenant_id: str, row, exc: ProviderError,
                          attempt: int) -> tuple[str, float | None]:
    SENDS.labels(row.provider, "error").inc()
    values = {"attempts": attempt, "error": str(exc)[:500], "status": "queued"}
    retry_in = None
    if (not exc.retryable or attempt >= deps.settings.send_max_attempts) and _media_of(row) and row.fallback_text:
        # The customer still gets the content as text, where the media would have been; a new send, new tries.
        FALLBACKS.labels(row.provider).inc()
        log.warning("media not sent, its text goes instead", message_id=str(row.id), error=str(exc))
        await _update(conn, tenant_id, row.id, content_type="text", text=row.fallback_text, attempts=0,
                      status="queued", next_attempt_at=None, error=f"media not sent: {exc}"[:500])
        return "retry", 0.0
    if not exc.retryable or attempt >= deps.settings.send_max_attempts:
        FAILED.labels(row.provider).inc()
        values["status"] = "failed"
        log.error("outbound message failed", message_id=str(row.id), attempts=attempt, error=str(exc))
    else:
        retry_in = backoff_seconds(deps.settings.send_retry_base_seconds, attempt)
        values["next_attempt_at"] = func.now() + timedelta(seconds=retry_in)
        log.warning("outbound send failed, will retry", message_id=str(row.id), attempt=attempt,
                    retry_in=retry_in, error=str(exc))
    await _update(conn, tenant_id, row.id, **values)
    return ("retry" if retry_in is not None else "failed"), retry_in


async def _already_sent(conn: AsyncConnection, tenant_id: str, client: WhatsAppClient, row) -> str | None:
    """The provider's id for this message if an earlier attempt did reach the provider. Ids already recorded
    on other messages are not it (Evolution matches by text: the bot may have said the same thing before)."""
    candidates = await client.find_sent(row.phone, str(row.id), row.text or "", row.created_at)
    if not candidates:
        return None
    async with tenant_scope(conn, tenant_id):
        known = set((await conn.execute(
            select(messages.c.provider_message_id).where(
                messages.c.channel_id == row.channel_id, messages.c.provider_message_id.in_(candidates),
                messages.c.id != row.id,
            )
        )).scalars())
    return next((candidate for candidate in candidates if candidate not in known), None)


async def _deliver(conn: AsyncConnection, deps: WorkerDeps, tenant_id: str, row) -> tuple[str, float | None]:
    """Send one message and record the outcome: ("sent"|"failed"|"retry", seconds before trying again)."""
    access = ChannelAccess(row.provider, row.base_url, row.instance, deps.keyring.decrypt(row.token_encrypted))
    client = client_for(deps.http, access)
    attempt = row.attempts + 1
    if row.status == "sending" or row.attempts > 0:  # an earlier attempt's outcome is unknown or was an error
        try:
            found = await _already_sent(conn, tenant_id, client, row)
        except ProviderError as exc:
            return await _record_failure(conn, deps, tenant_id, row, exc, attempt)
        if found:
            CONFIRMED.labels(row.provider).inc()
            log.info("outbound send confirmed by the provider, not sent again", message_id=str(row.id))
            await _mark_sent(conn, tenant_id, row, found, row.attempts)
            return "sent", None
    await _update(conn, tenant_id, row.id, status="sending", sending_since=func.now(), attempts=attempt)
    try:
        if media := _media_of(row):
            provider_id = await client.send_media(row.phone, media, track_id=str(row.id))
        else:
            provider_id = await client.send_text(
                row.phone, row.text or "", typing_delay_ms(row.settings, row.text or ""), track_id=str(row.id)
            )
    except ProviderError as exc:
        return await _record_failure(conn, deps, tenant_id, row, exc, attempt)
    SENDS.labels(row.provider, "sent").inc()
    await _mark_sent(conn, tenant_id, row, provider_id, attempt)
    return "sent", None


def _media_of(row) -> OutboundMedia | None:
    if row.content_type not in OUTBOUND_KINDS or not row.media_url:
        return None
    return OutboundMedia(row.content_type, row.media_url, row.media_mime or "application/octet-stream", row.text,
                         row.media_file_name)


def _pending_rows(conversation_id, up_to):
    """This conversation's outbound messages still to send, up to and including the job's own, in order."""
    return (
        select(
            messages.c.id,
            messages.c.text,
            messages.c.content_type,
            messages.c.media_url,
            messages.c.media_mime,
            messages.c.media_file_name,
            messages.c.fallback_text,
            messages.c.attempts,
            messages.c.status,
            messages.c.created_at,
            messages.c.channel_id,
            channels.c.provider,
            channels.c.base_url,
            channels.c.instance,
            channels.c.token_encrypted,
            func.coalesce(contacts.c.phone, contacts.c.whatsapp_lid).label("phone"),  # a LID-only customer
            tenants.c.settings,
            (func.coalesce(messages.c.next_attempt_at, func.now()) > func.now()).label("backing_off"),
            func.extract("epoch", func.now() - messages.c.sending_since).label("sending_age"),
        )
        .join(channels, channels.c.id == messages.c.channel_id)
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .join(contacts, contacts.c.id == conversations.c.contact_id)
        .join(tenants, tenants.c.id == messages.c.tenant_id)
        .where(
            messages.c.conversation_id == conversation_id,
            messages.c.direction == "outbound",
            messages.c.status.in_(PENDING),
            messages.c.created_at <= up_to,
        )
        .order_by(messages.c.created_at, messages.c.id)
    )


async def send_message(ctx: dict, tenant_id: str, message_id: str) -> str:
    """Send this message, and before it any earlier message of the conversation still pending: a customer
    reads the answer in the order the bot or the agent wrote it, even with several workers."""
    deps: WorkerDeps = ctx["deps"]
    tenant_id = str(tenant_id)
    retry_in: float | None = None
    sent: list = []
    async with deps.engine.connect() as probe, tenant_scope(probe, tenant_id):
        target = (
            await probe.execute(
                select(messages.c.conversation_id, messages.c.created_at).where(
                    messages.c.id == message_id, messages.c.status.in_(PENDING)
                )
            )
        ).one_or_none()
    if target is None:
        return "not_queued"  # already sent or failed
    async with _conversation_lock(deps.engine, target.conversation_id) as conn:
        async with tenant_scope(conn, tenant_id):
            rows = (await conn.execute(_pending_rows(target.conversation_id, target.created_at))).all()
        for row in rows:
            if row.status == "sending" and row.sending_age is not None and row.sending_age < CONFIRM_AFTER_SECONDS:
                retry_in = CONFIRM_AFTER_SECONDS - float(row.sending_age)  # its worker may still be in the call
                break
            if row.backing_off and str(row.id) != message_id:
                retry_in = deps.settings.send_retry_base_seconds  # an earlier message waits for its retry
                break
            result, retry_in = await _deliver(conn, deps, tenant_id, row)
            if result == "retry":
                break  # later messages wait: never out of order
            if result == "sent":
                sent.append(row.id)
    if retry_in is not None:
        raise Retry(defer=retry_in)
    for sent_id in sent:
        await live.message_event(deps.redis, tenant_id, "outbound", "message.sent", message_id=str(sent_id),
                                 conversation_id=str(target.conversation_id))
    return "sent"
