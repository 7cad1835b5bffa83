"""Channel webhook keys: the unguessable part of a channel's webhook URL, shown once and stored only as a hash.

A key is 32 random bytes, so a plain SHA-256 is enough to store it (nothing to brute-force, no salt needed) and
lets PostgreSQL compute the same hash (`sha256()`, migration 0014). The last characters are kept as a hint, so
an operator can tell which URL a provider has without the URL being readable again.
"""

from __future__ import annotations

import hashlib
import secrets

HINT_LENGTH = 4
WEBHOOK_PATH = "/webhooks/"
# How long a replaced key stays marked in Redis: longer than any API process remembers a channel (30 s) plus a
# rotation's provider call (10 s timeouts), so no process uses a remembered channel under its old key afterwards.
REVOKED_SECONDS = 180


def new_key() -> str:
    return secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_hint(key: str) -> str:
    return key[-HINT_LENGTH:]


def webhook_url(public_url: str, provider: str, key: str) -> str:
    return f"{public_url.rstrip('/')}{WEBHOOK_PATH}{provider}/{key}"


def url_hint(public_url: str, provider: str, hint: str) -> str:
    """What the webhook URL looks like, without its key: enough to recognise it, useless to post to."""
    return f"{public_url.rstrip('/')}{WEBHOOK_PATH}{provider}/…{hint}"


def is_url_of(url: str | None, provider: str, hashed: str) -> bool:
    """Whether `url` is a webhook URL of the channel whose key hashes to `hashed` (on any host, with or without
    Evolution's by-events suffix): how a rotation finds the channel's old registration at the provider."""
    if not url:
        return False
    marker = f"{WEBHOOK_PATH}{provider}/"
    _, found, rest = url.partition(marker)
    if not found:
        return False
    return key_hash(rest.split("/", 1)[0].split("?", 1)[0]) == hashed


def stored(key: str) -> dict[str, str]:
    """The channel columns that keep `key`: its hash and its hint, never the key."""
    return {"webhook_key_sha256": key_hash(key), "webhook_key_hint": key_hint(key)}


def revoked_mark(hashed: str) -> str:
    """The Redis key marking a webhook key (by its hash) as being replaced: API processes then ask the database
    instead of using what they remember of it (api.webhooks.channels.ChannelDirectory)."""
    return f"niochat:channel-key:revoked:{hashed}"
