"""Outbound messages: queued in PostgreSQL first (idempotently), then sent by a durable job."""

from __future__ import annotations

import uuid

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.whatsapp.media import OutboundMedia
from niochat.tables import conversations, messages


async def queue_text(
    conn: AsyncConnection, tenant_id: uuid.UUID | str, conversation_id: uuid.UUID | str,
    channel_id: uuid.UUID | str, text: str, *, sender_kind: str, sender_user_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> uuid.UUID | None:
    """Insert a queued outbound text; None when this idempotency key was already queued (a retried job)."""
    return await _queue(conn, tenant_id, conversation_id, channel_id, {"content_type": "text", "text": text},
                        sender_kind=sender_kind, sender_user_id=sender_user_id, idempotency_key=idempotency_key)


async def queue_media(
    conn: AsyncConnection, tenant_id: uuid.UUID | str, conversation_id: uuid.UUID | str,
    channel_id: uuid.UUID | str, media: OutboundMedia, *, fallback_text: str, sender_kind: str,
    sender_user_id: uuid.UUID | None = None, idempotency_key: str | None = None,
) -> uuid.UUID | None:
    """Insert a queued image or document (sent in order with the texts); if the provider refuses it for good,
    `fallback_text` goes out in its place."""
    content = {
        "content_type": media.kind, "text": media.caption, "media_url": media.source, "media_mime": media.mime,
        "media_file_name": media.file_name, "fallback_text": fallback_text,
    }
    return await _queue(conn, tenant_id, conversation_id, channel_id, content, sender_kind=sender_kind,
                        sender_user_id=sender_user_id, idempotency_key=idempotency_key)


async def _queue(
    conn: AsyncConnection, tenant_id, conversation_id, channel_id, content: dict, *, sender_kind: str,
    sender_user_id: uuid.UUID | None, idempotency_key: str | None,
) -> uuid.UUID | None:
    message_id = (
        await conn.execute(
            insert(messages)
            .values(
                tenant_id=tenant_id, conversation_id=conversation_id, channel_id=channel_id, direction="outbound",
                sender_kind=sender_kind, sender_user_id=sender_user_id, status="queued",
                idempotency_key=idempotency_key,
                created_at=func.clock_timestamp(),  # distinct times inside one transaction: the send order
                **content,
            )
            .on_conflict_do_nothing(
                index_elements=[messages.c.tenant_id, messages.c.idempotency_key],
                index_where=messages.c.idempotency_key.isnot(None),
            )
            .returning(messages.c.id)
        )
    ).scalar_one_or_none()
    if message_id is None:
        return None
    first_reply = "first_bot_reply_at" if sender_kind == "bot" else (
        "first_human_reply_at" if sender_kind == "agent" else None
    )
    values = {"last_message_at": func.now()}
    if first_reply:
        values[first_reply] = func.coalesce(getattr(conversations.c, first_reply), func.now())
    await conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))
    return message_id
