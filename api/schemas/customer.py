"""The customer panel beside the chat: the SGP customer bound to a conversation, and what was sent again."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class ConnectionOut(BaseModel):
    status: str = Field(description="online | offline | manutencao | suspenso (blocked for debt: the SGP is not "
                                    "asked, as the bot does)")
    detail: str | None = Field(None, description="The SGP's own words, e.g. \"Serviço Online\"")
    forecast: str | None = Field(None, description="When a maintenance ends, as the SGP writes it")


class ContractOut(BaseModel):
    id: str
    plan: str | None = None
    address: str | None = None
    status: str = Field(description="The SGP's words, e.g. \"Ativo\", \"Suspenso\"")
    situation: str = Field(description="ativo | suspenso | reduzido | cancelado")
    bound: bool = Field(description="The contract the bot settled on in this conversation")
    connection: ConnectionOut | None = Field(None, description="Now, from the SGP; absent for a cancelled contract "
                                                               "or when the SGP did not answer")


class InvoiceOut(BaseModel):
    id: str
    contract_id: str
    due_date: date
    amount: Decimal
    status: str = Field(description="vencida | em_aberto")
    has_pix: bool
    has_digitable_line: bool


class TicketOut(BaseModel):
    protocol: str
    opened_at: datetime


class CustomerOut(BaseModel):
    """Unverified: `{"verified": false}` and nothing else. Verified: the customer as the SGP has it now; when the
    SGP did not answer, `error` says so (Portuguese, for the agent) and what could not be read is absent."""

    verified: bool
    name: str | None = None
    document: str | None = Field(None, description="Masked (***.982.247-**), never the whole CPF/CNPJ")
    contracts: list[ContractOut] | None = None
    invoices: list[InvoiceOut] | None = Field(None, description="Open invoices of every contract, oldest first")
    tickets: list[TicketOut] | None = Field(None, description="Tickets the bot opened in this conversation")
    error: str | None = None
