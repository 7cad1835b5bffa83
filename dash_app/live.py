"""The live counters the engine keeps in Redis (api/engine: the sweeper's hash, per-minute message counters), read
by the keys both build from the floor (niochat/live_keys.py)."""

from __future__ import annotations

import time
import uuid

import redis

from niochat.live_keys import COUNTERS, REFRESHED_AT, counters_key, minute_key


def read_live(client: redis.Redis, tenant_id: str, minutes: int = 30, now: float | None = None) -> dict:
    """{'counters': {bot, waiting, open, assigned} or None, 'age_seconds', 'minutes': [epoch minute...],
    'inbound': [...], 'outbound': [...]} for the tenant; None counters when the engine has not refreshed them."""
    tenant = str(uuid.UUID(str(tenant_id)))
    now = time.time() if now is None else now
    current = int(now // 60)
    window = list(range(current - minutes + 1, current + 1))
    with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(counters_key(tenant))
        pipe.mget([minute_key(tenant, "inbound", m) for m in window])
        pipe.mget([minute_key(tenant, "outbound", m) for m in window])
        raw, inbound, outbound = pipe.execute()
    raw = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
           for k, v in (raw or {}).items()}
    counters = {status: int(raw.get(status) or 0) for status in COUNTERS} if raw else None
    refreshed = int(raw[REFRESHED_AT]) if raw.get(REFRESHED_AT) else None
    return {
        "counters": counters,
        "age_seconds": None if refreshed is None else max(0, int(now) - refreshed),
        "minutes": window,
        "inbound": [int(v or 0) for v in inbound],
        "outbound": [int(v or 0) for v in outbound],
    }
