"""Live events for agents (Redis pub/sub, so every API process's WebSockets get them) and live counters."""

from __future__ import annotations

import json
import time
import uuid

import redis.asyncio as aioredis

from niochat import live_keys
from niochat.logging import get_logger

log = get_logger(__name__)
MINUTE_TTL = 3 * 3600


def events_channel(tenant_id: uuid.UUID | str) -> str:
    return f"niochat:events:{tenant_id}"


def minute_key(tenant_id: uuid.UUID | str, direction: str, minute: int | None = None) -> str:
    """The live per-minute counter's key (niochat/live_keys.py), this minute unless told."""
    return live_keys.minute_key(tenant_id, direction, minute if minute is not None else int(time.time() // 60))


async def publish(redis: aioredis.Redis, tenant_id: uuid.UUID | str, event: str, **data) -> None:
    """Best effort: a live event lost to a Redis hiccup must never fail the work that caused it."""
    try:
        await redis.publish(events_channel(tenant_id), json.dumps({"type": event, **data}, default=str))
    except Exception as exc:  # noqa: BLE001
        log.warning("live event not published", event=event, error=type(exc).__name__)


async def message_event(redis: aioredis.Redis, tenant_id: uuid.UUID | str, direction: str, event: str, /,
                        **data) -> None:
    """A message stored or sent: counted in the live per-minute counter and published, in one round trip.
    Best effort, as publish."""
    key = minute_key(tenant_id, direction)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, MINUTE_TTL)
            pipe.publish(events_channel(tenant_id), json.dumps({"type": event, **data}, default=str))
            await pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.warning("live counter and event not recorded", event=event, error=type(exc).__name__)
