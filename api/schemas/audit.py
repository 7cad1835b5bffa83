"""Audit log entries: who did what, when."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    actor_kind: str
    actor_user_id: uuid.UUID | None
    actor_name: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    details: dict[str, Any]
