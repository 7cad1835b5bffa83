"""WhatsApp channels: managers see them with the webhook URL to give the provider; admins add them.

The provider token is encrypted at rest and never returned. Creating a channel asks the provider first whether
the key and the instance are right (nothing is stored when they are not), commits, then asks the provider to post
to our webhook URL; if that fails the channel stays and the response says why.
"""

from __future__ import annotations

import secrets

import httpx
from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from api.deps import state_of
from api.engine import audit
from api.routes.common import Admin, Manager, commit, conflict, error_responses, is_unique_violation
from api.schemas.channels import ChannelCreate, ChannelCreated, ChannelOut
from api.whatsapp.clients import ChannelAccess, ProviderError
from api.whatsapp.setup import ChannelKeys, SetupError, check_channel, register_webhook
from niochat.admin import webhook_url
from niochat.database import tenant_transaction
from niochat.egress import EgressPolicy, check_url, guarded_client
from niochat.tables import channels

router = APIRouter(prefix="/channels", tags=["channels"], responses=error_responses(400, 401, 403, 409, 422))

COLUMNS = [channels.c.id, channels.c.provider, channels.c.name, channels.c.base_url, channels.c.instance,
           channels.c.connection_status, channels.c.connection_changed_at, channels.c.is_active,
           channels.c.webhook_key, channels.c.created_at]
REGISTER_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def _channel_out(row, public_url: str) -> ChannelOut:
    values = dict(row._mapping)
    key = values.pop("webhook_key")
    return ChannelOut(**values, webhook_url=webhook_url(public_url, row.provider, key))


@router.get("", response_model=list[ChannelOut], summary="Channels with their webhook URLs (manager+)")
async def list_channels(ctx: Manager, request: Request) -> list[ChannelOut]:
    public_url = state_of(request).settings.public_url
    rows = await ctx.conn.execute(select(*COLUMNS).order_by(channels.c.name, channels.c.id))
    return [_channel_out(row, public_url) for row in rows]


async def _register_webhook(settings, body: ChannelCreate, url: str) -> tuple[str | None, list[str]]:
    """(None, notices) when the provider accepted our URL, else (why not, []): the status, never the provider's
    body."""
    access = ChannelAccess(body.provider, body.base_url, body.instance, body.token)
    try:
        async with guarded_client(settings, timeout=REGISTER_TIMEOUT) as http:
            return None, await register_webhook(http, access, url)
    except ProviderError as exc:
        return str(exc), []
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return f"cannot reach the provider: {type(exc).__name__}", []


async def _check_with_provider(settings, body: ChannelCreate) -> ChannelKeys:
    try:
        async with guarded_client(settings, timeout=REGISTER_TIMEOUT) as http:
            return await check_channel(http, body.provider, body.base_url, body.instance, body.token)
    except SetupError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{exc} Nothing was created.") from None


@router.post("", response_model=ChannelCreated, status_code=status.HTTP_201_CREATED,
             summary="Add a channel: check its key with the provider, register its webhook (admin)",
             description="The provider is asked first: a key it refuses (for Evolution, neither the server's "
             "global key nor the instance's token), an instance it does not have, or a provider that cannot be "
             "reached is a 422 saying which, and nothing is created.")
async def create_channel(body: ChannelCreate, ctx: Admin, request: Request) -> ChannelCreated:
    state = state_of(request)
    if reason := check_url(body.base_url, EgressPolicy.from_settings(state.settings)):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"base_url: {reason}")
    taken = await ctx.conn.scalar(select(channels.c.id).where(channels.c.provider == body.provider,
                                                              channels.c.instance == body.instance))
    if taken is not None:
        raise conflict(f"there is already a {body.provider} channel for instance '{body.instance}'")
    keys = await _check_with_provider(state.settings, body)
    values = {}
    if keys.webhook_token:
        values["webhook_token_encrypted"] = state.keyring.encrypt(keys.webhook_token)
    if keys.connection:
        values.update(connection_status=keys.connection, connection_changed_at=func.now())
    try:
        row = (
            await ctx.conn.execute(
                insert(channels).values(
                    tenant_id=ctx.user.tenant_id, provider=body.provider, name=body.name or body.instance,
                    base_url=body.base_url, instance=body.instance, token_encrypted=state.keyring.encrypt(body.token),
                    webhook_key=secrets.token_urlsafe(32), **values,
                ).returning(*COLUMNS)
            )
        ).one()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise conflict(f"there is already a {body.provider} channel for instance '{body.instance}'") from None
        raise
    await audit.record(ctx.conn, ctx.user.tenant_id, "channel.create", actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="channel", entity_id=row.id, provider=body.provider, instance=body.instance,
                       key_kind=keys.kind)
    await commit(ctx)
    channel = _channel_out(row, state.settings.public_url)
    error, registered_notices = await _register_webhook(state.settings, body, channel.webhook_url)
    async with tenant_transaction(state.engine, ctx.user.tenant_id) as conn:
        await audit.record(conn, ctx.user.tenant_id, "channel.webhook_register", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="channel", entity_id=row.id,
                           registered=error is None, error=error)
    return ChannelCreated(**channel.model_dump(), webhook_registered=error is None, webhook_error=error,
                          key_kind=keys.kind, notices=[*keys.notices, *registered_notices])
