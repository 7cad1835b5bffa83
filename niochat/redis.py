"""Redis connections for every part: redis-py asyncio clients and arq's settings from one URL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import redis.asyncio as aioredis
from arq.connections import RedisSettings

QUEUE_NAME = "niochat:queue"


def _failure(value: object) -> str:
    """A failed job's exception, in the result arq records; any other type is an error (never pickled)."""
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    raise TypeError(f"{type(value).__name__} is not JSON: job arguments must be strings (ids as str)")


def job_serializer(job: dict[str, Any]) -> bytes:
    """arq's jobs as JSON, not pickle: whoever can write to Redis must not be able to run code in a worker.
    Every job argument is a string (ids as str); anything else fails the enqueue instead of being pickled."""
    return json.dumps(job, separators=(",", ":"), allow_nan=False, default=_failure).encode()


def job_deserializer(data: bytes) -> dict[str, Any]:
    return json.loads(data)


# For ArqRedis, create_pool and Worker alike: both ends of the queue must agree.
JOB_CODEC = {"job_serializer": job_serializer, "job_deserializer": job_deserializer}


def async_redis(url: str, **kwargs) -> aioredis.Redis:
    kwargs.setdefault("socket_timeout", 5)
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("health_check_interval", 30)
    return aioredis.from_url(url, **kwargs)


def arq_settings(url: str) -> RedisSettings:
    """arq takes a TCP DSN or, for the embedded server, the unix socket path."""
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        database = int((parse_qs(parsed.query).get("db") or ["0"])[0])
        return RedisSettings(unix_socket_path=parsed.path, database=database, conn_timeout=2, conn_retries=2)
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings
