"""Redis connections for every part: redis-py asyncio clients and arq's settings from one URL."""

from __future__ import annotations

from urllib.parse import urlparse

import redis.asyncio as aioredis
from arq.connections import RedisSettings

QUEUE_NAME = "niochat:queue"


def async_redis(url: str, **kwargs) -> aioredis.Redis:
    kwargs.setdefault("socket_timeout", 5)
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("health_check_interval", 30)
    return aioredis.from_url(url, **kwargs)


def arq_settings(url: str) -> RedisSettings:
    """arq takes a TCP DSN or, for the embedded server, the unix socket path."""
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        return RedisSettings(unix_socket_path=parsed.path, conn_timeout=2, conn_retries=2)
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings
