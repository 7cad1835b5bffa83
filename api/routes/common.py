"""What the agents' REST routes share: role gates, pagination, date filters, committing before side effects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from api.deps import TenantContext, require_role
from api.schemas.common import ErrorOut
from niochat.tables import tenants

MAX_PAGE = 200
MAX_OFFSET = 1_000_000_000  # past any real table; an unbounded one overflows PostgreSQL's bigint (a 500)

_ERROR_MEANINGS = {
    400: "The body cannot be parsed (not JSON, not UTF-8)",
    401: "No valid bearer token, or its user or tenant is disabled",
    403: "The user's role does not allow this",
    404: "Not found in the user's tenant",
    409: "Conflicts with the current state",
    413: "The body is larger than allowed",
    422: "Invalid input",
    429: "Too many attempts; wait and retry",
    503: "A store (PostgreSQL or Redis) is unavailable; retry later",
}


def error_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for the error statuses a router answers with, all shaped like ErrorOut."""
    return {code: {"model": ErrorOut, "description": _ERROR_MEANINGS[code]} for code in codes}


# superadmin passes every gate (require_role); admins pass the managers' gate.
Manager = Annotated[TenantContext, Depends(require_role("manager", "admin"))]
Admin = Annotated[TenantContext, Depends(require_role("admin"))]


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


Pages = Annotated[Paging, Depends(paging)]


async def commit(ctx: TenantContext) -> None:
    """Commit the request's transaction now: queue jobs, live events and provider calls come after it.

    After this the connection refuses further statements (it would leave the tenant-bound role), so read
    whatever the response needs first.
    """
    await ctx.conn.commit()


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail)


def is_unique_violation(exc: IntegrityError, constraint: str | None = None) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) != "23505":
        return False
    return constraint is None or getattr(getattr(orig, "diag", None), "constraint_name", None) == constraint


async def day_bounds(conn: AsyncConnection, first: date | None, last: date | None) -> tuple[datetime | None, ...]:
    """[first 00:00, day after last 00:00) in the tenant's timezone: the days as the tenant's people mean them."""
    if first and last and first > last:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the start date is after the end date")
    zone = ZoneInfo(await conn.scalar(select(tenants.c.timezone)))
    start = datetime.combine(first, time.min, zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min, zone) if last else None
    return start, end


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards in the user's text taken literally (escape character: backslash)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
