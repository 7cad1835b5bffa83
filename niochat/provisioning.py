"""The demo's tenants wired to the sandboxes: tenant `demo` for `niochat serve --sandbox`, and beside it a second
provider (`veloz`, with its own channels, SGP customers, persona and users) for `niochat demo`.

Provisioning is idempotent: what exists is kept (settings changed through the API survive a restart), what is
missing is created, and the demo users' password is set to the demo password so the printed login works.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from niochat import accounts, knowledge_demo
from niochat.database import sync_engine
from niochat.passwords import hash_password, verify_password
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import channels, teams, tenants, users

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.local"
DEMO_TEAMS = {"financeiro": "Financeiro", "suporte": "Suporte técnico", "comercial": "Comercial"}
DEMO_CHANNELS = {"uazapi": "demo-uazapi", "evolution": "demo-evolution"}
DEMO_AGENT = "carla@demo.local"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    timezone: str
    users: tuple[DemoUser, ...]
    channels: dict[str, str]  # provider -> instance name in the WhatsApp sandbox
    settings: dict = field(default_factory=dict)  # persona, business hours: written when the tenant is created
    teams: dict[str, str] = field(default_factory=lambda: dict(DEMO_TEAMS))
    sgp_dataset: str | None = None  # its customers: a built-in SGP sandbox dataset's file name; None: the main one
    evolution_by_events: bool = False  # its Evolution instance posts to <webhook URL>/<event-name>
    knowledge: knowledge_demo.City = knowledge_demo.SAO_PAULO  # its knowledge base, seeded while it has none

    def email_of(self, role: str) -> str:
        return next(user.email for user in self.users if user.role == role)


DEMO = DemoTenant(
    slug=DEMO_TENANT,
    name="Provedor Demo",
    timezone="America/Sao_Paulo",
    users=(
        DemoUser(DEMO_ADMIN, "Admin Demo", "admin"),
        DemoUser("gerente@demo.local", "Paula Gerente", "manager"),
        DemoUser(DEMO_AGENT, "Carla Atendente", "agent", tuple(DEMO_TEAMS)),
        DemoUser("bruno@demo.local", "Bruno Atendente", "agent", ("suporte",)),
        DemoUser("daniela@demo.local", "Daniela Atendente", "agent", ("financeiro", "comercial")),
    ),
    channels=DEMO_CHANNELS,
)


def _veloz() -> DemoTenant:
    week = {day: [["07:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
    return DemoTenant(
        slug="veloz",
        name="Veloz Fibra",
        timezone="America/Recife",
        users=(
            DemoUser("admin@veloz.local", "Admin Veloz", "admin"),
            DemoUser("gerente@veloz.local", "Rodrigo Gerente", "manager"),
            DemoUser("joana@veloz.local", "Joana Atendente", "agent", ("financeiro", "suporte", "comercial")),
            DemoUser("marcos@veloz.local", "Marcos Atendente", "agent", ("suporte",)),
        ),
        channels={"uazapi": "veloz-uazapi", "evolution": "veloz-evolution"},
        # another voice and longer hours than tenant demo: each provider's bot speaks as its own
        settings={"persona": {"company": "Veloz Fibra", "agent_name": "Lia", "emojis": False},
                  "business_hours": {**week, "sun": [["08:00", "14:00"]]}},
        sgp_dataset="dataset-veloz.json",
        evolution_by_events=True,  # this provider switched on Evolution's "webhook by events"
        knowledge=knowledge_demo.RECIFE,
    )


VELOZ = _veloz()
DEMO_TENANTS = (DEMO, VELOZ)


def _ensure_tenant(conn: Connection, spec: DemoTenant, password: str, keyring: Keyring, public_url: str,
                   sandbox_url: str | None) -> None:
    tenant_id = conn.scalar(select(tenants.c.id).where(tenants.c.slug == spec.slug))
    if tenant_id is None:
        tenant_id = accounts.create_tenant(conn, spec.slug, spec.name, spec.timezone)
        if spec.settings:
            conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(settings=spec.settings))
    knowledge_demo.seed(conn, tenant_id, spec.knowledge)
    existing_teams = set(conn.scalars(select(teams.c.slug).where(teams.c.tenant_id == tenant_id)))
    for slug, name in spec.teams.items():
        if slug not in existing_teams:
            accounts.create_team(conn, spec.slug, slug, name)
    for user in spec.users:
        row = conn.execute(select(users.c.id, users.c.password_hash).where(users.c.email == user.email)).first()
        if row is None:
            accounts.create_user(conn, spec.slug, user.email, user.name, password, user.role, user.teams)
        elif not verify_password(row.password_hash, password):
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=hash_password(password)))
    if sandbox_url:
        existing_channels = set(conn.scalars(select(channels.c.provider).where(channels.c.tenant_id == tenant_id)))
        for provider, instance in spec.channels.items():
            if provider not in existing_channels:
                accounts.create_channel(conn, keyring, public_url, spec.slug, provider, f"WhatsApp ({provider})",
                                     sandbox_url, instance, secrets.token_urlsafe(16))
        # the sandbox may listen on another port than last time (NIOCHAT_WA_SANDBOX_PORT)
        conn.execute(update(channels).where(channels.c.tenant_id == tenant_id,
                                            channels.c.instance.in_(list(spec.channels.values())))
                     .values(base_url=sandbox_url.rstrip("/")))


def _channels_of(conn: Connection, slug: str) -> list:
    return conn.execute(
        select(channels).join(tenants, tenants.c.id == channels.c.tenant_id).where(tenants.c.slug == slug)
    ).all()


def provision(database_url: str, settings: Settings, keyring: Keyring, password: str, sandbox_url: str | None,
              specs: tuple[DemoTenant, ...] = DEMO_TENANTS) -> dict[str, list]:
    """Create what is missing of each tenant (users, teams, channels); returns each tenant's channels."""
    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            for spec in specs:
                _ensure_tenant(conn, spec, password, keyring, settings.public_url, sandbox_url)
            return {spec.slug: _channels_of(conn, spec.slug) for spec in specs}
    finally:
        engine.dispose()


def provision_demo(database_url: str, settings: Settings, keyring: Keyring, password: str, sandbox_url: str | None):
    """Tenant `demo` alone (admin, teams, one channel per provider), as `niochat serve --sandbox` wants it."""
    return provision(database_url, settings, keyring, password, sandbox_url, (DEMO,))[DEMO_TENANT]


def configure_sgp(database_url: str, keyring: Keyring, slug: str, sgp_url: str, app: str, token: str) -> None:
    """Point a tenant's SGP at the SGP sandbox with its dataset's credentials (any dataset file works)."""
    from sqlalchemy.dialects.postgresql import insert

    from niochat.tables import sgp_configs

    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            tenant_id = conn.scalar(select(tenants.c.id).where(tenants.c.slug == slug))
            values = {"base_url": sgp_url, "app": app, "token_encrypted": keyring.encrypt(token), "is_active": True}
            conn.execute(
                insert(sgp_configs).values(tenant_id=tenant_id, **values)
                .on_conflict_do_update(index_elements=[sgp_configs.c.tenant_id], set_=values)
            )
    finally:
        engine.dispose()


def configure_demo_sgp(database_url: str, keyring: Keyring, sgp_url: str, app: str, token: str) -> None:
    configure_sgp(database_url, keyring, DEMO_TENANT, sgp_url, app, token)


def sandbox_egress(settings: Settings) -> str:
    """NIOCHAT_EGRESS_ALLOW with the sandboxes' loopback ports added: the demo's channels and SGP live there, and
    the egress guard (niochat.egress) refuses loopback otherwise. Only those two ports, nothing else local."""
    sandboxes = [f"127.0.0.1:{settings.wa_sandbox_port}", f"127.0.0.1:{settings.sgp_sandbox_port}"]
    given = [entry.strip() for entry in settings.egress_allow.split(",") if entry.strip()]
    return ",".join(dict.fromkeys([*given, *sandboxes]))


def by_events_instances(specs: tuple[DemoTenant, ...] = DEMO_TENANTS) -> set[str]:
    """The demo's Evolution instances whose webhook posts by events."""
    return {spec.channels["evolution"] for spec in specs if spec.evolution_by_events and "evolution" in spec.channels}
