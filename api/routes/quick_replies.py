"""Quick replies: admins keep the tenant's (some for one team); agents list the ones they may use.

Sending one is `POST /conversations/{id}/reply` with `quick_reply` (conversation_actions).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlalchemy import delete, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from api.deps import CurrentUser, Tenant, TenantContext
from api.engine import audit
from api.routes.common import Admin, commit, conflict, error_responses, is_unique_violation, not_found
from api.routes.conversation_queries import sees_everything
from api.schemas.quick_replies import QuickReplyCreate, QuickReplyOut, QuickReplyPatch
from niochat.tables import quick_replies, team_members, teams

router = APIRouter(prefix="/quick-replies", tags=["quick replies"],
                   responses=error_responses(400, 401, 403, 404, 409, 422))

COLUMNS = [getattr(quick_replies.c, name) for name in QuickReplyOut.model_fields]
SHORTCUT_KEY = "quick_replies_tenant_id_shortcut_key"


def usable_by(user: CurrentUser) -> ColumnElement[bool]:
    """Managers and admins may use every quick reply; an agent the tenant-wide ones and their teams'."""
    if sees_everything(user):
        return true()
    my_teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    return or_(quick_replies.c.team_id.is_(None), quick_replies.c.team_id.in_(my_teams))


async def _team_exists(ctx: TenantContext, team_id: uuid.UUID | None) -> None:
    if team_id is not None and not await ctx.conn.scalar(select(teams.c.id).where(teams.c.id == team_id)):
        raise not_found("team")


async def _audit(ctx: TenantContext, action: str, quick_reply_id: uuid.UUID, **details) -> None:
    await audit.record(ctx.conn, ctx.user.tenant_id, action, actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="quick_reply", entity_id=quick_reply_id, **details)


@router.get("", response_model=list[QuickReplyOut], summary="The quick replies the user may use, by shortcut")
async def list_quick_replies(ctx: Tenant) -> list[QuickReplyOut]:
    rows = await ctx.conn.execute(select(*COLUMNS).where(usable_by(ctx.user)).order_by(quick_replies.c.shortcut))
    return [QuickReplyOut.model_validate(dict(row._mapping)) for row in rows]


@router.post("", response_model=QuickReplyOut, status_code=status.HTTP_201_CREATED,
             summary="Create a quick reply (admin)")
async def create_quick_reply(body: QuickReplyCreate, ctx: Admin) -> QuickReplyOut:
    await _team_exists(ctx, body.team_id)
    try:
        async with ctx.conn.begin_nested():
            row = (await ctx.conn.execute(insert(quick_replies).values(
                tenant_id=ctx.user.tenant_id, **body.model_dump()).returning(*COLUMNS))).one()
    except IntegrityError as exc:
        if is_unique_violation(exc, SHORTCUT_KEY):
            raise conflict(f"the shortcut /{body.shortcut} is already taken") from None
        raise
    await _audit(ctx, "quick_reply.create", row.id, shortcut=row.shortcut)
    await commit(ctx)
    return QuickReplyOut.model_validate(dict(row._mapping))


@router.patch("/{quick_reply_id}", response_model=QuickReplyOut, summary="Change a quick reply (admin)")
async def patch_quick_reply(quick_reply_id: uuid.UUID, body: QuickReplyPatch, ctx: Admin) -> QuickReplyOut:
    values = body.model_dump(exclude_unset=True)
    if not await ctx.conn.scalar(select(quick_replies.c.id).where(quick_replies.c.id == quick_reply_id)):
        raise not_found("quick reply")
    await _team_exists(ctx, values.get("team_id"))
    try:
        async with ctx.conn.begin_nested():
            row = (await ctx.conn.execute(
                update(quick_replies).where(quick_replies.c.id == quick_reply_id).values(**values).returning(*COLUMNS)
                if values else select(*COLUMNS).where(quick_replies.c.id == quick_reply_id))).one()
    except IntegrityError as exc:
        if is_unique_violation(exc, SHORTCUT_KEY):
            raise conflict(f"the shortcut /{body.shortcut} is already taken") from None
        raise
    if values:
        await _audit(ctx, "quick_reply.update", quick_reply_id, changed=",".join(sorted(values)))
    await commit(ctx)
    return QuickReplyOut.model_validate(dict(row._mapping))


@router.delete("/{quick_reply_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a quick reply (admin)")
async def delete_quick_reply(quick_reply_id: uuid.UUID, ctx: Admin) -> Response:
    shortcut = await ctx.conn.scalar(delete(quick_replies).where(quick_replies.c.id == quick_reply_id)
                                     .returning(quick_replies.c.shortcut))
    if shortcut is None:
        raise not_found("quick reply")
    await _audit(ctx, "quick_reply.delete", quick_reply_id, shortcut=shortcut)
    await commit(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
