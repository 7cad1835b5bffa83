"""May an agent's message go to the customer now? WhatsApp lets a business write freely only within 24 hours
of the customer's last message; past that, nothing is sent (the Cloud API channel will send an approved template
instead: that choice grows here, in one place)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from niochat.tables import conversations

WHATSAPP_WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW = ("Esta conversa está fora da janela de 24 horas do WhatsApp: o cliente escreveu pela última vez "
                  "há mais de 24 horas, e o WhatsApp só permite responder dentro desse prazo. Nada foi enviado; "
                  "a conversa pode continuar quando o cliente escrever de novo.")


async def reply_refusal(conn: AsyncConnection, conversation_id: uuid.UUID) -> str | None:
    """Why a message of ours may not be sent in this conversation now (for the agent's screen), or None.
    A conversation the customer never wrote in is outside the window too. The database's clock decides,
    as for the satisfaction survey."""
    in_window = await conn.scalar(
        select(func.coalesce(conversations.c.last_inbound_at > func.now() - WHATSAPP_WINDOW, False))
        .where(conversations.c.id == conversation_id))
    return None if in_window else OUTSIDE_WINDOW
