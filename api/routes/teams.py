"""Teams: everyone reads them (to transfer); admins create, rename and delete them, put people in and out, and
turn auto-assignment on or off (api.engine.assignment).

A team that conversations were ever in is kept (their history and the metrics name it): it can be renamed only.
Deleting one takes its memberships and its quick replies with it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from api.deps import Tenant, TenantContext, state_of
from api.engine import assignment, audit
from api.routes.common import Admin, commit, conflict, error_responses, is_unique_violation, not_found
from api.schemas.teams import TeamCreate, TeamOut, TeamPatch
from niochat.tables import team_members, teams, users

router = APIRouter(prefix="/teams", tags=["teams"], responses=error_responses(400, 401, 403, 404, 409, 422))
COLUMNS = [teams.c.id, teams.c.slug, teams.c.name, teams.c.auto_assign, teams.c.created_at]
FOREIGN_KEY_VIOLATION = "23503"


@router.get("", response_model=list[TeamOut], summary="Teams and their members")
async def list_teams(ctx: Tenant) -> list[TeamOut]:
    members = defaultdict(list)
    for row in await ctx.conn.execute(select(team_members.c.team_id, team_members.c.user_id)):
        members[row.team_id].append(row.user_id)
    rows = await ctx.conn.execute(
        select(*COLUMNS).order_by(teams.c.name)
    )
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


async def _members(ctx: TenantContext, team_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await ctx.conn.execute(select(team_members.c.user_id).where(team_members.c.team_id == team_id)))
                .scalars())


@router.patch("/{team_id}", response_model=TeamOut, summary="Rename a team or turn auto-assignment on or off (admin)")
async def update_team(team_id: uuid.UUID, body: TeamPatch, ctx: Admin, request: Request) -> TeamOut:
    given = body.model_dump(exclude_unset=True)
    if any(value is None for value in given.values()):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "name and auto_assign cannot be null")
    found = (update(teams).where(teams.c.id == team_id).values(**given).returning(*COLUMNS) if given
             else select(*COLUMNS).where(teams.c.id == team_id))
    row = (await ctx.conn.execute(found)).one_or_none()
    if row is None:
        raise not_found("team")
    await audit.record(ctx.conn, ctx.user.tenant_id, "team.update", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="team", entity_id=team_id, **given)
    state = state_of(request)
    moves = await assignment.fill(ctx.conn, state.redis, ctx.user.tenant_id) if given.get("auto_assign") else []
    result = TeamOut(**row._mapping, member_ids=await _members(ctx, team_id))
    await commit(ctx)
    await assignment.announce(state.redis, ctx.user.tenant_id, moves)
    return result


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a team no conversation was ever in, with its memberships and quick replies (admin)")
async def delete_team(team_id: uuid.UUID, ctx: Admin) -> Response:
    try:
        async with ctx.conn.begin_nested():
            slug = await ctx.conn.scalar(delete(teams).where(teams.c.id == team_id).returning(teams.c.slug))
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION:  # conversations name it
            raise conflict("the team has conversations; rename it instead") from None
        raise
    if slug is None:
        raise not_found("team")
    await audit.record(ctx.conn, ctx.user.tenant_id, "team.delete", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="team", entity_id=team_id, slug=slug)
    await commit(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _team_and_user(ctx: TenantContext, team_id: uuid.UUID, user_id: uuid.UUID):
    team = (await ctx.conn.execute(select(*COLUMNS).where(teams.c.id == team_id))).one_or_none()
    if team is None:
        raise not_found("team")
    if not await ctx.conn.scalar(select(users.c.id).where(users.c.id == user_id)):
        raise not_found("user")
    return team


@router.put("/{team_id}/members/{user_id}", response_model=TeamOut,
            summary="Put a user in the team (nothing changes if they are in it already) (admin)")
async def add_member(team_id: uuid.UUID, user_id: uuid.UUID, ctx: Admin) -> TeamOut:
    team = await _team_and_user(ctx, team_id, user_id)
    added = await ctx.conn.scalar(
        pg_insert(team_members).values(tenant_id=ctx.user.tenant_id, team_id=team_id, user_id=user_id)
        .on_conflict_do_nothing().returning(team_members.c.user_id))
    if added:
        await audit.record(ctx.conn, ctx.user.tenant_id, "team.member_add", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="team", entity_id=team_id, user_id=user_id)
    result = TeamOut(**team._mapping, member_ids=await _members(ctx, team_id))
    await commit(ctx)
    return result


@router.delete("/{team_id}/members/{user_id}", response_model=TeamOut,
               summary="Take a user out of the team (nothing changes if they are not in it) (admin)")
async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID, ctx: Admin) -> TeamOut:
    team = await _team_and_user(ctx, team_id, user_id)
    removed = await ctx.conn.scalar(
        delete(team_members).where(team_members.c.team_id == team_id, team_members.c.user_id == user_id)
        .returning(team_members.c.user_id))
    if removed:
        await audit.record(ctx.conn, ctx.user.tenant_id, "team.member_remove", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="team", entity_id=team_id, user_id=user_id)
    result = TeamOut(**team._mapping, member_ids=await _members(ctx, team_id))
    await commit(ctx)
    return result
