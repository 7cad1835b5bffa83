"""Which live events one socket's user may receive: the conversations rule of the REST API (visible_to).

Managers and admins get every event of the tenant. An agent gets the events of the conversations they may see
at the moment the event is forwarded, so a conversation assigned to them or queued for one of their teams
starts reaching them and one transferred away stops. Visibility is asked of PostgreSQL once per batch of
events, not kept on the socket: a cached answer would outlive a transfer. When a conversation this socket
was shown stops being visible, the agent gets `{"type": "conversation.hidden", "conversation_id": ...}` once,
so their screen can drop it. Events naming no conversation reach managers only (presence.updated, from
api/routes/presence.py and the sweeper).
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.deps import CurrentUser
from api.routes.conversation_queries import sees_everything, visible_to
from niochat.database import tenant_transaction
from niochat.tables import conversations

HIDDEN = "conversation.hidden"
MAX_SHOWN = 2000  # conversations remembered per socket for the hidden notice; the oldest are forgotten


def _conversation_of(frame: str) -> uuid.UUID | None:
    try:
        event = json.loads(frame)
        return uuid.UUID(str(event["conversation_id"]))
    except (ValueError, TypeError, KeyError):
        return None


class EventScope:
    """One socket's filter: `await scope.allowed(frames)` -> the frames to send, in order."""

    def __init__(self, engine: AsyncEngine, user: CurrentUser) -> None:
        self.engine = engine
        self.user = user
        self._shown: dict[uuid.UUID, None] = {}  # insertion-ordered set

    async def allowed(self, frames: list[str]) -> list[str]:
        if sees_everything(self.user):
            return frames
        named = [(frame, _conversation_of(frame)) for frame in frames]
        asked = {conversation_id for _, conversation_id in named if conversation_id is not None}
        visible = await self._visible(asked) if asked else set()
        out: list[str] = []
        for frame, conversation_id in named:
            if conversation_id in visible:
                self._remember(conversation_id)
                out.append(frame)
            elif conversation_id in self._shown:
                del self._shown[conversation_id]
                out.append(json.dumps({"type": HIDDEN, "conversation_id": str(conversation_id)}))
        return out

    async def _visible(self, conversation_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        async with tenant_transaction(self.engine, self.user.tenant_id) as conn:
            rows = await conn.scalars(
                select(conversations.c.id).where(conversations.c.id.in_(conversation_ids), visible_to(self.user))
            )
            return set(rows)

    def _remember(self, conversation_id: uuid.UUID) -> None:
        self._shown.pop(conversation_id, None)
        self._shown[conversation_id] = None
        if len(self._shown) > MAX_SHOWN:
            del self._shown[next(iter(self._shown))]
