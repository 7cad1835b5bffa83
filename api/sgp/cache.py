"""A short Redis cache for SGP lookups (consultacliente, fatura2via): a chat asks the same things several times
in a minute. Keys hold the tenant and a keyed hash (HMAC) of the document/contract, never a clear CPF; without
Redis, or when Redis fails, every lookup goes to the SGP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.sgp.breaker import KEY_PREFIX
from niochat.logging import get_logger

log = get_logger("api.sgp.cache")


class LookupCache:
    def __init__(self, redis: aioredis.Redis | None, tenant_key: str, secret: str, ttl_seconds: int = 60) -> None:
        self.redis = redis
        self.tenant_key = tenant_key
        self.ttl_seconds = ttl_seconds
        self._secret = (secret or tenant_key).encode()

    def key(self, kind: str, *parts: str) -> str:
        digest = hmac.new(self._secret, "|".join((kind, *parts)).encode(), hashlib.sha256).hexdigest()[:40]
        return f"{KEY_PREFIX}:{self.tenant_key}:cache:{kind}:{digest}"

    async def get(self, kind: str, *parts: str) -> dict[str, Any] | None:
        if self.redis is None or self.ttl_seconds <= 0:
            return None
        try:
            raw = await self.redis.get(self.key(kind, *parts))
        except RedisError as exc:
            log.warning("sgp.cache_unavailable", error=type(exc).__name__)
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def put(self, kind: str, value: dict[str, Any], *parts: str) -> None:
        if self.redis is None or self.ttl_seconds <= 0:
            return
        try:
            await self.redis.set(self.key(kind, *parts), json.dumps(value), ex=self.ttl_seconds)
        except (RedisError, TypeError, ValueError) as exc:
            log.warning("sgp.cache_write_failed", error=type(exc).__name__)
