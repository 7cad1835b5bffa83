"""Tenant accounts: creating tenants, teams, users and channels. Shared by the `niochat` commands (cli/admin.py)
and the sandbox/demo setup (niochat/provisioning.py).

Runs as the database owner (the operator), with clear errors for bad input and duplicates.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from niochat import channel_keys
from niochat.channel_keys import webhook_url
from niochat.passwords import hash_password
from niochat.secrets import Keyring
from niochat.tables import audit_log, channels, team_members, teams, tenants, users
from niochat.vocabulary import PROVIDERS, ROLES

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")  # syntax only: local demo domains (.local) are fine


class AdminError(ValueError):
    """Bad input or a duplicate, with a message meant for the operator."""


@dataclass(frozen=True)
class CreatedChannel:
    id: uuid.UUID
    webhook_key: str  # the key itself, this once: only its hash is stored
    webhook_url: str


def _tenant_id(conn: Connection, slug: str) -> uuid.UUID:
    tenant_id = conn.scalar(select(tenants.c.id).where(tenants.c.slug == slug))
    if tenant_id is None:
        raise AdminError(f"tenant '{slug}' does not exist (create it with `niochat tenant create`)")
    return tenant_id


def _insert(conn: Connection, statement, duplicate: str):
    try:
        with conn.begin_nested():
            return conn.execute(statement)
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == "23505":  # unique_violation
            raise AdminError(duplicate) from None
        raise


def create_tenant(conn: Connection, slug: str, name: str, timezone: str = "America/Sao_Paulo") -> uuid.UUID:
    if not SLUG.match(slug):
        raise AdminError("slug must be 2-63 lowercase letters, digits or '-', starting with a letter or digit")
    if not name.strip():
        raise AdminError("name must not be empty")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise AdminError(f"unknown timezone '{timezone}' (use an IANA name like America/Sao_Paulo)") from None
    statement = insert(tenants).values(slug=slug, name=name.strip(), timezone=timezone).returning(tenants.c.id)
    return _insert(conn, statement, f"tenant '{slug}' already exists").scalar_one()


def set_sgp_private_network(conn: Connection, tenant_slug: str, allowed: bool) -> None:
    """The operator's permission for the tenant's SGP to be on a private network (niochat.egress)."""
    tenant_id = _tenant_id(conn, tenant_slug)
    conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(sgp_private_network=allowed))


def create_team(conn: Connection, tenant_slug: str, slug: str, name: str) -> uuid.UUID:
    tenant_id = _tenant_id(conn, tenant_slug)
    statement = insert(teams).values(tenant_id=tenant_id, slug=slug, name=name).returning(teams.c.id)
    return _insert(conn, statement, f"team '{slug}' already exists in tenant '{tenant_slug}'").scalar_one()


def create_user(
    conn: Connection,
    tenant_slug: str,
    email: str,
    name: str,
    password: str,
    role: str,
    teams_slugs: tuple[str, ...] = (),
) -> uuid.UUID:
    if role not in ROLES:
        raise AdminError(f"role must be one of: {', '.join(ROLES)}")
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise AdminError(f"invalid e-mail '{email}': expected name@domain")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    tenant_id = _tenant_id(conn, tenant_slug)
    statement = (
        insert(users)
        .values(tenant_id=tenant_id, email=email, name=name.strip() or email, password_hash=password_hash, role=role)
        .returning(users.c.id)
    )
    user_id = _insert(conn, statement, f"a user with e-mail '{email}' already exists").scalar_one()
    for team_slug in teams_slugs:
        team_id = conn.scalar(select(teams.c.id).where(teams.c.tenant_id == tenant_id, teams.c.slug == team_slug))
        if team_id is None:
            raise AdminError(f"team '{team_slug}' does not exist in tenant '{tenant_slug}'")
        conn.execute(insert(team_members).values(tenant_id=tenant_id, team_id=team_id, user_id=user_id))
    return user_id


def check_channel_input(conn: Connection, tenant_slug: str, provider: str, base_url: str, instance: str,
                        token: str) -> uuid.UUID:
    """Everything that can be refused before asking the provider; the tenant's id."""
    if provider not in PROVIDERS:
        raise AdminError(f"provider must be one of: {', '.join(PROVIDERS)}")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise AdminError(f"base URL must be an http(s) URL, got '{base_url}'")
    if not instance.strip():
        raise AdminError("instance must not be empty")
    if not token.strip():
        raise AdminError("token must not be empty")
    tenant_id = _tenant_id(conn, tenant_slug)
    taken = conn.scalar(select(channels.c.id).where(
        channels.c.tenant_id == tenant_id, channels.c.provider == provider, channels.c.instance == instance.strip()))
    if taken is not None:
        raise AdminError(_duplicate_channel(tenant_slug, provider, instance))
    return tenant_id


def _duplicate_channel(tenant_slug: str, provider: str, instance: str) -> str:
    return (f"tenant '{tenant_slug}' already has a {provider} channel for instance '{instance}' "
            "(`niochat channel setup` sets it up again)")


def create_channel(
    conn: Connection,
    keyring: Keyring,
    public_url: str,
    tenant_slug: str,
    provider: str,
    name: str,
    base_url: str,
    instance: str,
    token: str,
    webhook_token: str | None = None,
    connection_status: str | None = None,
) -> CreatedChannel:
    """`token` is the key NioChat calls the provider with; `webhook_token` what the provider's webhooks carry
    when that is another one (Evolution's instance token for a channel using the server's global key)."""
    tenant_id = check_channel_input(conn, tenant_slug, provider, base_url, instance, token)
    key = channel_keys.new_key()
    values = {}
    if webhook_token:
        values["webhook_token_encrypted"] = keyring.encrypt(webhook_token)
    if connection_status:
        values.update(connection_status=connection_status, connection_changed_at=func.now())
    statement = (
        insert(channels)
        .values(
            tenant_id=tenant_id,
            provider=provider,
            name=name.strip() or instance,
            base_url=base_url.rstrip("/"),
            instance=instance.strip(),
            token_encrypted=keyring.encrypt(token.strip()),
            **channel_keys.stored(key),
            **values,
        )
        .returning(channels.c.id)
    )
    channel_id = _insert(conn, statement, _duplicate_channel(tenant_slug, provider, instance)).scalar_one()
    return CreatedChannel(channel_id, key, webhook_url(public_url, provider, key))


def replace_webhook_key(conn: Connection, channel_id: uuid.UUID, key: str, operator: str | None) -> None:
    """Store `key` as the channel's webhook key (its hash: the old key stops working at the commit) and audit it,
    as the API's rotation is (the operator's login name, never the key)."""
    old_hint = conn.scalar(select(channels.c.webhook_key_hint).where(channels.c.id == channel_id))
    row = conn.execute(
        update(channels).where(channels.c.id == channel_id).values(**channel_keys.stored(key))
        .returning(channels.c.tenant_id, channels.c.webhook_key_hint)
    ).one()
    details = {"rotated": True, "old_key_hint": old_hint, "new_key_hint": row.webhook_key_hint, "via": "cli"}
    if operator:
        details["operator"] = operator
    conn.execute(insert(audit_log).values(tenant_id=row.tenant_id, actor_kind="system", action="channel.rotate_key",
                                          entity_type="channel", entity_id=str(channel_id), details=details))
