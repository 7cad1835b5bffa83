"""Dependencies every route shares: the app state, the current user, and the tenant-scoped transaction.

Every `/api/v1` route gets its tenant from the bearer token only. The request's database work runs in one
transaction as the RLS-bound role with that tenant set, so a query can never see another tenant's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.security import InvalidToken, decode_token
from api.state import AppState
from niochat.database import tenant_transaction
from niochat.tables import tenants, users

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def state_of(request: Request) -> AppState:
    return request.app.state.niochat


@dataclass(frozen=True)
class CurrentUser:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class TenantContext:
    user: CurrentUser
    conn: AsyncConnection


UNSTORABLE_TEXT = "text cannot contain NUL (\\u0000) characters"


def is_unstorable_text(exc: DBAPIError) -> bool:
    """PostgreSQL refused a text value the client sent: a NUL byte (refused by psycopg before it leaves, or by
    the server inside JSON as an untranslatable \\u0000). The client's input is wrong, not the server."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) in ("22P05", "22021") or "NUL (0x00)" in str(orig)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def token_user(conn, claims) -> CurrentUser | None:
    """The token's user, if still active in an active tenant and at the token's version. Checked on every request
    and socket, so disabling a user or a tenant, a new password or a logout everywhere takes effect at once."""
    row = (
        await conn.execute(
            select(users.c.id, users.c.tenant_id, users.c.email, users.c.name, users.c.role)
            .join(tenants, tenants.c.id == users.c.tenant_id)
            .where(users.c.id == claims.user_id, users.c.is_active, tenants.c.is_active,
                   users.c.token_version == claims.version)
        )
    ).one_or_none()
    return CurrentUser(**row._mapping) if row else None


async def tenant_context(
    request: Request, token: Annotated[str, Depends(oauth2_scheme)]
) -> AsyncIterator[TenantContext]:
    state = state_of(request)
    try:
        claims = decode_token(state.keyring, token)
    except InvalidToken:
        raise _unauthorized("invalid or expired token") from None
    async with tenant_transaction(state.engine, claims.tenant_id) as conn:
        user = await token_user(conn, claims)
        if user is None:
            raise _unauthorized("token revoked, or user disabled or unknown")
        try:
            yield TenantContext(user, conn)
        except DBAPIError as exc:  # raised by the route: a 422 for the caller's text instead of a 500
            if is_unstorable_text(exc):
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, UNSTORABLE_TEXT) from None
            raise


Tenant = Annotated[TenantContext, Depends(tenant_context)]


def require_role(*roles: str) -> Callable:
    async def check(ctx: Tenant) -> TenantContext:
        if ctx.user.role not in roles and ctx.user.role != "superadmin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {', '.join(roles)}")
        return ctx

    return check
