"""Reading conversations: the filtered list, one conversation, its messages. Actions are in conversation_actions."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import case, func, select

from api.deps import Tenant
from api.routes.common import Pages, day_bounds, error_responses, not_found
from api.routes.conversation_queries import MESSAGE_COLUMNS, conversation_out, conversation_select, visible_to
from api.schemas.common import Page
from api.schemas.conversations import ConversationOut, MessageOut
from niochat.tables import conversation_labels, conversations, messages

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=error_responses(401, 404, 422))

Status = Literal["bot", "waiting", "open", "closed"]  # niochat.vocabulary (tests/unit/test_vocabulary.py)
Order = Literal["activity", "waiting", "queue"]


@router.get("", response_model=Page[ConversationOut], summary="Conversations, newest activity first")
async def list_conversations(
    ctx: Tenant,
    pages: Pages,
    status: Annotated[list[Status] | None, Query(description="Repeat for several (any of them)")] = None,
    assignee_id: Annotated[uuid.UUID | None, Query()] = None,
    team_id: Annotated[list[uuid.UUID] | None, Query(description="Repeat for several (any of them)")] = None,
    contact_id: Annotated[uuid.UUID | None, Query()] = None,
    channel_id: Annotated[uuid.UUID | None, Query()] = None,
    label_id: Annotated[uuid.UUID | None, Query(description="Only conversations with this label")] = None,
    unassigned: Annotated[bool | None, Query(description="true: nobody holds them; false: somebody does")] = None,
    created_from: Annotated[date | None, Query(description="First day (tenant's timezone), inclusive")] = None,
    created_to: Annotated[date | None, Query(description="Last day (tenant's timezone), inclusive")] = None,
    order: Annotated[Order, Query(description="activity: newest activity first; waiting: longest waiting for a "
                                              "person first (by handoff time), as a queue is worked; queue: the "
                                              "waiting ones first in that order, then the rest by newest "
                                              "activity (the workspace's inbox)")] = "activity",
) -> Page[ConversationOut]:
    """Agents see their own conversations and the waiting queues of their teams; managers see everything."""
    start, end = await day_bounds(ctx.conn, created_from, created_to)
    where = [visible_to(ctx.user)]
    for column, value in (
        (conversations.c.assignee_id, assignee_id), (conversations.c.contact_id, contact_id),
        (conversations.c.channel_id, channel_id),
    ):
        if value is not None:
            where.append(column == value)
    for column, values in ((conversations.c.status, status), (conversations.c.team_id, team_id)):
        if values:
            where.append(column.in_(values))
    if label_id is not None:
        where.append(select(conversation_labels.c.label_id).where(
            conversation_labels.c.conversation_id == conversations.c.id, conversation_labels.c.label_id == label_id,
        ).exists())
    if unassigned is not None:
        where.append(conversations.c.assignee_id.is_(None) if unassigned else conversations.c.assignee_id.is_not(None))
    if start is not None:
        where.append(conversations.c.created_at >= start)
    if end is not None:
        where.append(conversations.c.created_at < end)
    total = await ctx.conn.scalar(select(func.count()).select_from(conversations).where(*where))
    # The page's ids first, then what each row shows: joined before the limit, the last message's lateral probe
    # ran once per matching conversation (6000 for a manager's open ones) to show 100 (bench/workspace.py).
    page = select(conversations.c.id).where(*where).order_by(*_sort(order)).limit(pages.limit).offset(pages.offset)
    rows = await ctx.conn.execute(
        conversation_select(ctx.user.id).where(conversations.c.id.in_(page)).order_by(*_sort(order)))
    return Page(items=[conversation_out(row) for row in rows], total=total, limit=pages.limit, offset=pages.offset)


def _sort(order: Order) -> tuple:
    handed_off = func.coalesce(conversations.c.handoff_at, conversations.c.created_at)
    activity = func.coalesce(conversations.c.last_message_at, conversations.c.created_at)
    if order == "waiting":
        return handed_off.asc(), conversations.c.id.asc()
    if order == "queue":  # one order over both, so a page through the union is a page of what the inbox shows
        waiting = conversations.c.status == "waiting"
        return (waiting.desc(), case((waiting, handed_off)).asc(), activity.desc(), conversations.c.id.desc())
    return activity.desc(), conversations.c.id.desc()


async def _visible_or_404(ctx, conversation_id: uuid.UUID):
    row = (
        await ctx.conn.execute(
            conversation_select(ctx.user.id).where(conversations.c.id == conversation_id, visible_to(ctx.user))
        )
    ).one_or_none()
    if row is None:
        raise not_found("conversation")
    return row


@router.get("/{conversation_id}", response_model=ConversationOut, summary="One conversation")
async def get_conversation(conversation_id: uuid.UUID, ctx: Tenant) -> ConversationOut:
    return conversation_out(await _visible_or_404(ctx, conversation_id))


@router.get("/{conversation_id}/messages", response_model=Page[MessageOut], summary="Its messages, oldest first")
async def list_messages(conversation_id: uuid.UUID, ctx: Tenant, pages: Pages) -> Page[MessageOut]:
    await _visible_or_404(ctx, conversation_id)
    where = messages.c.conversation_id == conversation_id
    total = await ctx.conn.scalar(select(func.count()).select_from(messages).where(where))
    rows = await ctx.conn.execute(
        select(*MESSAGE_COLUMNS).where(where).order_by(messages.c.created_at, messages.c.id)
        .limit(pages.limit).offset(pages.offset)
    )
    items = [MessageOut.model_validate(dict(row._mapping)) for row in rows]
    return Page(items=items, total=total, limit=pages.limit, offset=pages.offset)
