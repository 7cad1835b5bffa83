"""Tenant `demo` wired to the WhatsApp sandbox, for `niochat serve --sandbox` and `niochat demo`."""

from __future__ import annotations

import asyncio
import secrets

import httpx
from sqlalchemy import select

from niochat import admin
from niochat.database import sync_engine
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import channels, tenants

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.local"
DEMO_TEAMS = {"financeiro": "Financeiro", "suporte": "Suporte técnico", "comercial": "Comercial"}
DEMO_CHANNELS = {"uazapi": "demo-uazapi", "evolution": "demo-evolution"}
DEMO_AGENT = "carla@demo.local"


def provision_demo(database_url: str, settings: Settings, keyring: Keyring, password: str, sandbox_url: str | None):
    """Create tenant `demo` (admin, teams, one channel per provider) unless it exists; returns its channels."""
    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.scalar(select(tenants.c.id).where(tenants.c.slug == DEMO_TENANT)) is None:
                admin.create_tenant(conn, DEMO_TENANT, "Provedor Demo")
                admin.create_user(conn, DEMO_TENANT, DEMO_ADMIN, "Admin Demo", password, "admin")
                for slug, name in DEMO_TEAMS.items():
                    admin.create_team(conn, DEMO_TENANT, slug, name)
                admin.create_user(conn, DEMO_TENANT, DEMO_AGENT, "Carla Atendente", password, "agent",
                                  tuple(DEMO_TEAMS))
                if sandbox_url:
                    for provider, instance in DEMO_CHANNELS.items():
                        admin.create_channel(
                            conn, keyring, settings.public_url, DEMO_TENANT, provider, f"WhatsApp ({provider})",
                            sandbox_url, instance, secrets.token_urlsafe(16),
                        )
            rows = conn.execute(
                select(channels).join(tenants, tenants.c.id == channels.c.tenant_id)
                .where(tenants.c.slug == DEMO_TENANT)
            ).all()
    finally:
        engine.dispose()
    return rows


def configure_demo_sgp(database_url: str, keyring: Keyring, sgp_url: str, app: str, token: str) -> None:
    """Point tenant demo's SGP at the SGP sandbox with the dataset's credentials (any dataset file works)."""
    from sqlalchemy.dialects.postgresql import insert

    from niochat.tables import sgp_configs

    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            tenant_id = conn.scalar(select(tenants.c.id).where(tenants.c.slug == DEMO_TENANT))
            values = {"base_url": sgp_url, "app": app, "token_encrypted": keyring.encrypt(token), "is_active": True}
            conn.execute(
                insert(sgp_configs).values(tenant_id=tenant_id, **values)
                .on_conflict_do_update(index_elements=[sgp_configs.c.tenant_id], set_=values)
            )
    finally:
        engine.dispose()


async def connect_to_sandbox(sandbox_url: str, public_url: str, keyring: Keyring, channel_rows) -> list[str]:
    """Create each channel's instance in the sandbox (it forgets them on restart) and register our webhook."""
    from api.whatsapp.clients import ChannelAccess, client_for

    webhook_urls = []
    async with httpx.AsyncClient(timeout=10) as http:
        for row in channel_rows:
            token = keyring.decrypt(row.token_encrypted)
            response = await http.post(
                f"{sandbox_url}/sandbox/instances",
                json={"provider": row.provider, "instance": row.instance, "token": token},
            )
            response.raise_for_status()
            url = admin.webhook_url(public_url, row.provider, row.webhook_key)
            await client_for(http, ChannelAccess(row.provider, sandbox_url, row.instance, token)).register_webhook(url)
            webhook_urls.append(url)
    return webhook_urls


def wait_until_up(url: str, seconds: float = 20) -> None:
    async def poll() -> None:
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(int(seconds * 10)):
                try:
                    if (await http.get(url)).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{url} did not come up")

    asyncio.run(poll())
