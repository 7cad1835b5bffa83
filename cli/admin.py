"""`niochat tenant|team|user|channel ...`: provisioning from the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from cli.context import console, ensure_schema, fail, load_settings, running_services
from niochat import accounts, channel_keys
from niochat.database import sync_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring, load_secret_key
from niochat.tables import channels, tenants

tenant_app = typer.Typer(help="Tenants: one per internet provider.", no_args_is_help=True)
team_app = typer.Typer(help="Teams that human handoffs queue for (financeiro, suporte...).", no_args_is_help=True)
user_app = typer.Typer(help="People who log in: admins, managers, agents.", no_args_is_help=True)
channel_app = typer.Typer(help="WhatsApp numbers connected through Uazapi or Evolution.", no_args_is_help=True)


@contextmanager
def _transaction() -> Iterator[tuple[Connection, object, ServiceUrls]]:
    settings = load_settings()
    with running_services(settings) as urls:
        ensure_schema(settings, urls)
        engine = sync_engine(urls.database_url)
        try:
            with engine.begin() as conn:
                yield conn, settings, urls
        finally:
            engine.dispose()


def _run(action: Callable[..., None], with_urls: bool = False) -> None:
    try:
        with _transaction() as (conn, settings, urls):
            action(conn, settings, urls) if with_urls else action(conn, settings)
    except accounts.AdminError as exc:
        raise fail(str(exc)) from None


@tenant_app.command("create")
def tenant_create(
    slug: str = typer.Argument(..., help="Short id used in commands, e.g. 'fibranet'"),
    name: str = typer.Option(..., "--name", help="Provider's name as customers know it"),
    timezone: str = typer.Option("America/Sao_Paulo", help="IANA timezone for business hours and metrics"),
) -> None:
    """Create a tenant (an internet provider)."""
    def create(conn: Connection, _) -> None:
        tenant_id = accounts.create_tenant(conn, slug, name, timezone)
        console.print(f"tenant [bold]{slug}[/] created: {tenant_id}")

    _run(create)


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""

    def show(conn: Connection, _) -> None:
        table = Table("slug", "name", "timezone", "active")
        for row in conn.execute(select(tenants).order_by(tenants.c.slug)):
            table.add_row(row.slug, row.name, row.timezone, "yes" if row.is_active else "no")
        console.print(table)

    _run(show)


@tenant_app.command("sgp-private-network")
def tenant_sgp_private_network(
    slug: str = typer.Argument(..., help="Tenant slug"),
    allow: bool = typer.Option(..., "--allow/--deny", help="Whether its SGP may be on a private network"),
) -> None:
    """Let a tenant's SGP be on a private network (an on-premises SGP over a VPN), or stop it.

    Only an operator can: a tenant's own admin never can (PATCH /api/v1/settings refuses private SGP addresses
    unless this is on). Loopback, link-local and the cloud metadata service stay refused either way.
    """
    def change(conn: Connection, _) -> None:
        accounts.set_sgp_private_network(conn, slug, allow)
        state = "may" if allow else "may not"
        console.print(f"tenant [bold]{slug}[/]: its SGP {state} be on a private network")

    _run(change)


@team_app.command("create")
def team_create(
    slug: str = typer.Argument(..., help="Short id, e.g. 'financeiro'"),
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug"),
    name: str = typer.Option(..., "--name", help="Display name, e.g. 'Financeiro'"),
) -> None:
    """Create a team in a tenant."""
    def create(conn: Connection, _) -> None:
        accounts.create_team(conn, tenant, slug, name)
        console.print(f"team [bold]{slug}[/] created in tenant {tenant}")

    _run(create)


@user_app.command("create")
def user_create(
    email: str = typer.Argument(..., help="Login e-mail (unique across the installation)"),
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug"),
    role: str = typer.Option("agent", help="superadmin, admin, manager or agent"),
    name: str = typer.Option("", help="Display name (defaults to the e-mail)"),
    team: list[str] = typer.Option([], "--team", help="Team slug; repeat for several"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="NIOCHAT_NEW_USER_PASSWORD",
        help="At least 8 characters (prompted when omitted)",
    ),
) -> None:
    """Create a user who logs in to the API and the dashboard."""
    def create(conn: Connection, _) -> None:
        accounts.create_user(conn, tenant, email, name, password, role, tuple(team))
        console.print(f"user [bold]{email}[/] ({role}) created in tenant {tenant}")

    _run(create)


@channel_app.command("create")
def channel_create(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug"),
    provider: str = typer.Option(..., "--provider", help="uazapi or evolution"),
    base_url: str = typer.Option(..., "--base-url", help="Provider server, e.g. https://sub.uazapi.com"),
    instance: str = typer.Option(..., "--instance", help="Instance name on the provider"),
    token: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        envvar="NIOCHAT_CHANNEL_TOKEN",
        help="Uazapi: the instance's token. Evolution: the server's global key (AUTHENTICATION_API_KEY) or the "
        "instance's token. Checked with the provider, stored encrypted",
    ),
    name: str = typer.Option("", help="Display name (defaults to the instance)"),
    register: bool = typer.Option(True, help="Register the webhook URL with the provider right away"),
) -> None:
    """Connect a WhatsApp number: check the key and the instance with the provider (nothing is stored when it
    refuses them), register our webhook with it, and print the webhook URL."""

    def create(conn: Connection, settings) -> None:
        keyring = Keyring(load_secret_key(settings))
        accounts.check_channel_input(conn, tenant, provider, base_url, instance, token)
        keys = _check_with_provider(settings, provider, base_url, instance, token.strip())
        created = accounts.create_channel(
            conn, keyring, settings.public_url, tenant, provider, name, base_url, instance, token,
            webhook_token=keys.webhook_token, connection_status=keys.connection,
        )
        console.print(f"channel created: {created.id}")
        _tell(keys, provider, instance)
        typer.echo(created.webhook_url)
        if register:
            _register_webhook(settings, provider, base_url, instance, token.strip(), created.webhook_url,
                              keys.webhook_token or token.strip())

    _run(create)


@channel_app.command("setup")
def channel_setup(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug"),
    instance: str = typer.Option(..., "--instance", help="Instance name of the channel"),
    provider: str = typer.Option("", "--provider", help="uazapi or evolution, when the tenant has both"),
    new_token: bool = typer.Option(False, "--new-token", help="Prompt for a new token / apikey to store"),
    register: bool = typer.Option(True, help="Register the webhook with the provider again: with a new webhook "
                                  "URL (as rotate-key), the key being stored only as a hash"),
) -> None:
    """Set an existing channel up again: check its key with the provider, learn the token its webhooks carry
    (Evolution with the global key), and register our webhook again (a new URL in place of the old one, never
    added twice)."""

    def setup(conn: Connection, settings, urls: ServiceUrls) -> None:
        keyring = Keyring(load_secret_key(settings))
        row = _channel_row(conn, tenant, instance, provider)
        key = typer.prompt("token", hide_input=True).strip() if new_token else keyring.decrypt(row.token_encrypted)
        if not key:
            raise accounts.AdminError("token must not be empty")
        keys = _check_with_provider(settings, row.provider, row.base_url, row.instance, key)
        values = {"token_encrypted": keyring.encrypt(key),
                  "webhook_token_encrypted": keyring.encrypt(keys.webhook_token) if keys.webhook_token else None}
        if keys.connection:
            values.update(connection_status=keys.connection, connection_changed_at=func.now())
        conn.execute(update(channels).where(channels.c.id == row.id).values(**values))
        console.print(f"channel {row.id} checked with {row.provider} at {row.base_url}")
        _tell(keys, row.provider, row.instance)
        if not register:
            console.print(f"webhook URL unchanged ({escape(_url_hint(settings, row))}); `niochat channel "
                          "rotate-key` gives a new one, registered with the provider")
            return
        try:
            url, notices = _rotate(conn, settings, urls, row, key, keys.webhook_token or key)
        except accounts.AdminError as exc:  # the key check above is still worth keeping
            console.print(f"[yellow]{escape(str(exc))}[/]")
            return
        typer.echo(url)
        _registered(row.provider, row.base_url, notices)

    _run(setup, with_urls=True)


@channel_app.command("rotate-key")
def channel_rotate_key(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug"),
    instance: str = typer.Option(..., "--instance", help="Instance name of the channel"),
    provider: str = typer.Option("", "--provider", help="uazapi or evolution, when the tenant has both"),
) -> None:
    """Give the channel a new webhook URL (a new key) when the current one may have been seen: registered with
    the provider in place of the old one, then stored, and printed this once; the old URL stops working at once.
    When the provider does not take it, nothing changes and the current URL keeps working."""

    def rotate(conn: Connection, settings, urls: ServiceUrls) -> None:
        keyring = Keyring(load_secret_key(settings))
        row = _channel_row(conn, tenant, instance, provider)
        key = keyring.decrypt(row.token_encrypted)
        secret = keyring.decrypt(row.webhook_token_encrypted) if row.webhook_token_encrypted else key
        url, notices = _rotate(conn, settings, urls, row, key, secret)
        console.print(f"channel {row.id}: new webhook key; the URL ending in …{escape(row.webhook_key_hint)} "
                      "stopped working")
        typer.echo(url)
        _registered(row.provider, row.base_url, notices)

    _run(rotate, with_urls=True)


def _url_hint(settings, row) -> str:
    return channel_keys.url_hint(settings.public_url, row.provider, row.webhook_key_hint)


def _channel_row(conn: Connection, tenant: str, instance: str, provider: str):
    """The channel, locked until the command's commit (a rotation elsewhere waits for it)."""
    query = (select(channels).join(tenants, tenants.c.id == channels.c.tenant_id)
             .where(tenants.c.slug == tenant, channels.c.instance == instance.strip()))
    if provider:
        query = query.where(channels.c.provider == provider)
    rows = conn.execute(query.with_for_update(of=channels)).all()
    if not rows:
        raise accounts.AdminError(f"tenant '{tenant}' has no channel for instance '{instance}'"
                               + (f" on {provider}" if provider else ""))
    if len(rows) > 1:
        raise accounts.AdminError(f"tenant '{tenant}' has instance '{instance}' on both providers: add --provider")
    return rows[0]


def _rotate(conn: Connection, settings, urls: ServiceUrls, row, api_key: str,
            secret: str) -> tuple[str, list[str]]:
    """A new webhook URL for the channel, registered with its provider in place of the current one, then stored
    (committed with the command): (the URL, the provider's notices). AdminError, and nothing changed, when the
    provider does not take it. `secret`: what the webhooks are checked against (Evolution's JWT)."""
    import asyncio

    import httpx
    import redis

    from api.whatsapp.clients import ChannelAccess, ProviderError
    from api.whatsapp.setup import register_webhook
    from niochat.egress import guarded_client

    # Every API process re-checks the old key with the database until well after the commit (they remember
    # channels for a few seconds); a Redis that cannot be told stops the rotation here, before any change.
    marks = redis.Redis.from_url(urls.redis_url, socket_timeout=5)
    try:
        marks.set(channel_keys.revoked_mark(row.webhook_key_sha256), 1, ex=channel_keys.REVOKED_SECONDS)
    except redis.RedisError as exc:
        raise accounts.AdminError(f"cannot reach Redis to retire the old key ({type(exc).__name__}): nothing was "
                               "changed") from None
    finally:
        marks.close()
    key = channel_keys.new_key()
    url = channel_keys.webhook_url(settings.public_url, row.provider, key)
    access = ChannelAccess(row.provider, row.base_url, row.instance, api_key)

    async def register() -> list[str]:
        async with guarded_client(settings) as http:
            return await register_webhook(
                http, access, url, secret=secret,
                replaces=lambda registered: channel_keys.is_url_of(registered, row.provider, row.webhook_key_sha256))

    try:
        notices = asyncio.run(register())
    except (ProviderError, httpx.HTTPError, httpx.InvalidURL) as exc:
        raise accounts.AdminError(f"{row.provider} did not take the new webhook URL ({exc}): the key was not changed "
                               "and the current webhook URL keeps working") from None
    accounts.replace_webhook_key(conn, row.id, key, _operator())
    return url, notices


def _check_with_provider(settings, provider: str, base_url: str, instance: str, token: str):
    """The provider's word on the key and the instance; the command fails (nothing stored) when it refuses."""
    import asyncio

    from api.whatsapp.setup import SetupError, check_channel
    from niochat.egress import guarded_client

    async def check():
        async with guarded_client(settings) as http:
            return await check_channel(http, provider, base_url.rstrip("/"), instance.strip(), token)

    try:
        return asyncio.run(check())
    except SetupError as exc:
        raise accounts.AdminError(f"{exc}\nNothing was changed.") from None


def _tell(keys, provider: str, instance: str) -> None:
    console.print(escape(keys.describe(provider, instance)))
    if keys.connection == "connected":
        console.print(f"instance '{escape(instance)}' is connected to WhatsApp")
    for notice in keys.notices:
        console.print(f"[yellow]{escape(notice)}[/]")


def _register_webhook(settings, provider: str, base_url: str, instance: str, token: str, url: str,
                      secret: str) -> None:
    import asyncio

    import httpx

    from api.whatsapp.clients import ChannelAccess, ProviderError
    from api.whatsapp.setup import register_webhook
    from niochat.egress import guarded_client

    async def register() -> list[str]:
        async with guarded_client(settings) as http:
            access = ChannelAccess(provider, base_url.rstrip("/"), instance, token)
            return await register_webhook(http, access, url, secret=secret)

    try:
        notices = asyncio.run(register())
    except (ProviderError, httpx.HTTPError, httpx.InvalidURL) as exc:
        console.print(f"[yellow]could not register the webhook with {provider}: {escape(str(exc))}[/]\n"
                      "configure the URL above on the provider yourself (it is not shown again)")
        return
    _registered(provider, base_url, notices)


def _registered(provider: str, base_url: str, notices: list[str]) -> None:
    console.print(f"webhook registered with {provider} at {base_url}")
    for notice in notices:
        console.print(f"[yellow]{escape(notice)}[/]")


def _operator() -> str | None:
    """Who ran the command, for the audit log."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return None
