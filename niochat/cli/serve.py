"""`niochat serve` and `niochat demo`: start the services and the API and keep them up."""

from __future__ import annotations

import socket

import uvicorn
from sqlalchemy import select

from niochat import admin, migrate
from niochat.cli.context import console, fail, load_settings, running_services
from niochat.database import sync_engine
from niochat.secrets import load_demo_password
from niochat.settings import Settings
from niochat.tables import tenants

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.local"


def _ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise fail(
                f"port {port} on {host} is taken, so the {what} cannot start; free it or change the port"
            ) from None


def _run_api(settings: Settings, urls) -> None:
    from api.app import create_app

    _ensure_port_free(settings.api_host, settings.api_port, "API")
    console.print(f"API on http://{settings.api_host}:{settings.api_port}  (docs: /docs, health: /readyz)")
    uvicorn.run(
        create_app(settings, urls), host=settings.api_host, port=settings.api_port, log_config=None,
        proxy_headers=True,
    )


def serve() -> None:
    """Run the API on 127.0.0.1:8000 (NIOCHAT_API_PORT) against the configured or embedded services."""
    settings = load_settings()
    with running_services(settings) as urls:
        if migrate.current_revision(urls.database_url) != migrate.head_revision():
            raise fail("the database schema is not up to date: run `niochat db upgrade` first")
        _run_api(settings, urls)


def _provision_demo(database_url: str, password: str) -> None:
    """Tenant `demo` with its admin, unless it exists already."""
    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.scalar(select(tenants.c.id).where(tenants.c.slug == DEMO_TENANT)) is None:
                admin.create_tenant(conn, DEMO_TENANT, "Provedor Demo")
                admin.create_user(conn, DEMO_TENANT, DEMO_ADMIN, "Admin Demo", password, "admin")
    finally:
        engine.dispose()


def demo() -> None:
    """Start everything locally: embedded services, migrations, a demo tenant, and the API."""
    settings = load_settings()
    with running_services(settings) as urls:
        with console.status("migrating the database..."):
            migrate.upgrade(urls.database_url)
        password = load_demo_password(settings)
        try:
            _provision_demo(urls.database_url, password)
        except admin.AdminError as exc:
            raise fail(f"could not provision the demo tenant: {exc}") from None
        console.print(f"tenant [bold]{DEMO_TENANT}[/]: login {DEMO_ADMIN} / password {password}")
        _run_api(settings, urls)
