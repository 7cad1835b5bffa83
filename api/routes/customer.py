"""The customer panel beside the chat: the conversation's verified SGP customer, and an open invoice sent again.

Scoped like the conversation (an agent reads only conversations they may see). The customer is the one the bot
bound (api/routes/customer_lookup.py); an unverified contact gets `{"verified": false}` and nobody's data.
"""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from api.brain.replies import invoice_messages
from api.deps import Tenant, state_of
from api.engine import audit, handoff
from api.engine.handoff import Actor, TransitionError
from api.engine.outbound import queue_media, queue_text
from api.media.invoice import MediaReply, with_invoice_media
from api.routes.common import commit, conflict, error_responses, not_found
from api.routes.conversation_actions import changed, locked
from api.routes.conversation_queries import load_message, visible_to
from api.routes.customer_lookup import (
    GONE_FROM_SGP,
    PANEL_SECONDS,
    SGP_NOT_CONFIGURED,
    Bound,
    bound_customer,
    customer_of,
    open_invoices,
    read_panel,
    sgp_failure,
    tenant_sgp,
    tickets_of,
)
from api.schemas.conversations import MessageOut
from api.schemas.customer import CustomerOut
from api.sgp.models import Invoice, SgpAdapter, SgpError
from niochat.masking import mask_document
from niochat.tables import conversations

SGP_UNREACHABLE = 502
NOT_VERIFIED = "O cliente desta conversa não está verificado: nenhuma fatura foi enviada."
NO_SUCH_INVOICE = "Fatura não encontrada entre as faturas em aberto do cliente: nada foi enviado."

router = APIRouter(prefix="/conversations", tags=["customer panel"], responses=error_responses(401, 404, 422))


async def _visible(ctx, conversation_id: uuid.UUID):
    row = (await ctx.conn.execute(
        select(conversations).where(conversations.c.id == conversation_id, visible_to(ctx.user)))).one_or_none()
    if row is None:
        raise not_found("conversation")
    return row


@router.get("/{conversation_id}/customer", response_model=CustomerOut, response_model_exclude_none=True,
            summary="The conversation's verified SGP customer: contracts, open invoices, connection now, tickets")
async def customer(conversation_id: uuid.UUID, ctx: Tenant, request: Request) -> CustomerOut:
    """Read from the tenant's SGP now. The SGP down or slow is not an error of this route: `error` says it."""
    state = state_of(request)
    conv = await _visible(ctx, conversation_id)
    bound = bound_customer(conv, state.keyring)
    if bound is None:
        return CustomerOut(verified=False)
    tickets = await tickets_of(ctx.conn, conv.id)
    async with tenant_sgp(ctx.conn, state, ctx.user.tenant_id) as sgp:
        await commit(ctx)  # no transaction held while the SGP answers
        return await read_panel(sgp, bound, tickets)


async def _open_invoice(sgp: SgpAdapter | None, bound: Bound, invoice_id: str) -> Invoice:
    if sgp is None:
        raise conflict(SGP_NOT_CONFIGURED)
    try:
        async with asyncio.timeout(PANEL_SECONDS):
            found = await customer_of(sgp, bound)
            if found is None:
                raise conflict(GONE_FROM_SGP)
            invoices = await open_invoices(sgp, bound, found.contracts)
    except (SgpError, TimeoutError) as exc:
        raise HTTPException(SGP_UNREACHABLE, sgp_failure(exc)) from None
    invoice = next((invoice for invoice in invoices if invoice.id == invoice_id), None)
    if invoice is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_SUCH_INVOICE)
    return invoice


@router.post("/{conversation_id}/invoices/{invoice_id}/send", response_model=list[MessageOut],
             status_code=status.HTTP_201_CREATED, responses=error_responses(409) | {
                 SGP_UNREACHABLE: {"description": "The SGP did not answer: nothing was sent"}},
             summary="Send an open invoice's PIX code and boleto line again, as the agent (as the bot sends them)")
async def send_invoice(conversation_id: uuid.UUID, invoice_id: str, ctx: Tenant, request: Request) -> list[MessageOut]:
    """Only an open invoice of one of the verified customer's contracts, read from the SGP now; the messages are
    the bot's own for that invoice (its summary, PIX copy-paste with its QR code, boleto line and PDF), queued as
    the agent's and delivered in order. Takes the conversation, like a reply, if nobody holds it."""
    state = state_of(request)
    conv = await _visible(ctx, conversation_id)
    if conv.status == "closed":
        raise conflict("conversation is closed; reopen it first")
    bound = bound_customer(conv, state.keyring)
    if bound is None:
        raise conflict(NOT_VERIFIED)
    async with tenant_sgp(ctx.conn, state, ctx.user.tenant_id) as sgp:
        invoice = await _open_invoice(sgp, bound, invoice_id[:64])
    conv = await locked(ctx, conversation_id)
    if conv.status in ("bot", "waiting") or conv.assignee_id is None:
        try:
            await handoff.assign(ctx.conn, conv.id, ctx.user.id, actor=Actor("user", ctx.user.id))
        except TransitionError as exc:
            raise conflict(str(exc)) from None
    sent = []
    for body in with_invoice_media(invoice_messages([invoice]), [invoice]):
        if isinstance(body, MediaReply):
            message_id = await queue_media(ctx.conn, ctx.user.tenant_id, conv.id, conv.channel_id, body.media,
                                           fallback_text=body.fallback, sender_kind="agent",
                                           sender_user_id=ctx.user.id)
        else:
            message_id = await queue_text(ctx.conn, ctx.user.tenant_id, conv.id, conv.channel_id, body,
                                          sender_kind="agent", sender_user_id=ctx.user.id)
        sent.append(message_id)
    await audit.record(ctx.conn, ctx.user.tenant_id, "conversation.invoice_resent", actor_kind="user",
                       actor_user_id=ctx.user.id, entity_type="conversation", entity_id=conv.id,
                       invoice_id=invoice.id, contract_id=invoice.contract_id,
                       document=mask_document(bound.document), messages=len(sent))
    messages = [await load_message(ctx.conn, message_id) for message_id in sent]
    await changed(request, ctx, conv.id, "invoice_resent", sends=tuple(sent))
    return messages
