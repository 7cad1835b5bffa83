"""What agents do to a conversation: take, reply, assign, transfer, hand back to the bot, close, reopen, and
their internal notes.

Each action runs in the request's tenant transaction (the handoff functions write their own audit entries),
commits, and only then enqueues the WhatsApp sends and publishes the live event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from api.deps import CurrentUser, Tenant, TenantContext, state_of
from api.engine import assignment, audit, handoff, live
from api.engine.attachments import attachment_media, decoded
from api.engine.handoff import Actor, TransitionError
from api.engine.outbound import queue_media, queue_text
from api.engine.queue import enqueue_send
from api.engine.quick_replies import outbound_media
from api.engine.reply_window import reply_refusal
from api.routes.common import commit, conflict, error_responses, is_unique_violation, not_found
from api.routes.conversation_queries import in_queues_of, load_conversation, load_message, visible_to
from api.routes.quick_reply_sending import Content, expand_quick_reply, typed_shortcut
from api.schemas.conversations import (
    AssignIn,
    CloseIn,
    ConversationOut,
    MessageOut,
    NoteIn,
    NoteOut,
    ReplyIn,
    TransferIn,
)
from niochat.tables import conversation_notes, conversations, teams, users

router = APIRouter(prefix="/conversations", tags=["conversations"],
                   responses=error_responses(400, 401, 403, 404, 409, 422))

ONE_ACTIVE = "conversations_one_active_key"
# actions that queue a conversation or free an agent's capacity: auto-assignment runs after them
FILLS = frozenset({"transfer", "close", "handback"})


def _actor(user: CurrentUser) -> Actor:
    return Actor("user", user.id)


@contextmanager
def _transition() -> Iterator[None]:
    try:
        yield
    except TransitionError as exc:
        raise conflict(str(exc)) from None


async def locked(ctx: TenantContext, conversation_id: uuid.UUID):
    """The conversation, locked for this transaction, if the user may see it; else 404."""
    row = (
        await ctx.conn.execute(
            select(conversations).where(conversations.c.id == conversation_id, visible_to(ctx.user))
            .with_for_update(of=conversations)
        )
    ).one_or_none()
    if row is None:
        raise not_found("conversation")
    return row


async def _active_user(ctx: TenantContext, user_id: uuid.UUID) -> None:
    is_active = await ctx.conn.scalar(select(users.c.is_active).where(users.c.id == user_id))
    if is_active is None:
        raise not_found("user")
    if not is_active:
        raise conflict("that user is disabled")


async def changed(request: Request, ctx: TenantContext, conversation_id: uuid.UUID, action: str,
                   sends: tuple[uuid.UUID, ...] = ()) -> ConversationOut:
    """Auto-assign what waits (after actions in FILLS), read the result, commit, then tell the worker and the
    live channel."""
    state = state_of(request)
    moves = await assignment.fill(ctx.conn, state.redis, ctx.user.tenant_id) if action in FILLS else []
    result = await load_conversation(ctx.conn, conversation_id)
    await commit(ctx)
    for message_id in sends:
        await enqueue_send(state.arq, ctx.user.tenant_id, message_id)
        await live.publish(state.redis, ctx.user.tenant_id, "message.created", conversation_id=str(conversation_id),
                           message_id=str(message_id), direction="outbound")
    await live.publish(state.redis, ctx.user.tenant_id, "conversation.updated", conversation_id=str(conversation_id),
                       action=action, status=result.status, assignee_id=result.assignee_id, team_id=result.team_id)
    await assignment.announce(state.redis, ctx.user.tenant_id, moves)
    return result


@router.post("/{conversation_id}/reply", response_model=MessageOut, status_code=status.HTTP_201_CREATED,
             responses=error_responses(413),  # an attachment can carry a body past the API's cap
             summary="Send a WhatsApp message as the agent (takes the conversation if nobody has it)")
async def reply(conversation_id: uuid.UUID, body: ReplyIn, ctx: Tenant, request: Request) -> MessageOut:
    """`quick_reply` (or the text "/shortcut" alone) sends that quick reply, its variables filled in from the
    contact, the conversation and the agent; one it cannot fill is a 422 and nothing is sent. Refused with a 409,
    nothing sent: a closed conversation, one another agent took meanwhile (the detail says who), and one whose
    customer last wrote more than 24 hours ago (WhatsApp's window)."""
    try:
        conv = await locked(ctx, conversation_id)
    except HTTPException:  # out of sight (locked's 404): another agent may have taken it meanwhile, say who
        raise await _taken_elsewhere(ctx, conversation_id) from None
    if conv.status == "closed":
        raise conflict("conversation is closed; reopen it first")
    if refusal := await reply_refusal(ctx.conn, conv.id):
        raise conflict(refusal)
    shortcut = None if body.attachment else body.quick_reply or typed_shortcut(body.text)
    content = await expand_quick_reply(ctx, conv, shortcut) if shortcut else Content(body.text or "")
    if conv.status in ("bot", "waiting") or conv.assignee_id is None:
        with _transition():
            await handoff.assign(ctx.conn, conv.id, ctx.user.id, actor=_actor(ctx.user))
    if file := body.attachment:  # its caption stands in for it if the provider refuses the file
        media = attachment_media(file.mime, decoded(file.mime, file.data), file.file_name, body.text)
        message_id = await queue_media(ctx.conn, ctx.user.tenant_id, conv.id, conv.channel_id, media,
                                       fallback_text=body.text or "", sender_kind="agent", sender_user_id=ctx.user.id)
    elif content.media_url:
        message_id = await queue_media(ctx.conn, ctx.user.tenant_id, conv.id, conv.channel_id,
                                       outbound_media(content.media_url, content.text), fallback_text=content.text,
                                       sender_kind="agent", sender_user_id=ctx.user.id)
    else:
        message_id = await queue_text(ctx.conn, ctx.user.tenant_id, conv.id, conv.channel_id, content.text,
                                      sender_kind="agent", sender_user_id=ctx.user.id)
    await audit.record(ctx.conn, ctx.user.tenant_id, "conversation.reply", actor_kind="user",
                       actor_user_id=ctx.user.id, entity_type="conversation", entity_id=conv.id,
                       message_id=message_id, **({"quick_reply": shortcut} if shortcut else {}),
                       **({"attachment": body.attachment.mime} if body.attachment else {}))
    message = await load_message(ctx.conn, message_id)
    await changed(request, ctx, conv.id, "reply", sends=(message_id,))
    return message


@router.post("/{conversation_id}/assign", response_model=ConversationOut,
             summary="Assign to an agent (agents may only take conversations themselves)")
async def assign(conversation_id: uuid.UUID, body: AssignIn, ctx: Tenant, request: Request) -> ConversationOut:
    if ctx.user.role == "agent" and body.user_id != ctx.user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "agents can only assign conversations to themselves")
    conv = await locked(ctx, conversation_id)
    await _active_user(ctx, body.user_id)
    with _transition():
        await handoff.assign(ctx.conn, conv.id, body.user_id, actor=_actor(ctx.user))
    return await changed(request, ctx, conv.id, "assign")


@router.post("/{conversation_id}/transfer", response_model=ConversationOut,
             summary="Transfer to a team's queue (or the general queue), or straight to an agent")
async def transfer(conversation_id: uuid.UUID, body: TransferIn, ctx: Tenant, request: Request) -> ConversationOut:
    conv = await locked(ctx, conversation_id)
    actor = _actor(ctx.user)
    reason = body.reason or "transfer"
    sends: tuple[uuid.UUID, ...] = ()
    if body.user_id is not None:
        await _active_user(ctx, body.user_id)
        with _transition():
            await handoff.assign(ctx.conn, conv.id, body.user_id, actor=actor)
        await audit.record(ctx.conn, ctx.user.tenant_id, "conversation.transfer", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="conversation", entity_id=conv.id,
                           assignee_id=body.user_id, reason=reason)
    else:
        if body.team_id is not None and not await ctx.conn.scalar(select(teams.c.id).where(teams.c.id == body.team_id)):
            raise not_found("team")
        with _transition():
            notice = await handoff.to_queue(ctx.conn, conv.id, actor=actor, reason=reason, team_id=body.team_id)
        message_id = await queue_text(ctx.conn, ctx.user.tenant_id, conv.id, conv.channel_id, notice, sender_kind="bot")
        sends = (message_id,) if message_id else ()
    return await changed(request, ctx, conv.id, "transfer", sends=sends)


@router.post("/{conversation_id}/close", response_model=ConversationOut, summary="Close the conversation")
async def close(
    conversation_id: uuid.UUID, ctx: Tenant, request: Request, body: CloseIn | None = None
) -> ConversationOut:
    conv = await locked(ctx, conversation_id)
    with _transition():
        await handoff.close(
            ctx.conn, conv.id, actor=_actor(ctx.user), reason=body.reason if body else None,
            csat_delay=timedelta(seconds=state_of(request).settings.csat_delay_seconds),
        )
    return await changed(request, ctx, conv.id, "close")


@router.post("/{conversation_id}/reopen", response_model=ConversationOut,
             summary="Reopen a closed conversation, assigned to whoever reopens it")
async def reopen(conversation_id: uuid.UUID, ctx: Tenant, request: Request) -> ConversationOut:
    conv = await locked(ctx, conversation_id)
    try:
        with _transition():
            await handoff.reopen(ctx.conn, conv.id, actor=_actor(ctx.user))
    except IntegrityError as exc:
        if is_unique_violation(exc, ONE_ACTIVE):
            raise conflict("the contact already has another active conversation on this channel") from None
        raise
    return await changed(request, ctx, conv.id, "reopen")


@router.post("/{conversation_id}/take", response_model=ConversationOut,
             summary="Take a conversation nobody holds (with the bot or waiting): of two agents at once, one wins")
async def take(conversation_id: uuid.UUID, ctx: Tenant, request: Request) -> ConversationOut:
    """One conditional update: if another agent took it first, or it is closed, 409 says so and who holds it
    (in Portuguese, for the agent's screen); nothing changes."""
    if await handoff.take(ctx.conn, conversation_id, ctx.user.id, actor=_actor(ctx.user), visible=visible_to(ctx.user)):
        return await changed(request, ctx, conversation_id, "take")
    raise await _taken_elsewhere(ctx, conversation_id)


async def _taken_elsewhere(ctx: TenantContext, conversation_id: uuid.UUID) -> HTTPException:
    """Why the user may not act on a conversation out of their sight: 409 with who holds it (or that it was
    closed) when it was in one of their queues, else 404."""
    conv = (await ctx.conn.execute(select(conversations.c.status, users.c.name).select_from(
        conversations.outerjoin(users, users.c.id == conversations.c.assignee_id))
        .where(conversations.c.id == conversation_id, or_(visible_to(ctx.user), in_queues_of(ctx.user))))
    ).one_or_none()
    if conv is None:
        return not_found("conversation")
    if conv.status == "closed":
        return conflict("Esta conversa já foi encerrada; reabra-a para atender.")
    return conflict(f"Esta conversa já está com {conv.name}." if conv.name else "Esta conversa já está em atendimento.")


@router.post("/{conversation_id}/handback", response_model=ConversationOut,
             summary="Give the conversation back to the bot without closing it")
async def hand_back(conversation_id: uuid.UUID, ctx: Tenant, request: Request) -> ConversationOut:
    """The bot answers the customer's next message; nothing is sent now. Agents hand back what they may see (theirs,
    or waiting in their teams' queues); managers any conversation."""
    conv = await locked(ctx, conversation_id)
    with _transition():
        await handoff.hand_back(ctx.conn, conv.id, actor=_actor(ctx.user))
    return await changed(request, ctx, conv.id, "handback")


def _note_select():
    return (
        select(conversation_notes.c.id, conversation_notes.c.conversation_id, conversation_notes.c.author_user_id,
               users.c.name.label("author_name"), conversation_notes.c.text, conversation_notes.c.created_at)
        .select_from(conversation_notes.outerjoin(users, users.c.id == conversation_notes.c.author_user_id))
    )


@router.post("/{conversation_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED,
             summary="An internal note: for the team, never sent to the customer")
async def add_note(conversation_id: uuid.UUID, body: NoteIn, ctx: Tenant, request: Request) -> NoteOut:
    conv = await locked(ctx, conversation_id)
    note_id = await ctx.conn.scalar(
        conversation_notes.insert().values(tenant_id=ctx.user.tenant_id, conversation_id=conv.id,
                                           author_user_id=ctx.user.id, text=body.text)
        .returning(conversation_notes.c.id))
    await audit.record(ctx.conn, ctx.user.tenant_id, "conversation.note", actor_kind="user",
                       actor_user_id=ctx.user.id, entity_type="conversation", entity_id=conv.id, note_id=note_id)
    note = NoteOut.model_validate((await ctx.conn.execute(
        _note_select().where(conversation_notes.c.id == note_id))).one())
    await commit(ctx)
    await live.publish(state_of(request).redis, ctx.user.tenant_id, "note.created", conversation_id=str(conv.id),
                       note_id=str(note_id))
    return note


@router.get("/{conversation_id}/notes", response_model=list[NoteOut], summary="Its internal notes, oldest first")
async def list_notes(conversation_id: uuid.UUID, ctx: Tenant) -> list[NoteOut]:
    visible = await ctx.conn.scalar(
        select(conversations.c.id).where(conversations.c.id == conversation_id, visible_to(ctx.user)))
    if visible is None:
        raise not_found("conversation")
    rows = (await ctx.conn.execute(_note_select().where(conversation_notes.c.conversation_id == conversation_id)
                                   .order_by(conversation_notes.c.created_at, conversation_notes.c.id))).all()
    return [NoteOut.model_validate(row) for row in rows]
