"""Labels: admins define the tenant's (name, colour); whoever may act on a conversation adds and removes them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from api.deps import Tenant, TenantContext
from api.engine import audit
from api.routes.common import Admin, commit, conflict, error_responses, is_unique_violation, not_found
from api.routes.conversation_actions import changed, locked
from api.schemas.conversations import ConversationOut
from api.schemas.labels import ConversationLabelIn, LabelCreate, LabelOut, LabelPatch
from niochat.tables import conversation_labels, labels

router = APIRouter(prefix="/labels", tags=["labels"], responses=error_responses(400, 401, 403, 404, 409, 422))
on_conversations = APIRouter(prefix="/conversations", tags=["conversations"],
                             responses=error_responses(400, 401, 403, 404, 422))

COLUMNS = [getattr(labels.c, name) for name in LabelOut.model_fields]
NAME_KEY = "labels_name_key"


async def _audit(ctx: TenantContext, action: str, label_id: uuid.UUID, **details) -> None:
    await audit.record(ctx.conn, ctx.user.tenant_id, action, actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="label", entity_id=label_id, **details)


@router.get("", response_model=list[LabelOut], summary="The tenant's labels, by name (everyone: to label)")
async def list_labels(ctx: Tenant) -> list[LabelOut]:
    rows = await ctx.conn.execute(select(*COLUMNS).order_by(labels.c.name, labels.c.id))
    return [LabelOut.model_validate(dict(row._mapping)) for row in rows]


@router.post("", response_model=LabelOut, status_code=status.HTTP_201_CREATED, summary="Create a label (admin)")
async def create_label(body: LabelCreate, ctx: Admin) -> LabelOut:
    try:
        async with ctx.conn.begin_nested():
            row = (await ctx.conn.execute(insert(labels).values(tenant_id=ctx.user.tenant_id, name=body.name,
                                                                color=body.color).returning(*COLUMNS))).one()
    except IntegrityError as exc:
        if is_unique_violation(exc, NAME_KEY):
            raise conflict(f"a label named '{body.name}' already exists") from None
        raise
    await _audit(ctx, "label.create", row.id, name=body.name, color=body.color)
    await commit(ctx)
    return LabelOut.model_validate(dict(row._mapping))


@router.patch("/{label_id}", response_model=LabelOut, summary="Rename or recolour a label (admin)")
async def patch_label(label_id: uuid.UUID, body: LabelPatch, ctx: Admin) -> LabelOut:
    values = body.model_dump(exclude_unset=True)
    statement = update(labels).where(labels.c.id == label_id).returning(*COLUMNS)
    try:
        async with ctx.conn.begin_nested():
            row = (await ctx.conn.execute(statement.values(**values) if values else
                                          select(*COLUMNS).where(labels.c.id == label_id))).one_or_none()
    except IntegrityError as exc:
        if is_unique_violation(exc, NAME_KEY):
            raise conflict(f"a label named '{body.name}' already exists") from None
        raise
    if row is None:
        raise not_found("label")
    if values:
        await _audit(ctx, "label.update", label_id, changed=",".join(sorted(values)))
    await commit(ctx)
    return LabelOut.model_validate(dict(row._mapping))


@router.delete("/{label_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a label: it leaves every conversation (admin)")
async def delete_label(label_id: uuid.UUID, ctx: Admin) -> Response:
    name = await ctx.conn.scalar(delete(labels).where(labels.c.id == label_id).returning(labels.c.name))
    if name is None:
        raise not_found("label")
    await _audit(ctx, "label.delete", label_id, name=name)
    await commit(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@on_conversations.post("/{conversation_id}/labels", response_model=ConversationOut,
                       summary="Put a label on the conversation (nothing changes if it is there already)")
async def add_label(conversation_id: uuid.UUID, body: ConversationLabelIn, ctx: Tenant,
                    request: Request) -> ConversationOut:
    conv = await locked(ctx, conversation_id)
    if not await ctx.conn.scalar(select(labels.c.id).where(labels.c.id == body.label_id)):
        raise not_found("label")
    added = await ctx.conn.scalar(
        pg_insert(conversation_labels).values(tenant_id=ctx.user.tenant_id, conversation_id=conv.id,
                                              label_id=body.label_id, added_by_user_id=ctx.user.id)
        .on_conflict_do_nothing().returning(conversation_labels.c.label_id))
    if added:
        await audit.record(ctx.conn, ctx.user.tenant_id, "conversation.label", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="conversation", entity_id=conv.id,
                           label_id=body.label_id)
    return await changed(request, ctx, conv.id, "label")


@on_conversations.delete("/{conversation_id}/labels/{label_id}", response_model=ConversationOut,
                         summary="Take a label off the conversation")
async def remove_label(conversation_id: uuid.UUID, label_id: uuid.UUID, ctx: Tenant,
                       request: Request) -> ConversationOut:
    conv = await locked(ctx, conversation_id)
    removed = await ctx.conn.scalar(
        delete(conversation_labels).where(conversation_labels.c.conversation_id == conv.id,
                                          conversation_labels.c.label_id == label_id)
        .returning(conversation_labels.c.label_id))
    if removed is None:
        raise not_found("label on this conversation")
    await audit.record(ctx.conn, ctx.user.tenant_id, "conversation.unlabel", actor_kind="user",
                       actor_user_id=ctx.user.id, entity_type="conversation", entity_id=conv.id, label_id=label_id)
    return await changed(request, ctx, conv.id, "unlabel")
