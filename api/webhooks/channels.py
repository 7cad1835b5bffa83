"""The channel a webhook is for, found by the hash of the key in its URL (remembered for a few seconds)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from niochat.channel_keys import REVOKED_SECONDS, key_hash, revoked_mark
from niochat.database import app_transaction
from niochat.secrets import Keyring


@dataclass(frozen=True)
class ChannelRef:
    id: uuid.UUID
    tenant_id: uuid.UUID
    provider: str
    instance: str
    token: str


async def find_channel(engine: AsyncEngine, keyring: Keyring, hashed: str) -> ChannelRef | None:
    """The active channel whose webhook key hashes to `hashed` (niochat.channel_keys.key_hash)."""
    async with app_transaction(engine) as conn:
        row = (await conn.execute(text("select * from niochat_channel_by_key(:hashed)"),
                                  {"hashed": hashed})).one_or_none()
    if row is None or not row.is_active:
        return None
    return ChannelRef(row.channel_id, row.tenant_id, row.provider, row.instance, keyring.decrypt(row.token_encrypted))


class ChannelDirectory:
    """Active channels by the hash of their webhook key, remembered for a few seconds per API process.

    Every webhook needs its channel, and a channel changes only when it is provisioned: a database transaction
    per webhook for it was the largest single cost of the intake path. A deactivated channel is refused at most
    `ttl` seconds later. A rotated key is refused at once: the rotation marks the old hash in Redis (`revoke`),
    and a remembered channel is only used while its hash is not marked. Unknown keys are not remembered, so a new
    channel works at once."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring, redis=None, ttl: float = 30.0,
                 maxsize: int = 10_000):
        self._engine, self._keyring, self._redis, self.ttl = engine, keyring, redis, ttl
        self._known: TTLCache[str, ChannelRef] = TTLCache(maxsize=maxsize, ttl=ttl)

    async def find(self, key: str) -> ChannelRef | None:
        hashed = key_hash(key)
        if (channel := self._known.get(hashed)) is not None:
            if self._redis is None or not await self._redis.exists(revoked_mark(hashed)):
                return channel
            self._known.pop(hashed, None)
        channel = await find_channel(self._engine, self._keyring, hashed)
        if channel is not None:
            self._known[hashed] = channel
        return channel

    async def revoke(self, hashed: str) -> None:
        """Before a key is replaced: no process may keep using what it remembers of it (the mark outlives any
        entry remembered before the replacement commits)."""
        self._known.pop(hashed, None)
        if self._redis is not None:
            await self._redis.set(revoked_mark(hashed), 1, ex=REVOKED_SECONDS)
