"""PostgreSQL connections: URL handling, engines, and the tenant-scoped transaction RLS relies on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Roles created by the migrations. Tenant transactions run as APP_ROLE, which RLS binds; ingest reads through
# one that bypasses it. The API (and the dashboards' login checks) and the worker log in as their own roles,
# members of APP_ROLE that own nothing (migration 0013); only migrations and the operator's CLI use the owner.
APP_ROLE = "niochat_app"
INGEST_ROLE = "niochat_ingest"
API_LOGIN = "niochat_api"
WORKER_LOGIN = "niochat_worker"
TENANT_SETTING = "niochat.tenant_id"


def sqlalchemy_url(url: str) -> str:
    """Any libpq-style PostgreSQL URL, as SQLAlchemy wants it (psycopg 3 driver, sync and async)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL psycopg, dbt and the CLI tools take directly."""
    parsed = make_url(sqlalchemy_url(url))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def login_url(url: str, login: str, password: str | None = None) -> str:
    """The same server and database as `url`, logged in as `login`. A URL that already logs in as `login` is kept
    as it is (the operator gave the service its own URL); any other user's credentials are replaced, never passed
    on (with no password: the server's trust or peer authentication, as the embedded one)."""
    parsed = make_url(sqlalchemy_url(url))
    if parsed.username != login:
        parsed = parsed.set(username=login, password=password)
    return parsed.render_as_string(hide_password=False)


def server_url_for(url: str, database: str = "postgres") -> str:
    return make_url(libpq_url(url)).set(database=database).render_as_string(hide_password=False)


def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` on the server if missing; return its URL."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return server_url_for(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def sync_engine(url: str, **kwargs) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)


def async_engine(url: str, **kwargs) -> AsyncEngine:
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)


@asynccontextmanager
async def tenant_transaction(engine: AsyncEngine, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncConnection]:
    """One transaction as the RLS-bound role with the tenant set; it sees and writes only that tenant."""
    async with engine.connect() as conn, tenant_scope(conn, tenant_id):
        yield conn


@asynccontextmanager
async def tenant_scope(conn: AsyncConnection, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncConnection]:
    """One transaction on a connection the caller holds (e.g. with a session-level lock), as tenant_transaction."""
    async with conn.begin():
        # One round trip: set_config('role', ..., true) is SET LOCAL ROLE.
        await conn.execute(
            text("select set_config('role', :role, true), set_config(:name, :tenant, true)"),
            {"role": APP_ROLE, "name": TENANT_SETTING, "tenant": str(tenant_id)},
        )
        yield conn


@asynccontextmanager
async def app_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction with no tenant, as the engine's own login: the API's and the worker's see no tenant rows,
    only the cross-tenant lookup functions granted to that login."""
    async with engine.begin() as conn:
        yield conn
