"""Job: send one queued outbound message through the channel's provider, with retries and backoff.

The message row is locked (FOR UPDATE SKIP LOCKED) while sending, so a duplicate job (the sweeper
re-enqueued it) skips instead of sending twice; its status moves queued -> sent, or failed after the last try.
"""

from __future__ import annotations

from datetime import timedelta

from arq import Retry
from prometheus_client import Counter
from sqlalchemy import func, select, text, update

from api.engine import live
from api.engine.deps import WorkerDeps
from api.whatsapp.clients import ChannelAccess, ProviderError, client_for
from niochat.database import tenant_transaction
from niochat.logging import get_logger
from niochat.tables import channels, contacts, conversations, messages, tenants

log = get_logger(__name__)
SENDS = Counter("niochat_outbound_sends_total", "Outbound send attempts by result", ["provider", "result"])
FAILED = Counter("niochat_outbound_failed_total", "Outbound messages given up on (marked failed)", ["provider"])


def typing_delay_ms(tenant_settings: dict, text: str) -> int:
    """'typing...' shown before the message, when the tenant wants it (settings.typing_delay_ms_per_char)."""
    per_char = tenant_settings.get("typing_delay_ms_per_char") or 0
    return int(min(len(text) * per_char, 4000)) if isinstance(per_char, int | float) and per_char > 0 else 0


def backoff_seconds(base: float, attempt: int) -> float:
    return min(base * 2 ** (attempt - 1), 300.0)


async def _send_one(conn, deps: WorkerDeps, row) -> tuple[str, float | None]:
    """Send one message and record the result: ("sent"|"failed"|"retry", backoff before the next try)."""
    access = ChannelAccess(row.provider, row.base_url, row.instance, deps.keyring.decrypt(row.token_encrypted))
    attempt = row.attempts + 1
    try:
        provider_id = await client_for(deps.http, access).send_text(
            row.phone, row.text or "", typing_delay_ms(row.settings, row.text or "")
        )
    except ProviderError as exc:
        SENDS.labels(row.provider, "error").inc()
        values = {"attempts": attempt, "error": str(exc)[:500]}
        retry_in = None
        if not exc.retryable or attempt >= deps.settings.send_max_attempts:
            FAILED.labels(row.provider).inc()
            values["status"] = "failed"
            log.error("outbound message failed", message_id=str(row.id), attempts=attempt, error=str(exc))
        else:
            retry_in = backoff_seconds(deps.settings.send_retry_base_seconds, attempt)
            values["next_attempt_at"] = func.now() + timedelta(seconds=retry_in)
            log.warning(
                "outbound send failed, will retry",
                message_id=str(row.id),
                attempt=attempt,
                retry_in=retry_in,
                error=str(exc),
            )
        await conn.execute(update(messages).where(messages.c.id == row.id).values(**values))
        return ("retry" if retry_in is not None else "failed"), retry_in
    SENDS.labels(row.provider, "sent").inc()
    await conn.execute(
        update(messages)
        .where(messages.c.id == row.id)
        .values(
            status="sent",
            provider_message_id=provider_id,
            sent_at=func.now(),
            attempts=attempt,
            error=None,
            next_attempt_at=None,
        )
    )
    return "sent", None


async def send_message(ctx: dict, tenant_id: str, message_id: str) -> str:
    """Send this message, and before it any earlier message of the conversation still queued: a customer
    reads the answer in the order the bot or the agent wrote it, even with several workers."""
    deps: WorkerDeps = ctx["deps"]
    retry_in: float | None = None
    sent: list = []
    async with tenant_transaction(deps.engine, tenant_id) as conn:
        target = (
            await conn.execute(
                select(messages.c.conversation_id, messages.c.created_at).where(
                    messages.c.id == message_id, messages.c.status == "queued"
                )
            )
        ).one_or_none()
        if target is None:
            return "not_queued"  # already sent or failed
        await conn.execute(text("set local lock_timeout = '15s'"))
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(str(target.conversation_id), 0))))
        rows = (
            await conn.execute(
                select(
                    messages.c.id,
                    messages.c.text,
                    messages.c.attempts,
                    channels.c.provider,
                    channels.c.base_url,
                    channels.c.instance,
                    channels.c.token_encrypted,
                    contacts.c.phone,
                    tenants.c.settings,
                    (func.coalesce(messages.c.next_attempt_at, func.now()) > func.now()).label("backing_off"),
                )
                .join(channels, channels.c.id == messages.c.channel_id)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .join(contacts, contacts.c.id == conversations.c.contact_id)
                .join(tenants, tenants.c.id == messages.c.tenant_id)
                .where(
                    messages.c.conversation_id == target.conversation_id,
                    messages.c.direction == "outbound",
                    messages.c.status == "queued",
                    messages.c.created_at <= target.created_at,
                )
                .order_by(messages.c.created_at, messages.c.id)
            )
        ).all()
        for row in rows:
            if row.backing_off and str(row.id) != message_id:
                retry_in = deps.settings.send_retry_base_seconds  # an earlier message waits for its retry
                break
            result, retry_in = await _send_one(conn, deps, row)
            if result == "retry":
                break  # later messages wait: never out of order
            if result == "sent":
                sent.append(row.id)
    if retry_in is not None:
        raise Retry(defer=retry_in)
    for sent_id in sent:
        await live.count_message(deps.redis, tenant_id, "outbound")
        await live.publish(
            deps.redis, tenant_id, "message.sent", message_id=str(sent_id), conversation_id=str(target.conversation_id)
        )
    return "sent"
