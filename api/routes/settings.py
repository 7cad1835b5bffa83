"""Tenant settings (admin): persona, business hours, reopen window and timezone in the tenant row; the model
in ai_configs and the SGP connection in sgp_configs, one row per tenant each.

Secrets are encrypted with the keyring and never returned; the audit entry names the changed keys only.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.deps import TenantContext, state_of
from api.engine import audit
from api.engine.handoff import PHONE_HANDBACK_MINUTES
from api.engine.hours import DEFAULT_HOURS
from api.routes.common import Admin, commit, error_responses
from api.schemas.settings import (
    FIRST_RESPONSE_TARGET_MINUTES,
    AiSettingsOut,
    Persona,
    Retention,
    SettingsOut,
    SettingsPatch,
    SgpOccurrenceTypesOut,
    SgpSettingsOut,
)
from api.sgp.models import SgpAuthError, SgpError
from api.sgp.occurrences import explain
from api.sgp.tsmx import TsmxSgp
from niochat.egress import EgressPolicy, check_url
from niochat.secrets import Keyring
from niochat.tables import ai_configs, sgp_configs, tenants

router = APIRouter(prefix="/settings", tags=["settings"], responses=error_responses(400, 401, 403, 422))
SGP_UNREACHABLE = 502

# Write-only request fields -> the column holding them encrypted.
SECRETS = {"api_key": "api_key_encrypted", "token": "token_encrypted"}
SECRET_OF = {"ai": "api_key", "sgp": "token"}
REQUIRED_ON_CREATE = {"ai": ("base_url", "model"), "sgp": ("base_url", "app", "token")}


async def _read(conn: AsyncConnection) -> SettingsOut:
    tenant = (await conn.execute(select(tenants.c.timezone, tenants.c.settings))).one()
    stored = tenant.settings or {}
    ai = (await conn.execute(select(ai_configs))).one_or_none()
    sgp = (await conn.execute(select(sgp_configs))).one_or_none()
    return SettingsOut(
        persona=Persona(**(stored.get("persona") or {})),
        business_hours=stored.get("business_hours") or DEFAULT_HOURS,
        reopen_window_minutes=int(stored.get("reopen_window_minutes") or 0),
        phone_handback_minutes=stored.get("phone_handback_minutes", PHONE_HANDBACK_MINUTES),
        first_response_target_minutes=stored.get("first_response_target_minutes", FIRST_RESPONSE_TARGET_MINUTES),
        timezone=tenant.timezone,
        ai=None if ai is None else AiSettingsOut(
            base_url=ai.base_url, model=ai.model, api_key_set=ai.api_key_encrypted is not None,
            timeout_seconds=ai.timeout_seconds, temperature=ai.temperature, is_active=ai.is_active,
            transcription_model=ai.transcription_model,
        ),
        sgp=None if sgp is None else SgpSettingsOut(
            base_url=sgp.base_url, app=sgp.app, token_set=bool(sgp.token_encrypted),
            timeout_seconds=sgp.timeout_seconds, is_active=sgp.is_active, occurrence_types=sgp.occurrence_types,
        ),
        retention=Retention(**(stored.get("retention") or {})),
    )


async def _save_tenant(conn: AsyncConnection, patch: SettingsPatch) -> list[str]:
    tenant = (await conn.execute(select(tenants.c.settings).with_for_update())).one()
    stored: dict[str, Any] = dict(tenant.settings or {})
    changed = []
    if patch.persona is not None:
        persona = patch.persona.model_dump(exclude_unset=True)
        stored["persona"] = {**(stored.get("persona") or {}), **persona}
        changed += [f"persona.{key}" for key in persona]
    if "business_hours" in patch.model_fields_set:
        if patch.business_hours is None:
            stored.pop("business_hours", None)
        else:
            stored["business_hours"] = patch.business_hours.model_dump()
        changed.append("business_hours")
    if patch.reopen_window_minutes is not None:
        stored["reopen_window_minutes"] = patch.reopen_window_minutes
        changed.append("reopen_window_minutes")
    if patch.phone_handback_minutes is not None:
        stored["phone_handback_minutes"] = patch.phone_handback_minutes
        changed.append("phone_handback_minutes")
    if patch.first_response_target_minutes is not None:
        stored["first_response_target_minutes"] = patch.first_response_target_minutes
        changed.append("first_response_target_minutes")
    if "retention" in patch.model_fields_set:
        retention = {} if patch.retention is None else {
            **(stored.get("retention") or {}), **patch.retention.model_dump(exclude_unset=True)}
        retention = {key: days for key, days in retention.items() if days is not None}
        if retention:
            stored["retention"] = retention
        else:
            stored.pop("retention", None)
        fields = ["messages_days", "media_days"] if patch.retention is None else sorted(
            patch.retention.model_fields_set)
        changed += [f"retention.{key}" for key in fields]
    values: dict[str, Any] = {}
    if changed:
        values["settings"] = stored
    if patch.timezone is not None:
        values["timezone"] = patch.timezone
        changed.append("timezone")
    if values:
        await conn.execute(update(tenants).values(**values))
    return changed


async def _save_config(ctx: TenantContext, keyring: Keyring, name: str, table: Table, given: dict) -> list[str]:
    """Merge the given fields into the tenant's one row of `table`, creating it when the required ones are there."""
    changed = [f"{name}.{key}" for key in given]
    values = {}
    for key, value in given.items():
        if key in SECRETS:  # null removes a secret (only the model's key may be null)
            values[SECRETS[key]] = None if value is None else keyring.encrypt(value)
        else:
            values[key] = value
    stored = (await ctx.conn.execute(select(table.c.id, table.c.base_url).with_for_update())).one_or_none()
    if stored is not None:
        secret = SECRET_OF[name]
        moved = given.get("base_url") and given["base_url"].rstrip("/") != (stored.base_url or "").rstrip("/")
        if moved and secret not in given:
            # A secret belongs to the address it was given for: never sent on to another host.
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{name}.base_url changes: give {name}.{secret} again with it (the stored one is not sent to a new "
                "address)",
            )
        if values:
            await ctx.conn.execute(update(table).values(**values))
        return changed
    missing = [key for key in REQUIRED_ON_CREATE[name] if given.get(key) is None]
    if missing:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{name} is not configured yet: give {', '.join(f'{name}.{key}' for key in missing)} to set it up",
        )
    statement = insert(table).values(tenant_id=ctx.user.tenant_id, **values)
    await ctx.conn.execute(statement.on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values))
    return changed


@router.get("", response_model=SettingsOut, summary="The tenant's settings; secrets only as *_set flags (admin)")
async def get_settings(ctx: Admin) -> SettingsOut:
    return await _read(ctx.conn)


async def _refuse_private_urls(conn: AsyncConnection, settings, patch: SettingsPatch) -> None:
    """422 for a model or SGP URL NioChat must not call (niochat.egress). A private network is allowed for the SGP
    only where an operator allowed it for this tenant (`niochat tenant sgp-private-network`), never from here."""
    given = [("ai.base_url", patch.ai.base_url if patch.ai else None, False),
             ("sgp.base_url", patch.sgp.base_url if patch.sgp else None, True)]
    for field, url, is_sgp in given:
        if url is None:
            continue
        private_ok = is_sgp and bool(await conn.scalar(select(tenants.c.sgp_private_network)))
        if reason := check_url(url, EgressPolicy.from_settings(settings, private_ok=private_ok)):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{field}: {reason}")


@router.patch("", response_model=SettingsOut, summary="Change some settings (admin)")
async def patch_settings(patch: SettingsPatch, ctx: Admin, request: Request) -> SettingsOut:
    keyring = state_of(request).keyring
    await _refuse_private_urls(ctx.conn, state_of(request).settings, patch)
    changed = await _save_tenant(ctx.conn, patch)
    if patch.ai is not None:
        changed += await _save_config(ctx, keyring, "ai", ai_configs, patch.ai.model_dump(exclude_unset=True))
    if patch.sgp is not None:
        changed += await _save_config(ctx, keyring, "sgp", sgp_configs, patch.sgp.model_dump(exclude_unset=True))
    if changed:
        await audit.record(ctx.conn, ctx.user.tenant_id, "settings.update", actor_kind="user",
                           actor_user_id=ctx.user.id, entity_type="tenant", entity_id=ctx.user.tenant_id,
                           changed=",".join(changed))
    result = await _read(ctx.conn)
    await commit(ctx)
    return result


@router.get("/sgp/occurrence-types", response_model=SgpOccurrenceTypesOut,
            summary="The SGP's ticket types and the type each ticket kind gets (admin)",
            responses={**error_responses(404), SGP_UNREACHABLE: {"description": "The SGP did not answer the list"}})
async def sgp_occurrence_types(ctx: Admin, request: Request) -> SgpOccurrenceTypesOut:
    """Asks the tenant's SGP for its list (GET /api/os/ocorrencia/tipo/list/) and shows, for sem_conexao,
    lentidao, quedas and outros, the `ocorrenciatipo` a ticket gets: from `sgp.occurrence_types`, by name in the
    list, or outros' — or why it would be refused. What to check after configuring a new SGP."""
    config = (await ctx.conn.execute(select(sgp_configs))).one_or_none()
    if config is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the SGP is not configured (PATCH /settings with sgp)")
    state = state_of(request)
    async with httpx.AsyncClient() as http:
        sgp = TsmxSgp(http, config.base_url, config.app, state.keyring.decrypt(config.token_encrypted),
                      config.timeout_seconds, state.redis, str(ctx.user.tenant_id),
                      occurrence_types=config.occurrence_types)
        try:
            types = await sgp.occurrence_types()
        except SgpAuthError as exc:
            raise HTTPException(SGP_UNREACHABLE, f"{exc}: check sgp.app and sgp.token") from None
        except SgpError as exc:
            raise HTTPException(SGP_UNREACHABLE, f"the SGP's list of types could not be read: {exc}") from None
    return SgpOccurrenceTypesOut(
        types=[{"id": t.id, "name": t.name, "active": t.active} for t in types],
        mapping=explain(types, config.occurrence_types),
    )
