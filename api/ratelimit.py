"""Rate limits kept in Redis (the `limits` library), so every API process shares them."""

from __future__ import annotations

from urllib.parse import urlparse

from limits import RateLimitItemPerMinute, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

PER_CONTACT = parse("40/minute")  # a person typing fast sends ~10; more is a script or a loop
PER_TENANT = parse("6000/minute")
LOGIN_PER_ACCOUNT = RateLimitItemPerMinute(10)
LOGIN_PER_ADDRESS = RateLimitItemPerMinute(30)


def _storage_uri(redis_url: str) -> str:
    parsed = urlparse(redis_url)
    if parsed.scheme == "unix":
        return f"async+redis+unix://{parsed.path}"
    return "async+" + redis_url


class RateLimits:
    def __init__(self, redis_url: str):
        storage = RedisStorage(_storage_uri(redis_url), implementation="redispy", key_prefix="niochat:rl")
        self._limiter = MovingWindowRateLimiter(storage)

    async def allow(self, item, *identifiers: str) -> bool:
        """Count one hit; False when over the limit."""
        return await self._limiter.hit(item, *identifiers)
