"""Users of the tenant: managers list them; admins create, change and disable them.

A disabled user's tokens stop working on the next request (the tenant dependency checks on every request).
Only a superadmin may create, change or grant the superadmin role, and nobody disables or demotes themselves.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.deps import TenantContext, state_of
from api.engine import assignment, audit
from api.routes.common import Admin, Manager, commit, conflict, error_responses, is_unique_violation, not_found
from api.schemas.users import UserCreate, UserOut, UserUpdate
from niochat.database import tenant_transaction
from niochat.passwords import hash_password
from niochat.tables import team_members, teams, users

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(400, 401, 403, 404, 409, 422))

COLUMNS = [users.c.id, users.c.email, users.c.name, users.c.role, users.c.is_active, users.c.capacity,
           users.c.last_login_at, users.c.created_at]
CHANGEABLE = ("name", "role", "is_active", "capacity")


async def _users(conn: AsyncConnection, *where) -> list[UserOut]:
    memberships = defaultdict(list)
    for row in await conn.execute(select(team_members.c.user_id, team_members.c.team_id)):
        memberships[row.user_id].append(row.team_id)
    rows = await conn.execute(select(*COLUMNS).where(*where).order_by(users.c.name, users.c.email))
    return [UserOut(**row._mapping, team_ids=memberships[row.id]) for row in rows]


async def _set_teams(ctx: TenantContext, user_id: uuid.UUID, team_ids: list[uuid.UUID]) -> None:
    wanted = set(team_ids)
    found = set((await ctx.conn.execute(select(teams.c.id).where(teams.c.id.in_(wanted)))).scalars())
    if missing := wanted - found:
        raise not_found(f"team {sorted(map(str, missing))[0]}")
    await ctx.conn.execute(delete(team_members).where(team_members.c.user_id == user_id))
    if wanted:
        await ctx.conn.execute(
            insert(team_members),
            [{"tenant_id": ctx.user.tenant_id, "team_id": team_id, "user_id": user_id} for team_id in wanted],
        )


def _forbid_superadmin_unless_superadmin(ctx: TenantContext, *roles: str | None) -> None:
    if "superadmin" in roles and ctx.user.role != "superadmin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a superadmin can create, change or grant a superadmin")


@router.get("", response_model=list[UserOut], summary="The tenant's users (manager+)")
async def list_users(ctx: Manager) -> list[UserOut]:
    return await _users(ctx.conn)


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create a user (admin)")
async def create_user(body: UserCreate, ctx: Admin) -> UserOut:
    _forbid_superadmin_unless_superadmin(ctx, body.role)
    password_hash = await run_in_threadpool(hash_password, body.password)
    try:
        user_id = await ctx.conn.scalar(
            insert(users).values(tenant_id=ctx.user.tenant_id, email=body.email, name=body.name or body.email,
                                 password_hash=password_hash, role=body.role)
            .returning(users.c.id)
        )
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise conflict(f"a user with e-mail '{body.email}' already exists") from None
        raise
    await _set_teams(ctx, user_id, body.team_ids)
    await audit.record(ctx.conn, ctx.user.tenant_id, "user.create", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="user", entity_id=user_id, email=body.email, role=body.role,
                       team_ids=",".join(sorted(map(str, body.team_ids))))
    (created,) = await _users(ctx.conn, users.c.id == user_id)
    await commit(ctx)
    return created


@router.patch("/{user_id}", response_model=UserOut, summary="Change, disable or re-enable a user (admin)")
async def update_user(user_id: uuid.UUID, body: UserUpdate, ctx: Admin, request: Request) -> UserOut:
    current = (
        await ctx.conn.execute(select(users.c.role, users.c.is_active).where(users.c.id == user_id).with_for_update())
    ).one_or_none()
    if current is None:
        raise not_found("user")
    given = body.model_dump(exclude_unset=True)
    if any(given.get(key) is None for key in (*CHANGEABLE, "password") if key in given):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "name, role, is_active, capacity and password cannot be null")
    _forbid_superadmin_unless_superadmin(ctx, current.role, body.role)
    if user_id == ctx.user.id and (body.is_active is False or given.get("role", current.role) != current.role):
        raise conflict("you cannot disable your own account or change your own role")
    values = {key: given[key] for key in CHANGEABLE if key in given}
    if body.password is not None:
        values["password_hash"] = await run_in_threadpool(hash_password, body.password)
    if values:
        await ctx.conn.execute(update(users).where(users.c.id == user_id).values(**values))
    if body.team_ids is not None:
        await _set_teams(ctx, user_id, body.team_ids)
    changes = {key: value for key, value in given.items() if key in CHANGEABLE}
    await audit.record(ctx.conn, ctx.user.tenant_id, "user.update", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="user", entity_id=user_id, changed=",".join(sorted(given)), **changes)
    (updated,) = await _users(ctx.conn, users.c.id == user_id)
    await commit(ctx)
    if body.capacity is not None:  # more room may take waiting work; after the commit, not holding the user's row
        await _fill(request, ctx.user.tenant_id)
    return updated


async def _fill(request: Request, tenant_id: uuid.UUID) -> None:
    state = state_of(request)
    async with tenant_transaction(state.engine, tenant_id) as conn:
        moves = await assignment.fill(conn, state.redis, tenant_id)
    await assignment.announce(state.redis, tenant_id, moves)
