"""Satisfaction survey (CSAT) answers and their summary, with the marts' definitions of the numbers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import func, select, true
from sqlalchemy.sql.elements import ColumnElement

from api.deps import CurrentUser, Tenant
from api.routes.common import Pages, day_bounds, error_responses
from api.schemas.common import Page
from api.schemas.conversations import ContactBrief
from api.schemas.csat import CsatResponseOut, CsatSummaryOut
from niochat import csat_counts, kpis
from niochat.tables import contacts, conversations, csat_requests, csat_responses, users

router = APIRouter(prefix="/csat", tags=["csat"], responses=error_responses(401, 422))

Rating = Annotated[int, Field(ge=1, le=5)]
DateFrom = Annotated[date | None, Query(description="First day (tenant's timezone), inclusive")]
DateTo = Annotated[date | None, Query(description="Last day (tenant's timezone), inclusive")]
AgentId = Annotated[uuid.UUID | None, Query(description="The agent the survey was about (the request's agent)")]


def _visible_to(user: CurrentUser) -> ColumnElement[bool]:
    """Managers and admins see the whole tenant; an agent sees the surveys of conversations assigned to them."""
    if user.role != "agent":
        return true()
    return csat_requests.c.conversation_id.in_(select(conversations.c.id).where(conversations.c.assignee_id == user.id))


def _window(column, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    return [condition for condition in (
        column >= start if start is not None else None,
        column < end if end is not None else None,
    ) if condition is not None]


def _response_filters(user: CurrentUser, start, end, agent_id) -> list[ColumnElement[bool]]:
    where = [_visible_to(user), *_window(csat_responses.c.created_at, start, end)]
    if agent_id is not None:
        where.append(csat_requests.c.agent_id == agent_id)
    return where


def _responses_from():
    return csat_responses.join(csat_requests, csat_requests.c.id == csat_responses.c.csat_request_id)


@router.get("", response_model=Page[CsatResponseOut], summary="Survey answers, newest first")
async def list_csat(
    ctx: Tenant,
    pages: Pages,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    agent_id: AgentId = None,
    rating: Annotated[list[Rating] | None, Query(description="Only these ratings (repeat: rating=1&rating=2)")] = None,
) -> Page[CsatResponseOut]:
    """The customers' answers to the satisfaction survey, filtered by the day of the answer (tenant's timezone),
    the agent the survey was about and the rating.

    Managers and admins see every answer of the tenant; an agent sees the answers about the conversations
    assigned to them.
    """
    start, end = await day_bounds(ctx.conn, date_from, date_to)
    where = _response_filters(ctx.user, start, end, agent_id)
    if rating:
        where.append(csat_responses.c.rating.in_(sorted(set(rating))))
    total = await ctx.conn.scalar(select(func.count()).select_from(_responses_from()).where(*where))
    agent = users.alias("agent")
    rows = await ctx.conn.execute(
        select(
            csat_responses.c.id, csat_responses.c.conversation_id, csat_responses.c.rating,
            csat_responses.c.sentiment, csat_responses.c.comment, csat_responses.c.raw_text,
            csat_responses.c.understood_by, csat_responses.c.created_at, csat_requests.c.sent_at,
            csat_requests.c.agent_id, agent.c.name.label("agent_name"), contacts.c.id.label("contact_id"),
            contacts.c.name.label("contact_name"), contacts.c.phone.label("contact_phone"),
        )
        .select_from(
            _responses_from()
            .join(contacts, contacts.c.id == csat_requests.c.contact_id)
            .outerjoin(agent, agent.c.id == csat_requests.c.agent_id)
        )
        .where(*where)
        .order_by(csat_responses.c.created_at.desc(), csat_responses.c.id.desc())
        .limit(pages.limit).offset(pages.offset)
    )
    items = []
    for row in rows:
        values = dict(row._mapping)
        contact = ContactBrief(id=values.pop("contact_id"), name=values.pop("contact_name"),
                               phone=values.pop("contact_phone"))
        items.append(CsatResponseOut.model_validate({**values, "contact": contact}))
    return Page(items=items, total=total, limit=pages.limit, offset=pages.offset)


@router.get("/summary", response_model=CsatSummaryOut, summary="CSAT score, response rate, average, distribution")
async def csat_summary(
    ctx: Tenant,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    agent_id: AgentId = None,
) -> CsatSummaryOut:
    """The survey's numbers for a period, read live from the conversations (not from the warehouse), with the
    marts' definitions and scale (dbt's `agg_tenant_daily_kpis` / `agg_agent_daily_kpis`, see
    dbt_project/README.md): the same rows give the dashboards' figures.

    - `answers` = answers given in the period (by the answer's time)
    - `surveys_sent` = surveys sent in the period: those with a send time in it, and an answered survey whose send
      time was not recorded, at its answer's time
    - `satisfaction_score` = answers rated 4 or 5 / answers, a percentage 0..100 with 2 decimals (the marts'
      `csat_score_pct`); null without answers
    - `response_rate` = of the surveys sent in the period, those answered (whenever the answer came), a percentage
      0..100 with 2 decimals (`csat_response_rate_pct`); null when none was sent
    - `average_rating` = sum of ratings / answers, 1..5 with 2 decimals (`csat_average`); null without answers
    - `distribution` = answers per rating, "1" to "5"

    Days are the tenant's (its timezone), both ends inclusive. `agent_id` keeps the surveys about that agent.
    Managers and admins see the whole tenant; an agent sees the numbers of the conversations assigned to them.
    """
    start, end = await day_bounds(ctx.conn, date_from, date_to)
    where = [_visible_to(ctx.user)]
    if agent_id is not None:
        where.append(csat_requests.c.agent_id == agent_id)
    counts = dict((await ctx.conn.execute(csat_counts.answers(start, end, *where))).one()._mapping)
    counts |= dict((await ctx.conn.execute(csat_counts.surveys(start, end, *where))).one()._mapping)
    figures = {column: None if value is None else float(value)
               for column, value in kpis.figures(kpis.CSAT, counts).items()}
    return CsatSummaryOut(
        surveys_sent=counts["csat_surveys_sent"],
        answers=counts["csat_responses"],
        satisfaction_score=figures["csat_score_pct"],
        response_rate=figures["csat_response_rate_pct"],
        average_rating=figures["csat_average"],
        distribution={str(value): counts[f"csat_responses_rated_{value}"] for value in csat_counts.RATINGS},
    )
