"""A quick reply turned into what `/reply` sends: found among those the agent may use, its variables filled in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import HTTPException, status
from sqlalchemy import select

from api.deps import TenantContext
from api.engine.quick_replies import ExpansionError, Values, expand
from api.routes.quick_replies import usable_by
from niochat.tables import contacts, quick_replies
from niochat.tables.workspace import SHORTCUT

TYPED = re.compile("^/" + SHORTCUT.removeprefix("^"))


@dataclass(frozen=True)
class Content:
    text: str
    media_url: str | None = None


def _text(value) -> str | None:
    return None if value is None else str(value)


def typed_shortcut(text: str | None) -> str | None:
    """The shortcut when the whole message is "/shortcut"."""
    return text[1:] if text and TYPED.match(text) else None


async def expand_quick_reply(ctx: TenantContext, conversation, shortcut: str) -> Content:
    shortcut = shortcut.strip().removeprefix("/")
    found = (await ctx.conn.execute(select(quick_replies.c.text, quick_replies.c.media_url).where(
        quick_replies.c.shortcut == shortcut, usable_by(ctx.user)))).one_or_none()
    if found is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"no quick reply /{shortcut} you may use (GET /quick-replies lists them); nothing was sent")
    contact_name = await ctx.conn.scalar(select(contacts.c.name).where(contacts.c.id == conversation.contact_id))
    values = Values(contact_name=contact_name, protocol=_text((conversation.bot_state or {}).get("ticket_protocol")),
                    agent_name=ctx.user.name)
    try:
        return Content(expand(found.text, values), found.media_url)
    except ExpansionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"quick reply /{shortcut}: {exc}; nothing was sent") from None
