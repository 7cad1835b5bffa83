"""The bot's tools: one set of actions both brains drive, always on the customer bound to the conversation.

Every call is stored in `tool_calls` (tool, outcome, latency, error) for the analytics. A document is only
used if the customer typed it in this conversation, and a customer is only bound when the WhatsApp number is
one of the customer's registered phones, or, from any other number (or a contact WhatsApp shows only by LID),
after a second factor from the SGP's own record: the date of birth for a CPF, the installation's CEP for a CNPJ
(verify_identity). Nobody gets another customer's data by knowing a CPF, and nobody learns whether a document is
a customer's: an unknown document is asked the same question and fails with the same words as a wrong answer.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain import knowledge, nlu
from api.brain.handoff import Handoff
from api.brain.phones import registered
from api.engine import audit, follow_up_schedule
from api.sgp.models import (
    ConnectionStatus,
    Customer,
    IdentityRecord,
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
from niochat.tables import ai_usage, contacts, conversation_notes, conversations, tool_calls

log = get_logger(__name__)
TEAMS = ("financeiro", "suporte", "comercial")

# The second factor (verify_identity): wrong answers allowed per WhatsApp contact and per document (from any
# contacts) within the window, across conversations; then a person confirms who it is.
FACTORS = {"cpf": "birth_date", "cnpj": "postal_code"}
CONTACT_ATTEMPTS = 3
DOCUMENT_ATTEMPTS = 5
ATTEMPTS_WINDOW_SECONDS = 24 * 3600


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
    """What the flows need of a contract's SGP status: "0" suspended (blocked for debt: the invoice first and the
    trust unlock, never a technical ticket), "x" cancelled or inactive (no service: a person talks about
    reactivating), "r" active with its speed reduced for debt ("Ativo V. Reduzida": the connection is checked
    like an active one, and a trust unlock restores it), "1" anything else (active: nothing to unlock)."""
    status = (status or "").lower()
    if "suspens" in status:
        return "0"
    if "cancel" in status or "inativ" in status:
        return "x"
    if "reduz" in status:
        return "r"
    return "1"


BLOCKED = ("0", "r")  # what a trust unlock releases


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
        redis: aioredis.Redis | None = None,  # the second factor's attempt counters; None: no factor, a person
    ):
        self.conn, self.tenant_id, self.conversation_id = conn, tenant_id, conversation_id
        self.contact_id, self.phone, self.brain, self.message_id = contact_id, phone, brain, message_id
        self.contact_name, self.lid = contact_name, lid
        self.sgp, self.keyring, self.state, self.redis = sgp, keyring, state, redis
        self.customer_texts = customer_texts
        self.handoff: Handoff | None = None
        self.close = False
        self.invoices: dict[str, Invoice] = {}  # sent this turn: the engine adds their QR code and boleto file
        self._factor_checked: Outcome | None = None  # one answer checked per turn, whatever a model asks
        self.scheduled: list[tuple[uuid.UUID, float]] = []  # re-checks the engine enqueues after the commit

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

    def typed_documents(self) -> dict[str, nlu.Document]:
        """Every document the customer typed in this conversation, also split over consecutive messages."""
        typed = {found.digits: found for text in self.customer_texts for found in nlu.find_documents(text)}
        for found in nlu.find_documents_across(self.customer_texts, newest=len(self.customer_texts)):
            typed.setdefault(found.digits, found)
        return typed

    async def identify_customer(self, document: str) -> Outcome:
        digits = re.sub(r"\D", "", str(document))
        typed = self.typed_documents()
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
        known = customer is not None and bool(customer.contracts)
        if known and registered(self.phone, customer.phones):
            self.state.pop("identity", None)
            binding = await self._bind_customer(customer, digits, masked)
            outcome = "found" if binding.contract_id else "several_contracts"
            await self._record("identify_customer", outcome, started, document=masked, contracts=len(binding.contracts))
            return Outcome(outcome, binding)
        # An unknown document, or a customer whose phones this number (or LID) is not one of
        unverified = "phone_mismatch" if known else "not_found"
        await self._record("identify_customer", unverified, started, document=masked)
        factor = FACTORS["cpf" if len(digits) == 11 else "cnpj"]
        if known and self.redis is not None:  # does the SGP hold the fact the question checks?
            fresh = await self._sgp_call("identify_customer", lambda: self.sgp.identity_record(digits),
                                         document=masked)
            if isinstance(fresh, Outcome):
                return fresh
            record, started = fresh
            if record is not None and not self._fact(record, factor):
                await self._refuse("factor_unavailable", factor, masked, started)
                return Outcome(unverified)  # as before the factor existed: a person confirms who this is
        if self.redis is None:  # no attempt counters, no second factor: a person confirms who this is
            if known:
                self.handoff = Handoff(reason="identity_unverified", team_slug=None)
            return Outcome(unverified)
        return await self._ask_factor(digits, masked, factor)

    @staticmethod
    def _fact(record: IdentityRecord, factor: str):
        return record.birth_date if factor == "birth_date" else record.postal_codes

    async def _bind_customer(self, customer: Customer, digits: str, masked: str) -> Binding:
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
        return binding

    # --- the second factor ---------------------------------------------------------------------------------

    def _attempt_keys(self, digits: str) -> tuple[str, str]:
        prefix = f"niochat:identity:{self.tenant_id}"
        return f"{prefix}:contact:{self.contact_id}", f"{prefix}:document:{self.keyring.fingerprint(digits)}"

    async def _locked(self, digits: str) -> bool:
        """Too many wrong answers from this contact or about this document; Redis down counts as locked."""
        contact_key, document_key = self._attempt_keys(digits)
        try:
            by_contact, by_document = await self.redis.mget(contact_key, document_key)
        except RedisError as exc:
            log.warning("identity attempts unavailable, a person confirms", error=type(exc).__name__)
            return True
        return int(by_contact or 0) >= CONTACT_ATTEMPTS or int(by_document or 0) >= DOCUMENT_ATTEMPTS

    async def _count_failure(self, digits: str) -> tuple[int, int]:
        contact_key, document_key = self._attempt_keys(digits)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:  # the window starts at the first failure
                pipe.set(contact_key, 0, ex=ATTEMPTS_WINDOW_SECONDS, nx=True).incr(contact_key)
                pipe.set(document_key, 0, ex=ATTEMPTS_WINDOW_SECONDS, nx=True).incr(document_key)
                _, by_contact, _, by_document = await pipe.execute()
        except RedisError as exc:
            log.warning("identity attempts unavailable, a person confirms", error=type(exc).__name__)
            return CONTACT_ATTEMPTS, DOCUMENT_ATTEMPTS
        return int(by_contact), int(by_document)

    async def _audit_factor(self, result: str, factor: str, masked: str, **details) -> None:
        # never the answer, never the whole document
        await audit.record(self.conn, self.tenant_id, "identity.factor_checked", actor_kind="bot",
                           entity_type="contact", entity_id=self.contact_id, result=result, factor=factor,
                           document=masked, conversation_id=self.conversation_id, **details)

    async def _refuse(self, outcome: str, factor: str, masked: str, started: float, **details) -> Outcome:
        """A person confirms who this is: too many wrong answers, or nothing in the SGP to check against."""
        self.state.pop("identity", None)
        self.handoff = Handoff(reason="identity_unverified", team_slug=None)
        await self._record("verify_identity", outcome, started, document=masked, factor=factor, **details)
        await self._audit_factor(outcome, factor, masked, **details)
        return Outcome(outcome)

    async def _ask_factor(self, digits: str, masked: str, factor: str) -> Outcome:
        if await self._locked(digits):
            return await self._refuse("locked", factor, masked, time.perf_counter())
        self.state["identity"] = {"document": self.keyring.encrypt(digits), "factor": factor}
        return Outcome("verification_required", factor)

    def _typed_answer(self, factor: str, answer: str):
        """The customer's answer as the factor reads it, if the customer (not a model) typed it."""
        read = nlu.find_date if factor == "birth_date" else nlu.find_postal_code
        value = read(str(answer))
        typed = {read(text) for text in self.customer_texts} - {None}
        return value if value is not None and value in typed else None

    async def verify_identity(self, answer: str) -> Outcome:
        """Check the customer's answer to the identity question against the SGP's record, read fresh: the date of
        birth (CPF) or an installation CEP (CNPJ). Binds the customer when it matches; an unknown document fails
        exactly like a wrong answer. Limited per contact and per document, audited without the answer."""
        if self._factor_checked is not None:
            return self._factor_checked
        started = time.perf_counter()
        pending = self.state.get("identity") or {}
        if not pending.get("document"):
            await self._record("verify_identity", "not_requested", started)
            return Outcome("not_requested")
        factor = pending.get("factor") or "birth_date"
        digits = self.keyring.decrypt(pending["document"])
        masked = mask_document(digits)
        value = self._typed_answer(factor, answer)
        if value is None:
            await self._record("verify_identity", "answer_not_typed", started, document=masked, factor=factor)
            return Outcome("answer_not_typed", factor)
        if self.redis is None or await self._locked(digits):
            self._factor_checked = await self._refuse("locked", factor, masked, started)
            return self._factor_checked
        result = await self._sgp_call("verify_identity", lambda: self.sgp.identity_record(digits), document=masked,
                                      factor=factor)
        if isinstance(result, Outcome):
            return result
        record, started = result
        record: IdentityRecord | None
        self._factor_checked = await self._check_factor(record, factor, value, digits, masked, started)
        return self._factor_checked

    async def _check_factor(self, record: IdentityRecord | None, factor: str, value, digits: str, masked: str,
                            started: float) -> Outcome:
        known = record is not None and bool(record.customer.contracts)
        if known and not self._fact(record, factor):
            # nothing to check against in the SGP (as before the factor existed): a person confirms
            return await self._refuse("factor_unavailable", factor, masked, started)
        if factor == "birth_date":
            matches = known and value.matches(record.birth_date)
        else:
            matches = known and value in record.postal_codes
        if matches:
            self.state.pop("identity", None)
            try:
                await self.redis.delete(self._attempt_keys(digits)[0])  # this contact proved itself
            except RedisError:
                pass
            await self._audit_factor("verified", factor, masked)
            binding = await self._bind_customer(record.customer, digits, masked)
            await self._record("verify_identity", "verified", started, document=masked, factor=factor,
                               contracts=len(binding.contracts))
            return Outcome("found" if binding.contract_id else "several_contracts", binding)
        by_contact, by_document = await self._count_failure(digits)
        if by_contact >= CONTACT_ATTEMPTS or by_document >= DOCUMENT_ATTEMPTS:
            return await self._refuse("too_many_attempts", factor, masked, started, attempt=by_contact)
        await self._record("verify_identity", "mismatch", started, document=masked, factor=factor, attempt=by_contact)
        await self._audit_factor("mismatch", factor, masked, attempt=by_contact)
        return Outcome("mismatch", {"factor": factor, "attempts_left": CONTACT_ATTEMPTS - by_contact})

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

    def contract_flag(self) -> str:
        """The bound contract's flag (contract_flag), as the SGP gave it when the customer was identified."""
        binding = self.binding
        return next((flag for cid, _, flag in binding.contracts if cid == binding.contract_id), "1")

    async def connection_status(self) -> Outcome:
        if missing := self._needs_contract():
            return missing
        contract = self.binding.contract_id
        if self.contract_flag() == "0":  # blocked for debt: the SGP would say offline, and no fault is to blame
            await self._record("connection_status", "suspended", time.perf_counter(), contract_id=contract)
            return Outcome("suspended")
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
        if self.contract_flag() == "0":  # blocked for debt: the invoice solves it, a technician does not
            await self._record("open_ticket", "suspended", time.perf_counter(), contract_id=contract)
            return Outcome("suspended")
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
        flag = self.contract_flag()
        if flag not in BLOCKED:  # nothing to release: the SGP's unlock is not called (it would spend a promise)
            await self._record("trust_unlock", "not_blocked", time.perf_counter(), contract_id=contract,
                               status="cancelled" if flag == "x" else "active")
            return Outcome("not_blocked", flag)
        result = await self._sgp_call("trust_unlock", lambda: self.sgp.trust_unlock(contract), contract_id=contract)
        if isinstance(result, Outcome):
            return result
        unlock, started = result
        unlock: UnlockResult
        if unlock.granted:  # released: the contract is active now (the connection flow must not call it blocked)
            binding = self.binding
            binding.contracts = [[cid, label, "1" if cid == contract else f] for cid, label, f in binding.contracts]
            self._bind(binding)
            # the promise date stays with the call, for a reminder before the access is blocked again
            self.state["promise"] = {"contract_id": contract, "until": unlock.until.isoformat() if unlock.until
                                     else None, "days": unlock.days}
        await self._record(
            "trust_unlock", "granted" if unlock.granted else "refused", started, contract_id=contract, days=unlock.days,
            promise_date=unlock.until.isoformat() if unlock.until else None, protocol=unlock.protocol,
        )
        if unlock.granted and unlock.until:  # the reminder on the eve of the promise date (follow_up_schedule)
            reminded = await follow_up_schedule.schedule_promise(
                self.conn, self.tenant_id, self.conversation_id, self.contact_id, contract_id=contract,
                until=unlock.until, brain=self.brain) == "pending"
            await self._record("promise_reminder", "scheduled" if reminded else "skipped_too_soon",
                               time.perf_counter(), contract_id=contract, promise_date=unlock.until.isoformat())
        if unlock.granted:  # the access comes back within minutes: checked, and the customer told
            await self.connection_recheck("unlock")
        return Outcome("granted" if unlock.granted else "refused", unlock)

    async def connection_recheck(self, cause: str = "restart") -> Outcome:
        """Check the bound contract's connection again after the tenant's wait (after an unlock or a router
        restart) and tell the customer whether it is back: the worker does it, this only schedules it."""
        if missing := self._needs_contract():
            return missing
        contract = self.binding.contract_id
        started = time.perf_counter()
        if self.contract_flag() == "0":  # blocked for debt: nothing comes back until it is paid or unlocked
            await self._record("connection_recheck", "suspended", started, contract_id=contract)
            return Outcome("suspended")
        cause = cause if cause in ("unlock", "restart") else "restart"
        scheduled = await follow_up_schedule.schedule_recheck(
            self.conn, self.tenant_id, self.conversation_id, self.contact_id, contract_id=contract, cause=cause,
            brain=self.brain)
        self.scheduled.append(scheduled)
        await self._record("connection_recheck", "scheduled", started, contract_id=contract, cause=cause,
                           seconds=scheduled[1])
        return Outcome("scheduled", scheduled[1])

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

    # --- the provider's knowledge base ---------------------------------------------------------------------

    async def search_knowledge(self, question: str, category: str | None = None) -> Outcome:
        """The base's best entries for a question (answered), or none good enough (no_match): then the bot says
        it does not know, never a guess. A category known already narrows the search."""
        started = time.perf_counter()
        index = await knowledge.index_for(self.conn, self.tenant_id)
        found = index.search(question, category=category)
        asked = mask_documents_in(question)[:200]
        if not found:
            await self._record("search_knowledge", "no_match", started, question=asked)
            return Outcome("no_match")
        best = found[0]
        await self._record("search_knowledge", "answered", started, question=asked, entry_id=str(best.entry.id),
                           category=best.entry.category, score=round(best.score, 2))
        return Outcome("answered", found)

    async def check_coverage(self, place: str) -> Outcome:
        """Whether the neighbourhood or CEP the customer gave is covered: covered (with the coverage entry),
        not_covered, or no_place when the words name no place. Only the covered region is recorded, not the
        customer's address."""
        started = time.perf_counter()
        index = await knowledge.index_for(self.conn, self.tenant_id)
        status, entry = index.coverage(place)
        if status == "covered":
            await self._record("check_coverage", "covered", started, region=entry.title)
        elif status == "not_covered":
            await self._record("check_coverage", "not_covered", started)
        elif status == "no_coverage_data":
            await self._record("check_coverage", "no_coverage_data", started)
        else:
            await self._record("check_coverage", "no_place", started)
        return Outcome(status, entry)

    async def plans(self) -> list[knowledge.Entry]:
        """The base's plans with a price, for the customer to pick one."""
        index = await knowledge.index_for(self.conn, self.tenant_id)
        return [e for e in index.entries if e.category == "planos" and "R$" in e.answer and e.title.startswith("Plano")]

    async def create_lead(self, name: str, place: str, plan: str) -> Outcome:
        """A prospective customer for the sales team: a note on the conversation with the name, the place and the
        plan of interest. Covered: the chat goes to team comercial (lead_created); not covered: the interest is
        written down for when the network gets there (interest_registered), with no handoff."""
        started = time.perf_counter()
        index = await knowledge.index_for(self.conn, self.tenant_id)
        status, entry = index.coverage(place)
        covered = status in ("covered", "no_coverage_data")  # no places in the base: comercial checks
        name, place, plan = (mask_documents_in(str(v)).strip()[:120] for v in (name, place, plan))
        kind = "Lead comercial" if covered else "Interesse sem cobertura"
        region = f" ({entry.title})" if entry else ""
        await self.conn.execute(insert(conversation_notes).values(
            tenant_id=self.tenant_id, conversation_id=self.conversation_id,
            text=f"{kind} (bot): nome: {name or 'não informado'}; endereço/bairro/CEP: {place or 'não informado'}"
                 f"{region}; plano de interesse: {plan or 'não informado'}.",
        ))
        if covered:
            self.handoff = Handoff(reason="sales_lead", team_slug="comercial")
            await self._record("create_lead", "lead_created", started, region=entry.title if entry else None,
                               plan=plan[:60])
            return Outcome("lead_created", entry)
        await self._record("create_lead", "interest_registered", started, plan=plan[:60])
        return Outcome("interest_registered")
