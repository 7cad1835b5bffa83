"""Which brain and which SGP a tenant's conversation gets, from the tenant's settings in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain.rules import RulesBrain
from api.brain.turn import Brain
from api.engine.deps import WorkerDeps
from api.sgp.models import SgpAdapter
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
    config = (await conn.execute(select(sgp_configs).where(sgp_configs.c.is_active))).one_or_none()
    if config is None:
        return None
    from api.sgp.factory import sgp_from_config

    # An on-premises SGP on a private network: only where an operator allowed it for this tenant (niochat.egress).
    private = await conn.scalar(select(tenants.c.sgp_private_network).where(tenants.c.id == tenant_id))
    http = deps.http_private_sgp if private and deps.http_private_sgp is not None else deps.http
    return sgp_from_config(
        http,
        deps.redis,
        str(tenant_id),
        config.base_url,
        config.app,
        deps.keyring.decrypt(config.token_encrypted),
        config.timeout_seconds,
        occurrence_types=config.occurrence_types,
    )
