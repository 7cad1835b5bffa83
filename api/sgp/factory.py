"""The SgpAdapter for a tenant's SGP settings (SGP/TSMX today; IXC, Hubsoft, MK would be chosen here)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import redis.asyncio as aioredis

from api.sgp.models import SgpAdapter
from api.sgp.tsmx import TsmxSgp


def sgp_from_config(http: httpx.AsyncClient, redis: aioredis.Redis | None, tenant_key: str, base_url: str, app: str,
                    token: str, timeout_seconds: float,
                    occurrence_types: Mapping[str, int] | None = None) -> SgpAdapter:
    """`tenant_key` names the tenant in cache and circuit-breaker keys (use its id, never a secret);
    `occurrence_types` are the tenant's own ticket kind -> SGP type id choices (sgp.occurrence_types)."""
    return TsmxSgp(http, base_url, app, token, timeout_seconds, redis, tenant_key,
                   occurrence_types=occurrence_types)
