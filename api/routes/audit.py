"""The audit log, newest first (manager+)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from api.routes.common import Manager, Pages, day_bounds, error_responses
from api.schemas.audit import AuditEntryOut
from api.schemas.common import Page
from niochat.tables import audit_log, users

router = APIRouter(prefix="/audit", tags=["audit"], responses=error_responses(401, 403, 422))


@router.get("", response_model=Page[AuditEntryOut], summary="Who did what, newest first (manager+)")
async def list_audit(
    ctx: Manager,
    pages: Pages,
    action: Annotated[str | None, Query(max_length=100, description="e.g. conversation.close, login")] = None,
    actor_user_id: Annotated[uuid.UUID | None, Query()] = None,
    entity_type: Annotated[str | None, Query(max_length=100)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    created_from: Annotated[date | None, Query(description="First day (tenant's timezone), inclusive")] = None,
    created_to: Annotated[date | None, Query(description="Last day (tenant's timezone), inclusive")] = None,
) -> Page[AuditEntryOut]:
    start, end = await day_bounds(ctx.conn, created_from, created_to)
    where = []
    for column, value in (
        (audit_log.c.action, action), (audit_log.c.actor_user_id, actor_user_id),
        (audit_log.c.entity_type, entity_type), (audit_log.c.entity_id, entity_id),
    ):
        if value is not None:
            where.append(column == value)
    if start is not None:
        where.append(audit_log.c.created_at >= start)
    if end is not None:
        where.append(audit_log.c.created_at < end)
    total = await ctx.conn.scalar(select(func.count()).select_from(audit_log).where(*where))
    rows = await ctx.conn.execute(
        select(
            audit_log.c.id, audit_log.c.created_at, audit_log.c.actor_kind, audit_log.c.actor_user_id,
            users.c.name.label("actor_name"), audit_log.c.action, audit_log.c.entity_type, audit_log.c.entity_id,
            audit_log.c.details,
        )
        .outerjoin(users, users.c.id == audit_log.c.actor_user_id)
        .where(*where)
        .order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc())
        .limit(pages.limit).offset(pages.offset)
    )
    items = [AuditEntryOut.model_validate(dict(row._mapping)) for row in rows]
    return Page(items=items, total=total, limit=pages.limit, offset=pages.offset)
