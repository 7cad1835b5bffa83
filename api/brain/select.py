"""Which brain and which SGP a tenant's conversation gets, from the tenant's settings in the database."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain.rules import RulesBrain
from api.brain.turn import Brain
from api.engine.deps import WorkerDeps
from api.sgp.models import SgpAdapter
from niochat.secrets import Keyring
from niochat.tables import ai_configs, sgp_configs, tenants

RULES = RulesBrain()


async def brain_for(conn: AsyncConnection, deps: WorkerDeps) -> Brain:
    config = (await conn.execute(select(ai_configs).where(ai_configs.c.is_active))).one_or_none()
    if config is None:
        return RULES
    from api.brain.model import ModelBrain

    api_key = deps.keyring.decrypt(config.api_key_encrypted) if config.api_key_encrypted else "not-needed"
    return ModelBrain(
        base_url=config.base_url,
        model=config.model,
        api_key=api_key,
        timeout=config.timeout_seconds,
        temperature=config.temperature,
        http=deps.http,
        fallback=RULES,
    )


async def sgp_for(conn: AsyncConnection, deps: WorkerDeps, tenant_id) -> SgpAdapter | None:
    return await sgp_adapter(conn, tenant_id, http=deps.http, http_private=deps.http_private_sgp, redis=deps.redis,
                             keyring=deps.keyring)


async def sgp_adapter(conn: AsyncConnection, tenant_id, *, http: httpx.AsyncClient,
                      http_private: httpx.AsyncClient | None, redis: aioredis.Redis | None,
                      keyring: Keyring) -> SgpAdapter | None:
    """The tenant's active SGP, as the bot and the agents' customer panel both reach it; None: not configured."""
    config = (await conn.execute(select(sgp_configs).where(sgp_configs.c.is_active))).one_or_none()
    if config is None:
        return None
    from api.sgp.factory import sgp_from_config

    # An on-premises SGP on a private network: only where an operator allowed it for this tenant (niochat.egress).
    private = await conn.scalar(select(tenants.c.sgp_private_network).where(tenants.c.id == tenant_id))
    return sgp_from_config(
        http_private if private and http_private is not None else http,
        redis,
        str(tenant_id),
        config.base_url,
        config.app,
        keyring.decrypt(config.token_encrypted),
        config.timeout_seconds,
        occurrence_types=config.occurrence_types,
    )
