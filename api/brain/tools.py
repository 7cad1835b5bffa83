"""The bot's tools: one set of actions both brains drive, always on the customer bound to the conversation.

Every call is stored in `tool_calls` (tool, outcome, latency, error) for the analytics. A document is only
used if the customer typed it in this conversation, and a customer is only bound when the WhatsApp number is
one of the customer's registered phones: nobody gets another customer's data by knowing a CPF.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain import nlu
from api.brain.base import Handoff
from api.brain.phones import registered
from api.sgp.models import (
    ConnectionStatus,
    Customer,
    Invoice,
    SgpAdapter,
    SgpAuthError,
    SgpError,
    SgpTicketTypeError,
    SgpUnavailable,
    Ticket,
    TicketContact,
    UnlockResult,
)
from niochat.logging import get_logger
from niochat.masking import mask_document, mask_documents_in
from niochat.secrets import Keyring
from niochat.tables import ai_usage, contacts, conversations, tool_calls

log = get_logger(__name__)
TEAMS = ("financeiro", "suporte", "comercial")


@dataclass
class Outcome:
    status: str  # recorded as tool_calls.outcome
    data: object = None


@dataclass
class Binding:
    customer_id: str | None = None
    customer_name: str | None = None
    contract_id: str | None = None
    contracts: list[list[str]] = field(default_factory=list)  # [[id, label, active], ...]


def contract_flag(status: str | None) -> str:
    """What the connection flow needs of a contract's SGP status: "0" suspended (blocked for debt: offer the
    invoice and the trust unlock), "x" cancelled or inactive (no service: a person talks about reactivating),
    "1" anything else ("reduced speed" and other non-standard active statuses get their connection checked)."""
    status = (status or "").lower()
    if "suspens" in status:
        return "0"
    if "cancel" in status or "inativ" in status:
        return "x"
    return "1"


class Toolbox:
    def __init__(
        self,
        conn: AsyncConnection,
        *,
        tenant_id: uuid.UUID,
        conversation_id: uuid.UUID,
        contact_id: uuid.UUID,
        phone: str | None,  # None: WhatsApp shows this customer only by LID
        brain: str,
        message_id: uuid.UUID | None,
        sgp: SgpAdapter | None,
        keyring: Keyring,
        state: dict,
        customer_texts: list[str],
        contact_name: str | None = None,
        lid: str | None = None,
    ):
        self.conn, self.tenant_id, self.conversation_id = conn, tenant_id, conversation_id
        self.contact_id, self.phone, self.brain, self.message_id = contact_id, phone, brain, message_id
        self.contact_name, self.lid = contact_name, lid
        self.sgp, self.keyring, self.state = sgp, keyring, state
        self.customer_texts = customer_texts
        self.handoff: Handoff | None = None
        self.close = False
        self.invoices: dict[str, Invoice] = {}  # sent this turn: the engine adds their QR code and boleto file

    # --- binding -----------------------------------------------------------------------------------

    @property
    def binding(self) -> Binding:
        raw = self.state.get("binding") or {}
        return Binding(**raw)

    def _bind(self, binding: Binding) -> None:
        self.state["binding"] = binding.__dict__

    @property
    def document(self) -> str | None:
        return self.state.get("document")

    async def record_usage(self, model: str, usage, latency_ms: int, outcome: str) -> None:
        """Tokens and latency of one model call, for cost and speed per tenant."""
        await self.conn.execute(
            insert(ai_usage).values(
                tenant_id=self.tenant_id,
                conversation_id=self.conversation_id,
                model=model,
                outcome=outcome,
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                latency_ms=latency_ms,
            )
        )

    async def _record(self, tool: str, outcome: str, started: float, *, error: str | None = None, **arguments):
        await self.conn.execute(
            insert(tool_calls).values(
                tenant_id=self.tenant_id,
                conversation_id=self.conversation_id,
                message_id=self.message_id,
                brain=self.brain,
                tool=tool,
                arguments=arguments,
                outcome=outcome,
                error=error,
                latency_ms=int((time.perf_counter() - started) * 1000),
            )
        )

    async def _sgp_call(self, tool: str, call, **arguments):
        """Run an SGP call, record it, and turn failures into outcomes the brains can talk about."""
        started = time.perf_counter()
        if self.sgp is None:
            await self._record(tool, "sgp_not_configured", started, **arguments)
            return Outcome("sgp_not_configured")
        try:
            result = await call()
        except SgpUnavailable as exc:
            await self._record(tool, "sgp_unavailable", started, error=str(exc), **arguments)
            return Outcome("sgp_unavailable")
        except SgpAuthError as exc:
            await self._record(tool, "sgp_auth_error", started, error=str(exc), **arguments)
            log.error("SGP refused the tenant's credentials", tenant_id=str(self.tenant_id))
            return Outcome("sgp_unavailable")
        except SgpTicketTypeError as exc:  # a misconfigured ticket type: nothing was opened, an operator must act
            await self._record(tool, "ticket_type_unknown", started, error=str(exc), **arguments)
            log.error("SGP ticket type misconfigured: no ticket opened, the customer goes to a person",
                      tenant_id=str(self.tenant_id), kind=exc.kind, type_id=exc.type_id, error=str(exc))
            return Outcome("ticket_type_unknown")
        except SgpError as exc:
            await self._record(tool, "sgp_error", started, error=str(exc), **arguments)
            return Outcome("sgp_unavailable")
        return result, started

    # --- tools -------------------------------------------------------------------------------------

    async def identify_customer(self, document: str) -> Outcome:
        digits = re.sub(r"\D", "", str(document))
        typed = {found.digits: found for text in self.customer_texts for found in nlu.find_documents(text)}
        started = time.perf_counter()
        masked = mask_document(digits) if digits else ""
        if digits not in typed:
            await self._record("identify_customer", "document_not_typed", started, document=masked)
            return Outcome("document_not_typed")
        if not typed[digits].valid:
            await self._record("identify_customer", "invalid_document", started, document=masked)
            return Outcome("invalid_document")
        result = await self._sgp_call("identify_customer", lambda: self.sgp.find_customer(digits), document=masked)
        if isinstance(result, Outcome):
            return result
        customer, started = result
        customer: Customer | None
        if customer is None or not customer.contracts:
            await self._record("identify_customer", "not_found", started, document=masked)
            return Outcome("not_found")
        if not registered(self.phone, customer.phones):  # no phone on file counts as not verified
            # Whatever the brain says next, a person confirms who this is before anything is shared.
            await self._record("identify_customer", "phone_mismatch", started, document=masked)
            self.handoff = Handoff(reason="identity_unverified", team_slug=None)
            return Outcome("phone_mismatch")
        contracts = [
            [c.id, " - ".join(p for p in (c.plan, c.address) if p) or f"Contrato {c.id}", contract_flag(c.status)]
            for c in customer.contracts
        ]
        binding = Binding(customer.id, customer.name, None, contracts)
        if len(contracts) == 1:
            binding.contract_id = contracts[0][0]
        self._bind(binding)
        self.state["document"] = self.keyring.encrypt(digits)
        await self.conn.execute(
            update(contacts)
            .where(contacts.c.id == self.contact_id)
            .values(
                document_encrypted=self.state["document"],
                document_hash=self.keyring.fingerprint(digits),
                document_masked=masked,
                sgp_customer_id=customer.id,
            )
        )
        await self._save_binding()
        outcome = "found" if binding.contract_id else "several_contracts"
        await self._record("identify_customer", outcome, started, document=masked, contracts=len(contracts))
        return Outcome(outcome, binding)

    async def choose_contract(self, contract_id: str) -> Outcome:
        started = time.perf_counter()
        binding = self.binding
        if contract_id not in [c[0] for c in binding.contracts]:
            await self._record("choose_contract", "unknown_contract", started, contract_id=str(contract_id)[:20])
            return Outcome("unknown_contract")
        binding.contract_id = contract_id
        self._bind(binding)
        await self._save_binding()
        await self._record("choose_contract", "ok", started, contract_id=contract_id)
        return Outcome("ok", binding)

    async def _save_binding(self) -> None:
        binding = self.binding
        await self.conn.execute(
            update(conversations)
            .where(conversations.c.id == self.conversation_id)
            .values(sgp_customer_id=binding.customer_id, sgp_contract_id=binding.contract_id)
        )

    def _needs_contract(self) -> Outcome | None:
        binding = self.binding
        if binding.customer_id is None:
            return Outcome("not_identified")
        if binding.contract_id is None:
            return Outcome("contract_not_chosen")
        return None

    async def second_copy(self) -> Outcome:
        if missing := self._needs_contract():
            return missing
        contract = self.binding.contract_id
        document = self.keyring.decrypt(self.document)

        async def invoices() -> list[Invoice]:
            found = await self.sgp.open_invoices(document, contract)
            return found

        result = await self._sgp_call("second_copy", invoices, contract_id=contract)
        if isinstance(result, Outcome):
            return result
        found, started = result
        await self._record(
            "second_copy", "sent" if found else "nothing_open", started, contract_id=contract, invoices=len(found)
        )
        self.invoices.update((invoice.id, invoice) for invoice in found)
        return Outcome("sent" if found else "nothing_open", found)

    async def connection_status(self) -> Outcome:
        if missing := self._needs_contract():
            return missing
        contract = self.binding.contract_id
        result = await self._sgp_call(
            "connection_status", lambda: self.sgp.connection_status(contract), contract_id=contract
        )
        if isinstance(result, Outcome):
            return result
        status, started = result
        status: ConnectionStatus
        outcome = "maintenance" if status.maintenance else "online" if status.online else "offline"
        if status.maintenance:  # the provider's own work on the network: told as such, no ticket for it
            self.state["maintenance"] = {"contract_id": contract, "detail": status.detail,
                                         "forecast": status.forecast, "protocol": status.protocol}
        else:
            self.state.pop("maintenance", None)
        await self._record("connection_status", outcome, started, contract_id=contract)
        return Outcome(outcome, status)

    def ticket_contact(self) -> TicketContact:
        """Who the technician calls: the WhatsApp name (else the SGP's), and the number unless WhatsApp only
        gave the contact's LID."""
        number = re.sub(r"\D", "", self.phone or "")
        lid_digits = re.sub(r"\D", "", (self.lid or "").partition("@")[0])
        known = 10 <= len(number) <= 13 and number != lid_digits
        return TicketContact(name=self.contact_name or self.binding.customer_name, phone=number if known else None)

    async def open_ticket(self, description: str, subject: str = "") -> Outcome:
        """A ticket for the bound contract. `subject` is a ticket kind (sem_conexao, lentidao, quedas, outros);
        left empty, the description's words tell it. The contact to call back goes with it."""
        if missing := self._needs_contract():
            return missing
        contract = self.binding.contract_id
        maintenance = self.state.get("maintenance") or {}
        if maintenance.get("contract_id") == contract:  # the SGP said maintenance: a ticket adds nothing
            await self._record("open_ticket", "maintenance", time.perf_counter(), contract_id=contract)
            return Outcome("maintenance", ConnectionStatus(contract, False, maintenance.get("detail"), True,
                                                           maintenance.get("forecast"), maintenance.get("protocol")))
        if self.state.get("ticket_protocol"):  # one ticket per conversation: repeat it, don't open another
            await self._record(
                "open_ticket",
                "already_open",
                time.perf_counter(),
                contract_id=contract,
                protocol=self.state["ticket_protocol"],
            )
            return Outcome("already_open", Ticket(self.state["ticket_protocol"]))
        contact = self.ticket_contact()
        description = mask_documents_in(description)[:500]  # the SGP has the customer: no CPF in the text
        result = await self._sgp_call(
            "open_ticket", lambda: self.sgp.open_ticket(contract, subject, description, contact),
            contract_id=contract,
        )
        if isinstance(result, Outcome):
            if result.status == "ticket_type_unknown":  # no ticket exists: a person takes the problem over
                self.handoff = Handoff(reason="ticket_type_unknown", team_slug="suporte")
            return result
        ticket, started = result
        ticket: Ticket
        self.state["ticket_protocol"] = ticket.protocol
        await self._record("open_ticket", "opened", started, contract_id=contract, protocol=ticket.protocol)
        return Outcome("opened", ticket)

    async def trust_unlock(self) -> Outcome:
        if missing := self._needs_contract():
            return missing
        contract = self.binding.contract_id
        result = await self._sgp_call("trust_unlock", lambda: self.sgp.trust_unlock(contract), contract_id=contract)
        if isinstance(result, Outcome):
            return result
        unlock, started = result
        unlock: UnlockResult
        await self._record(
            "trust_unlock", "granted" if unlock.granted else "refused", started, contract_id=contract, days=unlock.days
        )
        return Outcome("granted" if unlock.granted else "refused", unlock)

    async def transfer_to_human(self, team: str | None, reason: str) -> Outcome:
        started = time.perf_counter()
        team = team if team in TEAMS else None
        self.handoff = Handoff(reason=reason[:100], team_slug=team)
        await self._record("transfer_to_human", "transferred", started, team=team, reason=reason[:100])
        return Outcome("transferred")

    async def close_conversation(self) -> Outcome:
        started = time.perf_counter()
        self.close = True
        await self._record("close_conversation", "closed", started)
        return Outcome("closed")
