from dataclasses import dataclass

import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ratelimit import RateLimits
from api.webhooks.channels import ChannelDirectory
from niochat.secrets import Keyring
from niochat.settings import Settings


@dataclass
class AppState:
    """What request handlers share; nothing here is state between requests (DESIGN: scaling out), only the
    short-lived channel cache, which any process can rebuild from the database."""

    settings: Settings
    engine: AsyncEngine
    redis: aioredis.Redis
    keyring: Keyring
    arq: ArqRedis
    limits: RateLimits
    channels: ChannelDirectory
