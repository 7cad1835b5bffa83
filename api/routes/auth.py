"""Login: OAuth2 password form -> bearer token; and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from limits.errors import StorageError
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import func, insert, text, update

from api.deps import UNSTORABLE_TEXT, Tenant, state_of
from api.engine import presence
from api.metrics import LOGINS
from api.ratelimit import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS
from api.routes.common import commit, error_responses
from api.security import issue_token
from niochat.database import app_transaction, tenant_transaction
from niochat.lockout import AsyncLockout, minutes_text
from niochat.passwords import DUMMY_HASH, verify_password
from niochat.tables import audit_log, users

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    id: str
    tenant_id: str
    email: str
    name: str
    role: str
    presence: str = "offline"  # api.engine.presence: online | away | offline


@router.post("/token", response_model=TokenResponse, summary="Log in with e-mail and password",
             responses=error_responses(400, 401, 403, 422, 429, 503))
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenResponse:
    state = state_of(request)
    if "\x00" in form.username:  # PostgreSQL text cannot hold it: no account can match
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, UNSTORABLE_TEXT)
    address = request.client.host if request.client else "unknown"
    email = form.username.strip().lower()
    lockout = AsyncLockout(state.redis)
    try:
        allowed = (await state.limits.allow(LOGIN_PER_ACCOUNT, "login", email)
                   and await state.limits.allow(LOGIN_PER_ADDRESS, "login", address))
        locked = await lockout.locked_for(email)
    except (RedisError, StorageError, OSError):  # limits and lockout cannot be checked: refuse, never let through
        LOGINS.labels("unavailable").inc()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "login is unavailable for a moment; try again",
                            headers={"Retry-After": "30"}) from None
    if not allowed:
        LOGINS.labels("rate_limited").inc()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many login attempts; wait a minute")
    if locked:
        LOGINS.labels("locked").inc()
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many wrong passwords for this account: try again in {minutes_text(locked)}",
                            headers={"Retry-After": str(locked)})
    async with app_transaction(state.engine) as conn:
        found = (
            await conn.execute(text("select * from niochat_login_lookup(:email)"), {"email": form.username.strip()})
        ).one_or_none()
    if not verify_password(found.password_hash if found else DUMMY_HASH, form.password) or found is None:
        LOGINS.labels("invalid").inc()
        await lockout.failed(email)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "incorrect e-mail or password", headers={"WWW-Authenticate": "Bearer"}
        )
    await lockout.succeeded(email)
    if not (found.user_active and found.tenant_active):
        LOGINS.labels("disabled").inc()
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this user or its tenant is disabled")
    async with tenant_transaction(state.engine, found.tenant_id) as conn:
        await conn.execute(update(users).where(users.c.id == found.user_id).values(last_login_at=func.now()))
        await conn.execute(
            insert(audit_log).values(
                tenant_id=found.tenant_id, actor_kind="user", actor_user_id=found.user_id, action="login",
                entity_type="user", entity_id=str(found.user_id),
            )
        )
    LOGINS.labels("ok").inc()
    minutes = state.settings.access_token_minutes
    return TokenResponse(
        access_token=issue_token(state.keyring, found.user_id, found.tenant_id, minutes, found.token_version),
        expires_in=minutes * 60,
    )


@router.get("/me", response_model=Me, summary="The user the token belongs to", responses=error_responses(401))
async def me(ctx: Tenant, request: Request) -> Me:
    user = ctx.user
    try:
        now = await presence.status_of(state_of(request).redis, user.tenant_id, user.id)
    except (RedisError, OSError):  # who one is does not depend on the live store
        now = "offline"
    return Me(id=str(user.id), tenant_id=str(user.tenant_id), email=user.email, name=user.name, role=user.role,
              presence=now)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401),
             summary="End every token and dashboard session of this user, this one included")
async def logout_everywhere(ctx: Tenant) -> None:
    await ctx.conn.execute(update(users).where(users.c.id == ctx.user.id)
                           .values(token_version=users.c.token_version + 1))
    await ctx.conn.execute(insert(audit_log).values(
        tenant_id=ctx.user.tenant_id, actor_kind="user", actor_user_id=ctx.user.id, action="logout_all",
        entity_type="user", entity_id=str(ctx.user.id)))
    await commit(ctx)
