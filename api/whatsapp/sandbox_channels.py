"""The sandbox's channels set up as an operator sets up a real provider's: the instances the WhatsApp sandbox
forgets on restart created again, each checked with the provider and its webhook registered (api.whatsapp.setup).
For `niochat demo`, `niochat serve --sandbox`, the evaluation, the benchmarks and the tests."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping

import httpx
from sqlalchemy import update

from api.whatsapp.clients import ChannelAccess
from api.whatsapp.setup import check_channel, register_webhook
from niochat import accounts, channel_keys
from niochat.database import sync_engine
from niochat.secrets import Keyring
from niochat.tables import channels


async def connect_to_sandbox(sandbox_url: str, public_url: str, keyring: Keyring, channel_rows,
                             database_url: str | None = None, by_events: Collection[str] = (),
                             keys: Mapping[uuid.UUID, str] | None = None) -> list[str]:
    """Create each channel's instance in the sandbox (it forgets them on restart) and set the channel up as an
    operator would: checked with the provider, Evolution's with the sandbox server's global key (the instance's
    own token is fetched with it), our webhook added beside whatever the instance already has.

    A channel's webhook URL needs its key, which is stored only as a hash: `keys` gives the keys of channels
    just created (channel id -> key); any other channel gets a new key, stored with `database_url` (a new URL in
    place of the old one, as `niochat channel rotate-key` does). With `database_url`, Evolution channels are
    stored as calling with the global key and checking webhooks against the instance's token. Instances named
    in `by_events` get Evolution's "webhook by events" switched on afterwards, as an ISP may do in Evolution's
    manager: their events go to <webhook URL>/<event-name>."""
    keys = dict(keys or {})
    webhook_urls = []
    async with httpx.AsyncClient(timeout=10) as http:
        config = await http.get(f"{sandbox_url}/sandbox/config")
        config.raise_for_status()
        global_key = config.json().get("evolution_api_key")
        for row in channel_rows:
            instance_token = keyring.decrypt(getattr(row, "webhook_token_encrypted", None) or row.token_encrypted)
            response = await http.post(
                f"{sandbox_url}/sandbox/instances",
                json={"provider": row.provider, "instance": row.instance, "token": instance_token},
            )
            response.raise_for_status()
            key = global_key if row.provider == "evolution" and global_key else instance_token
            found = await check_channel(http, row.provider, sandbox_url, row.instance, key)
            if database_url and row.provider == "evolution":
                _store_keys(database_url, keyring, row.id, found.api_key, found.webhook_token)
            webhook_key = keys.get(row.id) or _new_webhook_key(database_url, row.id)
            url = accounts.webhook_url(public_url, row.provider, webhook_key)
            old_hash = row.webhook_key_sha256
            await register_webhook(
                http, ChannelAccess(row.provider, sandbox_url, row.instance, key), url, secret=instance_token,
                replaces=lambda registered, row=row, old_hash=old_hash: channel_keys.is_url_of(
                    registered, row.provider, old_hash))
            if row.instance in by_events and row.provider == "evolution":
                switched = await http.post(f"{sandbox_url}/sandbox/instances/{row.instance}/webhook",
                                           json={"by_events": True})
                switched.raise_for_status()
            webhook_urls.append(url)
    return webhook_urls


def _new_webhook_key(database_url: str | None, channel_id) -> str:
    if database_url is None:
        raise ValueError(f"channel {channel_id}: its webhook key is stored only as a hash; pass it in `keys`, or "
                         "a database_url to give the channel a new one")
    key, engine = channel_keys.new_key(), sync_engine(database_url)
    try:
        with engine.begin() as conn:
            accounts.replace_webhook_key(conn, channel_id, key, "demo")
    finally:
        engine.dispose()
    return key


def _store_keys(database_url: str, keyring: Keyring, channel_id, api_key: str, webhook_token: str | None) -> None:
    engine = sync_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(channels).where(channels.c.id == channel_id).values(
                token_encrypted=keyring.encrypt(api_key),
                webhook_token_encrypted=keyring.encrypt(webhook_token) if webhook_token else None,
            ))
    finally:
        engine.dispose()
