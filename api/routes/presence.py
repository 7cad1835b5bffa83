"""Presence (PUT /me/presence) and the supervisors' view of agents' load (GET /agents/load).

The presence rule is api.engine.presence's; choosing online pulls waiting work (api.engine.assignment), offline
gives back what one had not answered yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, status
from redis.exceptions import RedisError
from sqlalchemy import func, select

from api.deps import Tenant, state_of
from api.engine import assignment, audit, live, presence
from api.routes.common import Manager, commit, error_responses
from api.schemas.presence import AgentLoadOut, PresenceIn, PresenceOut
from niochat.tables import conversations, team_members, tenants, users

router = APIRouter(tags=["people"], responses=error_responses(400, 401, 403, 422, 503))
UNAVAILABLE = "presence is unavailable right now (the live store does not answer); retry in a few seconds"


@contextmanager
def _live_store() -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE) from None


@router.put("/me/presence", response_model=PresenceOut, summary="Set one's presence: online, away or offline")
async def set_presence(body: PresenceIn, ctx: Tenant, request: Request) -> PresenceOut:
    state = state_of(request)
    tenant_id, user_id = ctx.user.tenant_id, ctx.user.id
    with _live_store():
        await presence.set_presence(state.redis, tenant_id, user_id, body.status)
    moves = []
    if body.status == "offline":
        moves += await assignment.give_back(ctx.conn, tenant_id, user_id, "agent_offline")
    if body.status != "away":  # online: room for work; offline: what was given back may go to others
        moves += await assignment.fill(ctx.conn, state.redis, tenant_id)
    await audit.record(ctx.conn, tenant_id, "user.presence", actor_kind="user", actor_user_id=user_id,
                       entity_type="user", entity_id=user_id, status=body.status)
    await commit(ctx)
    await assignment.announce(state.redis, tenant_id, moves)
    await live.publish(state.redis, tenant_id, "presence.updated", user_id=str(user_id), status=body.status)
    return PresenceOut(status=body.status, grace_seconds=presence.GRACE_SECONDS)


@router.get("/me/presence", response_model=PresenceOut, summary="One's presence now")
async def my_presence(ctx: Tenant, request: Request) -> PresenceOut:
    with _live_store():
        now = await presence.status_of(state_of(request).redis, ctx.user.tenant_id, ctx.user.id)
    return PresenceOut(status=now, grace_seconds=presence.GRACE_SECONDS)


def _since(column):
    return func.extract("epoch", func.now() - column)


@router.get("/agents/load", response_model=list[AgentLoadOut],
            summary="Each active agent's presence, load, waiting queues and first response today (manager+)")
async def agents_load(ctx: Manager, request: Request) -> list[AgentLoadOut]:
    conn = ctx.conn
    teams_of = defaultdict(set)
    for row in await conn.execute(select(team_members.c.user_id, team_members.c.team_id)):
        teams_of[row.user_id].add(row.team_id)
    people = (await conn.execute(
        select(users.c.id, users.c.name, users.c.role, users.c.capacity)
        .where(users.c.is_active, users.c.role != "superadmin").order_by(users.c.name, users.c.id)
    )).all()
    people = [row for row in people if row.role == "agent" or teams_of[row.id]]
    open_by = dict((await conn.execute(
        select(conversations.c.assignee_id, func.count()).where(conversations.c.status == "open",
                                                                conversations.c.assignee_id.is_not(None))
        .group_by(conversations.c.assignee_id))).all())
    waited = func.coalesce(conversations.c.handoff_at, conversations.c.created_at)
    queues = {row.team_id: row for row in await conn.execute(
        select(conversations.c.team_id, func.count().label("count"), func.max(_since(waited)).label("oldest"))
        .where(conversations.c.status == "waiting").group_by(conversations.c.team_id))}
    zone = ZoneInfo(await conn.scalar(select(tenants.c.timezone)))
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    response = func.extract("epoch", conversations.c.first_human_reply_at - waited)
    first = {row.assignee_id: row for row in await conn.execute(
        select(conversations.c.assignee_id, func.percentile_cont(0.5).within_group(response).label("median"),
               func.avg(response).label("avg"), func.count().label("count"))
        .where(conversations.c.first_human_reply_at >= today, conversations.c.assignee_id.is_not(None))
        .group_by(conversations.c.assignee_id))}
    with _live_store():
        present, _ = await presence.statuses(state_of(request).redis, ctx.user.tenant_id)
    out = []
    for person in people:
        mine = [queues[team] for team in (teams_of[person.id] | {None}) if team in queues]
        oldest = max((row.oldest for row in mine), default=None)
        answered = first.get(person.id)
        out.append(AgentLoadOut(
            user_id=person.id, name=person.name, role=person.role, presence=present.get(person.id, "offline"),
            capacity=person.capacity, open_conversations=open_by.get(person.id, 0),
            waiting=sum(row.count for row in mine),
            oldest_waiting_minutes=round(float(oldest) / 60, 1) if oldest is not None else None,
            first_response_median_seconds=float(answered.median) if answered else None,
            first_response_avg_seconds=float(answered.avg) if answered else None,
            answered_today=answered.count if answered else 0,
        ))
    return out
