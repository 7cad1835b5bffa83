"""Login lockout with backoff, per account, shared by the API and the dashboards (both keep it in Redis).

After FREE_FAILURES wrong passwords for one e-mail, that e-mail is locked for a minute, then for twice as long
after each further failure, up to an hour; a right password clears the count. It applies to any e-mail alike,
existing or not, so it tells nothing about which accounts exist. When Redis cannot be asked, logins are refused:
a lockout that opens when its store is down is no lockout.
"""

from __future__ import annotations

import hashlib

FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600
FAILURES_KEPT_SECONDS = 24 * 3600


def _account(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]  # no e-mail in Redis keys


def failures_key(email: str) -> str:
    return f"niochat:login:failures:{_account(email)}"


def lock_key(email: str) -> str:
    return f"niochat:login:locked:{_account(email)}"


def lock_seconds(failures: int) -> int:
    """How long the account stays locked after its `failures`-th wrong password in a row (0: not locked)."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_LOCK_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_LOCK_SECONDS)


def minutes_text(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minuto" if minutes == 1 else f"{minutes} minutos"


class AsyncLockout:
    """The API's side (redis.asyncio)."""

    def __init__(self, redis) -> None:
        self.redis = redis

    async def locked_for(self, email: str) -> int:
        """Seconds the account stays locked (0: free); raises redis errors, which callers answer by refusing."""
        ttl = await self.redis.ttl(lock_key(email))
        return max(0, ttl)

    async def failed(self, email: str) -> int:
        failures = await self.redis.incr(failures_key(email))
        await self.redis.expire(failures_key(email), FAILURES_KEPT_SECONDS)
        if seconds := lock_seconds(failures):
            await self.redis.set(lock_key(email), 1, ex=seconds)
        return seconds

    async def succeeded(self, email: str) -> None:
        await self.redis.delete(failures_key(email), lock_key(email))


class SyncLockout:
    """The dashboards' side (redis-py, in Flask's threads): the same keys and rules."""

    def __init__(self, redis) -> None:
        self.redis = redis

    def locked_for(self, email: str) -> int:
        return max(0, self.redis.ttl(lock_key(email)))

    def failed(self, email: str) -> int:
        failures = self.redis.incr(failures_key(email))
        self.redis.expire(failures_key(email), FAILURES_KEPT_SECONDS)
        if seconds := lock_seconds(failures):
            self.redis.set(lock_key(email), 1, ex=seconds)
        return seconds

    def succeeded(self, email: str) -> None:
        self.redis.delete(failures_key(email), lock_key(email))
