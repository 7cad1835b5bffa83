"""Agents' presence: online, away or offline, live in Redis (niochat.live_keys).

The rule: a user is online or away while they chose so AND their heartbeat lives. Choosing a status (PUT
/me/presence) beats the heart once; the workspace's live socket (api/routes/ws.py) beats it every BEAT_SECONDS
while it is open. A closed browser stops the beats and the heartbeat expires GRACE_SECONDS later: the user is
offline, and the sweeper (api/engine/sweeper.py) gives back what they had not answered yet. Offline removes the
choice at once. Only online users get conversations by auto-assignment; away keeps what one has.
"""

from __future__ import annotations

import uuid
from typing import Literal

import redis.asyncio as aioredis

from niochat import live_keys

Presence = Literal["online", "away", "offline"]
PRESENT = ("online", "away")
GRACE_SECONDS = 90  # a reload or a short network loss does not drop anyone
BEAT_SECONDS = 30  # three beats per grace: one lost beat does not either


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def set_presence(redis: aioredis.Redis, tenant_id: uuid.UUID, user_id: uuid.UUID, status: Presence) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        if status == "offline":
            pipe.hdel(live_keys.presence_key(tenant_id), str(user_id))
            pipe.delete(live_keys.heartbeat_key(tenant_id, user_id))
        else:
            pipe.hset(live_keys.presence_key(tenant_id), str(user_id), status)
            pipe.set(live_keys.heartbeat_key(tenant_id, user_id), "1", ex=GRACE_SECONDS)
            pipe.sadd(live_keys.PRESENCE_TENANTS, str(tenant_id))
        await pipe.execute()


async def beat(redis: aioredis.Redis, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The browser is still there: keep a chosen status alive (nothing to keep when the user is offline)."""
    if await redis.hexists(live_keys.presence_key(tenant_id), str(user_id)):
        await redis.set(live_keys.heartbeat_key(tenant_id, user_id), "1", ex=GRACE_SECONDS)


async def statuses(redis: aioredis.Redis, tenant_id: uuid.UUID) -> tuple[dict[uuid.UUID, Presence], list[uuid.UUID]]:
    """Each present user's status, and the users whose choice outlived their heartbeat (offline now, not yet
    given back: the caller does that, see expired)."""
    chosen = {uuid.UUID(_text(key)): _text(value)
              for key, value in (await redis.hgetall(live_keys.presence_key(tenant_id))).items()}
    if not chosen:
        return {}, []
    users = list(chosen)
    alive = await redis.mget([live_keys.heartbeat_key(tenant_id, user_id) for user_id in users])
    present = {user_id: chosen[user_id] for user_id, beat_ in zip(users, alive, strict=True) if beat_ is not None}
    return present, [user_id for user_id in users if user_id not in present]


async def online(redis: aioredis.Redis, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    present, _ = await statuses(redis, tenant_id)
    return [user_id for user_id, status in present.items() if status == "online"]


async def status_of(redis: aioredis.Redis, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Presence:
    present, _ = await statuses(redis, tenant_id)
    return present.get(user_id, "offline")


async def forget(redis: aioredis.Redis, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Drop an expired user's choice; True for the one caller that dropped it (who then gives back)."""
    return bool(await redis.hdel(live_keys.presence_key(tenant_id), str(user_id)))


async def tenants(redis: aioredis.Redis) -> list[uuid.UUID]:
    return [uuid.UUID(_text(value)) for value in await redis.smembers(live_keys.PRESENCE_TENANTS)]

