"""Teams: everyone reads them (to transfer); admins create them and turn auto-assignment on or off."""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from api.deps import Tenant, state_of
from api.engine import assignment, audit
from api.routes.common import Admin, commit, conflict, error_responses, is_unique_violation, not_found
from api.schemas.teams import TeamCreate, TeamOut, TeamUpdate
from niochat.tables import team_members, teams

router = APIRouter(prefix="/teams", tags=["teams"], responses=error_responses(400, 401, 403, 404, 409, 422))
COLUMNS = (teams.c.id, teams.c.slug, teams.c.name, teams.c.auto_assign, teams.c.created_at)


@router.get("", response_model=list[TeamOut], summary="Teams and their members")
async def list_teams(ctx: Tenant) -> list[TeamOut]:
    members = defaultdict(list)
    for row in await ctx.conn.execute(select(team_members.c.team_id, team_members.c.user_id)):
        members[row.team_id].append(row.user_id)
    rows = await ctx.conn.execute(select(*COLUMNS).order_by(teams.c.name))
    return [TeamOut(**row._mapping, member_ids=members[row.id]) for row in rows]


@router.post("", response_model=TeamOut, status_code=status.HTTP_201_CREATED, summary="Create a team (admin)")
async def create_team(body: TeamCreate, ctx: Admin) -> TeamOut:
    try:
        row = (
            await ctx.conn.execute(
                insert(teams).values(tenant_id=ctx.user.tenant_id, slug=body.slug, name=body.name)
                .returning(*COLUMNS)
            )
        ).one()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise conflict(f"team '{body.slug}' already exists") from None
        raise
    await audit.record(ctx.conn, ctx.user.tenant_id, "team.create", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="team", entity_id=row.id, slug=body.slug)
    await commit(ctx)
    return TeamOut(**row._mapping, member_ids=[])


@router.patch("/{team_id}", response_model=TeamOut, summary="Rename a team or turn auto-assignment on or off (admin)")
async def update_team(team_id: uuid.UUID, body: TeamUpdate, ctx: Admin, request: Request) -> TeamOut:
    given = body.model_dump(exclude_unset=True)
    if any(value is None for value in given.values()):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "name and auto_assign cannot be null")
    statement = update(teams).where(teams.c.id == team_id).returning(*COLUMNS)
    row = (await ctx.conn.execute(statement.values(**given) if given else
                                  select(*COLUMNS).where(teams.c.id == team_id))).one_or_none()
    if row is None:
        raise not_found("team")
    await audit.record(ctx.conn, ctx.user.tenant_id, "team.update", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="team", entity_id=team_id, changed=",".join(sorted(given)), **given)
    state = state_of(request)
    moves = await assignment.fill(ctx.conn, state.redis, ctx.user.tenant_id) if given.get("auto_assign") else []
    members = list(await ctx.conn.scalars(select(team_members.c.user_id).where(team_members.c.team_id == team_id)))
    await commit(ctx)
    await assignment.announce(state.redis, ctx.user.tenant_id, moves)
    return TeamOut(**row._mapping, member_ids=members)
