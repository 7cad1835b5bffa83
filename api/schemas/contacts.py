"""Customers who wrote to the tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class ContactOut(BaseModel):
    id: uuid.UUID
    phone: str | None = Field(description="Digits with country code; empty while WhatsApp shows only the LID")
    name: str | None
    whatsapp_lid: str | None
    document_masked: str | None = Field(description="CPF/CNPJ with most digits hidden; never the full number")
    sgp_customer_id: str | None
    created_at: datetime
    updated_at: datetime
