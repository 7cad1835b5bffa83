"""Liveness, readiness (real checks of PostgreSQL and Redis) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from api.deps import state_of
from niochat.metrics import render

router = APIRouter(tags=["health"])
CHECK_TIMEOUT = 2.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok"}


async def _check_postgres(request: Request) -> None:
    async with state_of(request).engine.connect() as conn:
        await conn.execute(text("select 1"))


async def _check_redis(request: Request) -> None:
    if not await state_of(request).redis.ping():
        raise RuntimeError("no PONG")


@router.get("/readyz", summary="PostgreSQL and Redis answer",
            responses={503: {"description": "PostgreSQL or Redis does not answer; `checks` says which"}})
async def readyz(request: Request) -> JSONResponse:
    checks = {}
    for name, check in (("postgres", _check_postgres), ("redis", _check_redis)):
        try:
            await asyncio.wait_for(check(request), CHECK_TIMEOUT)
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503)


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Not public: with NIOCHAT_METRICS_TOKEN, only `Authorization: Bearer <token>`; without it, only loopback
    clients (the address after the trusted proxy headers: a reverse proxy's clients are not loopback)."""
    token = state_of(request).settings.metrics_token
    if token:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return Response("metrics need the bearer token\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    elif not _loopback(request.client.host if request.client else None):
        return Response("metrics are served to loopback only (set NIOCHAT_METRICS_TOKEN)\n", status_code=403)
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
