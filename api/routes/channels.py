"""WhatsApp channels: managers see them; admins add them and rotate their webhook keys.

The provider token is encrypted at rest and never returned. The webhook URL's key is shown once, in the answer
that creates it (channel creation, key rotation), and stored only as a hash: a list of channels shows a hint of
it. Creating a channel asks the provider first whether the key and the instance are right (nothing is stored
when they are not), commits, then asks the provider to post to our webhook URL; if that fails the channel stays
and the response says why. Rotating asks the provider first and changes nothing when it refuses.
"""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, HTTPException, Request, status
from redis.exceptions import RedisError
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.deps import state_of
from api.engine import audit
from api.routes.common import Admin, Manager, commit, conflict, error_responses, is_unique_violation, not_found
from api.schemas.channels import ChannelCreate, ChannelCreated, ChannelKeyRotated, ChannelOut
from api.whatsapp.clients import ChannelAccess, ProviderError
from api.whatsapp.setup import ChannelKeys, SetupError, check_channel, register_webhook
from niochat import channel_keys
from niochat.database import tenant_transaction
from niochat.egress import EgressPolicy, check_url, guarded_client
from niochat.logging import get_logger
from niochat.tables import channels

router = APIRouter(prefix="/channels", tags=["channels"], responses=error_responses(400, 401, 403, 409, 422))

COLUMNS = [channels.c.id, channels.c.provider, channels.c.name, channels.c.base_url, channels.c.instance,
           channels.c.connection_status, channels.c.connection_changed_at, channels.c.is_active,
           channels.c.webhook_key_hint, channels.c.created_at]
REGISTER_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
PROVIDER_REFUSED = 502
log = get_logger(__name__)


def _channel_out(row, public_url: str) -> ChannelOut:
    values = dict(row._mapping)
    hint = values.pop("webhook_key_hint")
    return ChannelOut(**values, webhook_url_hint=channel_keys.url_hint(public_url, row.provider, hint))


@router.get("", response_model=list[ChannelOut], summary="Channels, with a hint of their webhook URLs (manager+)")
async def list_channels(ctx: Manager, request: Request) -> list[ChannelOut]:
    public_url = state_of(request).settings.public_url
    rows = await ctx.conn.execute(select(*COLUMNS).order_by(channels.c.name, channels.c.id))
    return [_channel_out(row, public_url) for row in rows]


async def _register_webhook(settings, body: ChannelCreate, url: str, secret: str) -> tuple[str | None, list[str]]:
    """(None, notices) when the provider accepted our URL, else (why not, []): the status, never the provider's
    body. `secret`: what the webhooks will be checked against."""
    access = ChannelAccess(body.provider, body.base_url, body.instance, body.token)
    try:
        async with guarded_client(settings, timeout=REGISTER_TIMEOUT) as http:
            return None, await register_webhook(http, access, url, secret=secret)
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
    key, values = channel_keys.new_key(), {}
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
                    **channel_keys.stored(key), **values,
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
    url = channel_keys.webhook_url(state.settings.public_url, body.provider, key)
    error, registered_notices = await _register_webhook(state.settings, body, url, keys.webhook_token or body.token)
    async with tenant_transaction(state.engine, ctx.user.tenant_id) as conn:
        await audit.record(conn, ctx.user.tenant_id, "channel.webhook_register", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="channel", entity_id=row.id,
                           registered=error is None, error=error)
    return ChannelCreated(**channel.model_dump(), webhook_url=url, webhook_registered=error is None,
                          webhook_error=error, key_kind=keys.kind, notices=[*keys.notices, *registered_notices])


async def _move_webhook(settings, access: ChannelAccess, url: str, secret: str, old_hash: str) -> list[str]:
    """Register `url` in place of the channel's current webhook URL; HTTPException when the provider does not
    take it (the status, never its body)."""
    try:
        async with guarded_client(settings, timeout=REGISTER_TIMEOUT) as http:
            return await register_webhook(
                http, access, url, secret=secret,
                replaces=lambda registered: channel_keys.is_url_of(registered, access.provider, old_hash))
    except ProviderError as exc:
        reason = str(exc)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = f"cannot reach the provider: {type(exc).__name__}"
    raise HTTPException(PROVIDER_REFUSED, f"{access.provider} did not take the new webhook URL ({reason}); the key "
                        "was not changed and the current webhook URL keeps working")


@router.post("/{channel_id}/rotate-key", response_model=ChannelKeyRotated,
             summary="Replace the channel's webhook key: a new webhook URL, registered with the provider (admin)",
             responses={**error_responses(404, 503), PROVIDER_REFUSED: {
                 "description": "The provider did not take the new URL: nothing changed, the old one still works"}},
             description="For a webhook URL that may have been seen by someone it should not have. The new URL is "
             "registered with the provider first (in place of the old one); only when the provider takes it is the "
             "key replaced, and the old URL is refused (404) from then on, by every API process. The new URL is "
             "in this answer only.")
async def rotate_key(channel_id: uuid.UUID, ctx: Admin, request: Request) -> ChannelKeyRotated:
    state = state_of(request)
    # Locked: a second rotation at the same moment waits, so the provider and the database end on the same key.
    row = (await ctx.conn.execute(
        select(*COLUMNS, channels.c.token_encrypted, channels.c.webhook_token_encrypted,
               channels.c.webhook_key_sha256).where(channels.c.id == channel_id).with_for_update()
    )).one_or_none()
    if row is None:
        raise not_found("channel")
    key = channel_keys.new_key()
    url = channel_keys.webhook_url(state.settings.public_url, row.provider, key)
    token = state.keyring.decrypt(row.token_encrypted)
    secret = state.keyring.decrypt(row.webhook_token_encrypted) if row.webhook_token_encrypted else token
    access = ChannelAccess(row.provider, row.base_url, row.instance, token)
    # First, while nothing has changed (Redis down: a 503 here, not a provider posting to a key never stored):
    # every API process re-checks the old key with the database from now until well after the commit.
    try:
        await state.channels.revoke(row.webhook_key_sha256)
    except RedisError as exc:
        log.warning("channel key rotation: Redis unavailable", channel_id=str(row.id), error=type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Redis is unavailable, so the old key could not be "
                            "retired: nothing was changed; retry later") from None
    try:
        notices = await _move_webhook(state.settings, access, url, secret, row.webhook_key_sha256)
    except HTTPException as refused:
        log.warning("channel key rotation refused by the provider", channel_id=str(row.id), provider=row.provider,
                    reason=refused.detail)
        async with tenant_transaction(state.engine, ctx.user.tenant_id) as conn:
            await audit.record(conn, ctx.user.tenant_id, "channel.rotate_key", actor_kind="user",
                               actor_user_id=ctx.user.id, entity_type="channel", entity_id=row.id, rotated=False,
                               error=refused.detail)
        raise
    updated = (await ctx.conn.execute(
        update(channels).where(channels.c.id == row.id).values(**channel_keys.stored(key)).returning(*COLUMNS)
    )).one()
    await audit.record(ctx.conn, ctx.user.tenant_id, "channel.rotate_key", actor_kind="user",
                       actor_user_id=ctx.user.id, entity_type="channel", entity_id=row.id, rotated=True,
                       old_key_hint=row.webhook_key_hint, new_key_hint=updated.webhook_key_hint)
    try:
        await commit(ctx)
    except Exception:
        log.error("channel key rotation not stored after the provider took the new URL: rotate again",
                  channel_id=str(row.id), provider=row.provider)
        raise
    channel = _channel_out(updated, state.settings.public_url)
    return ChannelKeyRotated(**channel.model_dump(), webhook_url=url, notices=notices)
