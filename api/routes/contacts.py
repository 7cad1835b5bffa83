"""Contacts: the customers who wrote in, searchable by phone or name, scoped as their conversations are."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select

from api.deps import Tenant
from api.routes.common import Pages, error_responses, like_pattern, not_found
from api.routes.conversation_queries import contact_visible_to
from api.schemas.common import Page
from api.schemas.contacts import ContactOut
from niochat.tables import contacts

router = APIRouter(prefix="/contacts", tags=["contacts"], responses=error_responses(401, 404, 422))

COLUMNS = [getattr(contacts.c, name) for name in ContactOut.model_fields]


@router.get("", response_model=Page[ContactOut], summary="Contacts, most recently active first")
async def list_contacts(
    ctx: Tenant,
    pages: Pages,
    q: Annotated[str | None, Query(max_length=100, description="Part of the phone number or of the name")] = None,
) -> Page[ContactOut]:
    """Managers and admins see every contact of the tenant. An agent sees the contacts with a conversation they
    may see (as in `GET /conversations`): assigned to them, closed ones they held last included, or waiting in
    one of their teams' queues or the general queue. A customer they transferred away is no longer theirs."""
    where = [contacts.c.erased_at.is_(None), contact_visible_to(ctx.user)]  # an erased (LGPD) contact is nobody
    if q and q.strip():
        matches = [contacts.c.name.ilike(like_pattern(q.strip()), escape="\\")]
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 3:
            matches.append(contacts.c.phone.contains(digits, autoescape=True))
        where.append(or_(*matches))
    total = await ctx.conn.scalar(select(func.count()).select_from(contacts).where(*where))
    rows = await ctx.conn.execute(
        select(*COLUMNS).where(*where).order_by(contacts.c.updated_at.desc(), contacts.c.id)
        .limit(pages.limit).offset(pages.offset)
    )
    items = [ContactOut.model_validate(dict(row._mapping)) for row in rows]
    return Page(items=items, total=total, limit=pages.limit, offset=pages.offset)


@router.get("/{contact_id}", response_model=ContactOut, summary="One contact")
async def get_contact(contact_id: uuid.UUID, ctx: Tenant) -> ContactOut:
    """As in the list: a contact an agent may not see is a 404, as one that does not exist."""
    row = (
        await ctx.conn.execute(select(*COLUMNS).where(contacts.c.id == contact_id, contact_visible_to(ctx.user)))
    ).one_or_none()
    if row is None:
        raise not_found("contact")
    return ContactOut.model_validate(dict(row._mapping))
