"""Sending a failed message again, when the agent asks ("Tentar de novo" in the workspace)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from sqlalchemy import select, update

from api.deps import Tenant, state_of
from api.engine import audit, live
from api.engine.queue import enqueue_send
from api.engine.reply_window import reply_refusal
from api.routes.common import commit, conflict, error_responses, not_found
from api.routes.conversation_actions import locked
from api.routes.conversation_queries import load_message
from api.schemas.conversations import MessageOut
from niochat.tables import messages

router = APIRouter(prefix="/conversations", tags=["conversations"],
                   responses=error_responses(401, 404, 409))


@router.post("/{conversation_id}/messages/{message_id}/retry", response_model=MessageOut,
             summary="Send a failed outbound message again, through the usual delivery (once: a second call is a 409)")
async def retry(conversation_id: uuid.UUID, message_id: uuid.UUID, ctx: Tenant, request: Request) -> MessageOut:
    """Only an outbound message of this conversation whose delivery failed: one conditional update puts it back in
    the queue, so of two clicks exactly one does. Its attempts are kept: the worker first asks the provider
    whether the last attempt went out after all, and sends once more only if it did not. Refused like a reply
    (closed, outside WhatsApp's 24-hour window)."""
    conv = await locked(ctx, conversation_id)
    if await ctx.conn.scalar(select(messages.c.id).where(messages.c.id == message_id,
                                                         messages.c.conversation_id == conv.id)) is None:
        raise not_found("message")
    if conv.status == "closed":
        raise conflict("conversation is closed; reopen it first")
    if refusal := await reply_refusal(ctx.conn, conv.id):
        raise conflict(refusal)
    requeued = await ctx.conn.scalar(
        update(messages)
        .where(messages.c.id == message_id, messages.c.conversation_id == conv.id,
               messages.c.direction == "outbound", messages.c.status == "failed")
        .values(status="queued", next_attempt_at=None)
        .returning(messages.c.id))
    if requeued is None:
        raise conflict("Esta mensagem não está com falha de envio (já foi reenviada ou entregue); nada foi enviado "
                       "de novo.")
    await audit.record(ctx.conn, ctx.user.tenant_id, "message.retry", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="conversation", entity_id=conv.id, message_id=message_id)
    message = await load_message(ctx.conn, message_id)
    await commit(ctx)
    state = state_of(request)
    await enqueue_send(state.arq, ctx.user.tenant_id, message_id, job_id=f"send:{message_id}:retry:{uuid.uuid4()}")
    await live.publish(state.redis, ctx.user.tenant_id, "message.updated", conversation_id=str(conv.id),
                       message_id=str(message_id), status="queued")
    return message
