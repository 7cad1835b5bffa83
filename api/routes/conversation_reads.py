"""Read marks: the user has read a conversation up to now (the inbox's unread counts, per user)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from api.deps import Tenant
from api.routes.common import commit, error_responses, not_found
from api.routes.conversation_queries import visible_to
from niochat.tables import conversation_reads, conversations

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=error_responses(401, 404, 422))


@router.post("/{conversation_id}/read", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             summary="Mark the conversation read up to now, for the requesting user")
async def mark_read(conversation_id: uuid.UUID, ctx: Tenant) -> Response:
    """Its unread count (ConversationOut.unread) is then 0 for this user until the customer writes again. A mark
    only moves forward; it is nobody else's business (each user has their own)."""
    if await ctx.conn.scalar(select(conversations.c.id).where(conversations.c.id == conversation_id,
                                                              visible_to(ctx.user))) is None:
        raise not_found("conversation")
    mark = pg_insert(conversation_reads).values(tenant_id=ctx.user.tenant_id, user_id=ctx.user.id,
                                                conversation_id=conversation_id, last_read_at=func.now())
    await ctx.conn.execute(mark.on_conflict_do_update(
        index_elements=[conversation_reads.c.user_id, conversation_reads.c.conversation_id],
        set_={"last_read_at": func.greatest(conversation_reads.c.last_read_at, mark.excluded.last_read_at)}))
    await commit(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
