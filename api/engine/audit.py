"""Audit entries: every human and bot action, written in the same transaction as the action."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from niochat.tables import audit_log


async def record(
    conn: AsyncConnection, tenant_id: uuid.UUID | str, action: str, *, actor_kind: str,
    actor_user_id: uuid.UUID | None = None, entity_type: str | None = None, entity_id: object = None,
    **details,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            tenant_id=tenant_id, actor_kind=actor_kind, actor_user_id=actor_user_id, action=action,
            entity_type=entity_type, entity_id=str(entity_id) if entity_id is not None else None,
            details={key: value if isinstance(value, int | float | bool | None) else str(value)
                     for key, value in details.items()},
        )
    )
