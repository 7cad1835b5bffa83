"""Teams: everyone reads them (to transfer); admins create them."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, status
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from api.deps import Tenant
from api.engine import audit
from api.routes.common import Admin, commit, conflict, error_responses, is_unique_violation
from api.schemas.teams import TeamCreate, TeamOut
from niochat.tables import team_members, teams

router = APIRouter(prefix="/teams", tags=["teams"], responses=error_responses(400, 401, 403, 409, 422))


@router.get("", response_model=list[TeamOut], summary="Teams and their members")
async def list_teams(ctx: Tenant) -> list[TeamOut]:
    members = defaultdict(list)
    for row in await ctx.conn.execute(select(team_members.c.team_id, team_members.c.user_id)):
        members[row.team_id].append(row.user_id)
    rows = await ctx.conn.execute(
        select(teams.c.id, teams.c.slug, teams.c.name, teams.c.created_at).order_by(teams.c.name)
    )
    return [TeamOut(**row._mapping, member_ids=members[row.id]) for row in rows]


@router.post("", response_model=TeamOut, status_code=status.HTTP_201_CREATED, summary="Create a team (admin)")
async def create_team(body: TeamCreate, ctx: Admin) -> TeamOut:
    try:
        row = (
            await ctx.conn.execute(
                insert(teams).values(tenant_id=ctx.user.tenant_id, slug=body.slug, name=body.name)
                .returning(teams.c.id, teams.c.slug, teams.c.name, teams.c.created_at)
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
