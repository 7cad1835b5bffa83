"""Circuit breaker per tenant's SGP: after N consecutive failed requests it opens for a while, then lets one
trial request through (half-open): success closes it, failure opens it again.

Kept in Redis when there is a client, so every API process and worker sees the same circuit; otherwise in this
process's memory (one breaker per tenant key, shared by every adapter built for that tenant).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.sgp.models import SgpUnavailable
from niochat.logging import get_logger

log = get_logger("api.sgp.breaker")
KEY_PREFIX = "niochat:sgp"


class CircuitOpen(SgpUnavailable):
    """The breaker refused the call without contacting the SGP."""

    def __init__(self) -> None:
        super().__init__("SGP indisponível: circuito aberto após falhas seguidas")


@dataclass
class MemoryBreaker:
    threshold: int = 5
    open_seconds: float = 30.0
    failures: int = 0
    open_until: float | None = None
    trial_started: float | None = None

    async def before_call(self) -> None:
        if self.open_until is None:
            return
        now = time.monotonic()
        if now < self.open_until:
            raise CircuitOpen()
        if self.trial_started is not None and now - self.trial_started < max(self.open_seconds, 1.0):
            raise CircuitOpen()  # half-open: one trial at a time
        self.trial_started = now

    async def record_success(self) -> None:
        self.failures, self.open_until, self.trial_started = 0, None, None

    async def record_failure(self) -> bool:
        """Count a failure; True when this one (re)opened the circuit."""
        self.failures += 1
        if self.open_until is not None or self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.open_seconds
            self.trial_started = None
            return True
        return False


_memory: dict[tuple[str, int, float], MemoryBreaker] = {}


def memory_breaker(tenant_key: str, threshold: int, open_seconds: float) -> MemoryBreaker:
    """This process's breaker for a tenant: built once, shared by every adapter of that tenant."""
    key = (tenant_key, threshold, open_seconds)
    if key not in _memory:
        _memory[key] = MemoryBreaker(threshold, open_seconds)
    return _memory[key]


class RedisBreaker:
    """The same rules with the state in Redis (wall-clock times, keys per tenant); memory when Redis fails."""

    def __init__(self, redis: aioredis.Redis, tenant_key: str, threshold: int = 5, open_seconds: float = 30.0,
                 trial_seconds: float = 10.0) -> None:
        self.redis = redis
        self.threshold = threshold
        self.open_seconds = open_seconds
        self.trial_ms = max(1, math.ceil(trial_seconds * 1000))
        prefix = f"{KEY_PREFIX}:{tenant_key}:breaker"
        self.failures_key = f"{prefix}:failures"
        self.open_key = f"{prefix}:open_until"
        self.trial_key = f"{prefix}:trial"
        self.fallback = memory_breaker(tenant_key, threshold, open_seconds)

    async def before_call(self) -> None:
        try:
            open_until = await self.redis.get(self.open_key)
            if open_until is None:
                return
            if time.time() < float(open_until):
                raise CircuitOpen()
            if not await self.redis.set(self.trial_key, "1", nx=True, px=self.trial_ms):
                raise CircuitOpen()  # half-open and another worker's trial is under way
        except RedisError as exc:
            log.warning("sgp.breaker_redis_unavailable", error=type(exc).__name__)
            await self.fallback.before_call()

    async def record_success(self) -> None:
        try:
            await self.redis.delete(self.failures_key, self.open_key, self.trial_key)
        except RedisError:
            await self.fallback.record_success()

    async def record_failure(self) -> bool:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.exists(self.open_key)
                pipe.incr(self.failures_key)
                pipe.expire(self.failures_key, 600)
                was_open, failures, _ = await pipe.execute()
            if not was_open and failures < self.threshold:
                return False
            until = time.time() + self.open_seconds
            keep_ms = math.ceil((self.open_seconds + 600) * 1000)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self.open_key, repr(until), px=keep_ms)
                pipe.delete(self.trial_key)
                await pipe.execute()
            return True
        except RedisError:
            return await self.fallback.record_failure()
