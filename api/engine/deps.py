"""What the worker's jobs share, built once per worker process."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from niochat.secrets import Keyring
from niochat.settings import Settings


@dataclass
class WorkerDeps:
    settings: Settings
    engine: AsyncEngine
    redis: aioredis.Redis
    arq: ArqRedis
    http: httpx.AsyncClient  # guarded (niochat.egress): every tenant-chosen or provider-given address
    keyring: Keyring
    # Guarded too, but also reaching private networks: only for the SGP of a tenant an operator allowed
    # (tenants.sgp_private_network); None: such tenants use `http` like everyone else.
    http_private_sgp: httpx.AsyncClient | None = None
