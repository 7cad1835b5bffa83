"""The SGP customer a conversation is bound to, read for the agents' customer panel.

The binding is the bot's (api/brain/tools.py): a conversation has a customer only after the WhatsApp number was one
of the customer's registered phones, or after the second factor; the bot then keeps the document that bound it,
encrypted, in the conversation's state. Nothing else makes a customer verified here: a contact who only typed a
CPF, or whose binding is not this conversation's, gets nobody's data. The SGP is reached through the same adapter,
tenant settings and egress rules as the bot's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain.select import sgp_adapter
from api.brain.tools import contract_flag
from api.schemas.customer import ConnectionOut, ContractOut, CustomerOut, InvoiceOut, TicketOut
from api.sgp.models import Contract, Customer, Invoice, SgpAdapter, SgpAuthError, SgpError
from api.state import AppState
from niochat.egress import guarded_client
from niochat.logging import get_logger
from niochat.masking import mask_document
from niochat.secrets import Keyring, SecretError
from niochat.tables import tool_calls

log = get_logger(__name__)
# The whole panel's SGP reading, whatever the tenant's timeout: the agent's screen waits no longer than this.
PANEL_SECONDS = 8.0
SITUATIONS = {"0": "suspenso", "x": "cancelado", "r": "reduzido", "1": "ativo"}

SGP_NOT_CONFIGURED = "O SGP não está configurado para este provedor: os dados do cliente não podem ser consultados."
SGP_DOWN = "O SGP não respondeu agora (fora do ar ou lento). Tente de novo em instantes."
SGP_REFUSED = "O SGP recusou as credenciais do provedor: um administrador precisa revisar a configuração do SGP."
GONE_FROM_SGP = "O SGP não encontrou mais este cliente."


@dataclass(frozen=True)
class Bound:
    customer_id: str
    contract_id: str | None
    name: str | None
    document: str  # digits: for the SGP only, never logged nor answered


def bound_customer(conv, keyring: Keyring) -> Bound | None:
    """The customer the bot bound this conversation to, or None (not verified)."""
    state = conv.bot_state or {}
    binding = state.get("binding") or {}
    encrypted = state.get("document")
    if not conv.sgp_customer_id or binding.get("customer_id") != conv.sgp_customer_id or not encrypted:
        return None
    try:
        document = keyring.decrypt(encrypted)
    except SecretError:
        log.warning("customer panel: the binding's document does not decrypt", conversation_id=str(conv.id))
        return None
    return Bound(conv.sgp_customer_id, conv.sgp_contract_id, binding.get("customer_name"), document)


@asynccontextmanager
async def tenant_sgp(conn: AsyncConnection, state: AppState, tenant_id: uuid.UUID) -> AsyncIterator[SgpAdapter | None]:
    """The tenant's SGP adapter with guarded HTTP clients (niochat.egress) for this request; read its settings
    before the request's transaction is committed, call it after."""
    async with guarded_client(state.settings) as http, guarded_client(state.settings, private_ok=True) as private:
        yield await sgp_adapter(conn, tenant_id, http=http, http_private=private, redis=state.redis,
                                keyring=state.keyring)


def sgp_failure(exc: BaseException) -> str:
    if isinstance(exc, SgpAuthError):
        return SGP_REFUSED
    return SGP_DOWN


async def tickets_of(conn: AsyncConnection, conversation_id: uuid.UUID) -> list[TicketOut]:
    """The tickets the bot opened in this conversation, from its own record of the calls."""
    protocol = tool_calls.c.arguments["protocol"].astext
    rows = (await conn.execute(
        select(protocol.label("protocol"), tool_calls.c.created_at)
        .where(tool_calls.c.conversation_id == conversation_id, tool_calls.c.tool == "open_ticket",
               tool_calls.c.outcome == "opened", protocol.is_not(None))
        .order_by(tool_calls.c.created_at)
    )).all()
    return [TicketOut(protocol=row.protocol, opened_at=row.created_at) for row in rows]


async def settled(*calls):
    """Every call's result, all of them finished (none left running); the first failure raised after."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    if failed := next((result for result in results if isinstance(result, BaseException)), None):
        raise failed
    return results


async def customer_of(sgp: SgpAdapter, bound: Bound) -> Customer | None:
    """The SGP's customer for the bound document, if it is still the one bound."""
    customer = await sgp.find_customer(bound.document)
    return customer if customer is not None and customer.id == bound.customer_id else None


async def open_invoices(sgp: SgpAdapter, bound: Bound, contracts: tuple[Contract, ...]) -> list[Invoice]:
    found = await settled(*(sgp.open_invoices(bound.document, c.id) for c in contracts
                            if contract_flag(c.status) != "x"))
    return sorted((invoice for group in found for invoice in group), key=lambda i: (i.due_date, i.id))


async def _connection(sgp: SgpAdapter, contract: Contract) -> ConnectionOut | None:
    flag = contract_flag(contract.status)
    if flag == "x":
        return None
    if flag == "0":  # blocked for debt: the SGP would say offline (the bot does not ask either)
        return ConnectionOut(status="suspenso")
    status = await sgp.connection_status(contract.id)
    word = "manutencao" if status.maintenance else "online" if status.online else "offline"
    return ConnectionOut(status=word, detail=status.detail, forecast=status.forecast)


def _contract_out(contract: Contract, bound: Bound, connection: ConnectionOut | None) -> ContractOut:
    return ContractOut(id=contract.id, plan=contract.plan, address=contract.address, status=contract.status,
                       situation=SITUATIONS[contract_flag(contract.status)], bound=contract.id == bound.contract_id,
                       connection=connection)


def _invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut(id=invoice.id, contract_id=invoice.contract_id, due_date=invoice.due_date,
                      amount=invoice.amount, status="vencida" if invoice.overdue else "em_aberto",
                      has_pix=bool(invoice.pix_code), has_digitable_line=bool(invoice.digitable_line))


async def read_panel(sgp: SgpAdapter | None, bound: Bound, tickets: list[TicketOut]) -> CustomerOut:
    """What the panel shows; the SGP's failures become `error`, never an exception."""
    answer = CustomerOut(verified=True, name=bound.name, document=mask_document(bound.document), tickets=tickets)
    if sgp is None:
        answer.error = SGP_NOT_CONFIGURED
        return answer
    try:
        async with asyncio.timeout(PANEL_SECONDS):
            customer = await customer_of(sgp, bound)
            if customer is None:
                answer.error = GONE_FROM_SGP
                return answer
            answer.name = customer.name
            invoices, *connections = await settled(
                open_invoices(sgp, bound, customer.contracts),
                *(_connection(sgp, contract) for contract in customer.contracts))
    except (SgpError, TimeoutError) as exc:
        log.warning("customer panel: the SGP did not answer", error=type(exc).__name__)
        answer.error = sgp_failure(exc)
        return answer
    answer.contracts = [_contract_out(c, bound, link) for c, link in zip(customer.contracts, connections, strict=True)]
    answer.invoices = [_invoice_out(invoice) for invoice in invoices]
    return answer
