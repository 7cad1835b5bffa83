"""What NioChat needs from a provider's management system, whatever the vendor (SGP first; IXC, Hubsoft, MK later)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


class SgpError(Exception):
    """The management system failed; the message is safe to log (no CPF, no PPPoE login)."""


class SgpUnavailable(SgpError):
    """Timeout, connection error, 5xx, or the circuit breaker is open: tell the customer and offer a human."""


class SgpAuthError(SgpError):
    """The configured app/token were refused (403): an operator must fix the tenant's SGP settings."""


class SgpTicketTypeError(SgpError):
    """No valid SGP occurrence type (`ocorrenciatipo`) for a ticket: the tenant's mapping names a type this SGP
    does not have, or nothing in the SGP's list matches the ticket's kind. Nothing was opened; an operator must
    fix `sgp.occurrence_types` (docs/operator-guide.md, "SGP occurrence types")."""

    def __init__(self, message: str, *, kind: str, type_id: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.type_id = kind, type_id


@dataclass(frozen=True)
class Contract:
    id: str
    status: str  # e.g. "Ativo", "Suspenso", trimmed
    active: bool
    plan: str | None = None
    address: str | None = None  # short, for the customer to tell contracts apart ("Rua das Flores, 120")
    open_amount: Decimal | None = None


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    document: str  # digits only
    contracts: tuple[Contract, ...] = field(default_factory=tuple)
    phones: tuple[str, ...] = field(default_factory=tuple)  # digits, as registered (identity check on WhatsApp)


@dataclass(frozen=True)
class IdentityRecord:
    """What the SGP holds to confirm a customer writing from a number it does not have: consultacliente read
    fresh (never from the cache, which keeps no birth dates), kept only for the check, never logged."""

    customer: Customer
    birth_date: date | None = None  # `dataNascimento`: the factor for people (CPF)
    postal_codes: tuple[str, ...] = ()  # every contract's installation CEP (`endereco_cep`): for companies (CNPJ)


@dataclass(frozen=True)
class Invoice:
    id: str
    contract_id: str
    amount: Decimal
    due_date: date
    digitable_line: str | None
    pix_code: str | None
    link: str | None
    overdue: bool


@dataclass(frozen=True)
class ConnectionStatus:
    contract_id: str
    online: bool
    detail: str | None = None  # the SGP's own words, e.g. "Serviço Online"
    maintenance: bool = False  # the provider's own maintenance on the network: not a fault of this customer
    forecast: str | None = None  # when the SGP says the maintenance ends, as it writes it ("15/05/2026 às 18:00")
    protocol: str | None = None  # the occurrence the SGP opened by itself for a contract under maintenance


@dataclass(frozen=True)
class OccurrenceType:
    """One ticket type of the provider's SGP (/api/os/ocorrencia/tipo/list/): ids differ per installation."""

    id: int
    name: str
    active: bool = True


@dataclass(frozen=True)
class TicketContact:
    """Who the technician calls back: the WhatsApp contact's name and number. `phone` is None when WhatsApp only
    showed the contact's LID (a private address that is not a number)."""

    name: str | None
    phone: str | None


@dataclass(frozen=True)
class Ticket:
    protocol: str


@dataclass(frozen=True)
class UnlockResult:
    granted: bool
    days: int | None = None
    until: date | None = None
    protocol: str | None = None
    reason: str | None = None  # when refused, in the customer's language, never the SGP's raw `msg`


class SgpAdapter(Protocol):
    async def find_customer(self, document: str) -> Customer | None: ...

    async def identity_record(self, document: str) -> IdentityRecord | None: ...

    async def open_invoices(self, document: str, contract_id: str) -> list[Invoice]: ...

    async def pix_for(self, invoice_id: str, contract_id: str) -> str | None: ...

    async def connection_status(self, contract_id: str) -> ConnectionStatus: ...

    async def open_ticket(self, contract_id: str, subject: str, description: str,
                          contact: TicketContact | None = None) -> Ticket: ...

    async def trust_unlock(self, contract_id: str) -> UnlockResult: ...
