"""SgpAdapter for SGP (TSMX) over its URA API.

SGP facts this follows: every /api/ura/* call is a POST with app+token in the body and a path ending in /;
fatura2via by CPF fails when the customer has several contracts, so `contrato` is always sent, with
`nao_gerar_os=1` so a lookup never opens a ticket and `faturas_abertas_todas=1` so every open invoice comes back
(without it the SGP answers only the most recent one); an empty `codigopix` is fetched from
/api/ura/pagamento/pix/{fatura}, which wants the invoice's `contrato` too; verificaacesso is online only when
status == 1, and a contract under the provider's maintenance says so in `msg`; chamado takes an `ocorrenciatipo`
of this installation's own list (GET /api/os/ocorrencia/tipo/list/, app+token in the query, cached for an hour)
and the contact to call back (`contato_nome`, `contato_telefone`); liberacaopromessa takes the contract and the
SGP decides the days, and its `msg` (it carries the PPPoE login) is never kept or logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import redis.asyncio as aioredis

from api.sgp import parsing
from api.sgp.breaker import RedisBreaker, memory_breaker
from api.sgp.cache import LookupCache
from api.sgp.models import (
    ConnectionStatus,
    Customer,
    IdentityRecord,
    Invoice,
    OccurrenceType,
    SgpError,
    SgpTicketTypeError,
    Ticket,
    TicketContact,
    UnlockResult,
)
from api.sgp.occurrences import DROPS, NO_CONNECTION, OTHER, SLOWNESS, describe, kind_of, resolve
from api.sgp.transport import UraTransport
from api.sgp.values import digits, today
from niochat.logging import get_logger
from niochat.masking import mask_document

log = get_logger("api.sgp")

TYPES_ENDPOINT = "/api/os/ocorrencia/tipo/list/"
TYPES_CACHE_SECONDS = 3600  # an installation's ticket types change when an operator edits them, rarely
KIND_LABELS = {NO_CONNECTION: "Sem conexão", SLOWNESS: "Lentidão", DROPS: "Quedas / instabilidade", OTHER: "Outros"}
LID_ONLY = ("sem número: o contato escreveu por um endereço privado (LID) do WhatsApp, que não é telefone; "
            "responda pela conversa no NioChat")


def _contract(contract_id: str) -> str:
    value = str(contract_id).strip()
    if not value.isdigit():
        raise SgpError("identificador de contrato inválido")
    return value


def shown_phone(phone: str) -> str:
    """"5511912340001" -> "(11) 91234-0001", as SGPs keep their contacts; other lengths with a +."""
    number = digits(phone)
    national = number[2:] if len(number) in (12, 13) and number.startswith("55") else number
    if len(national) in (10, 11):
        return f"({national[:2]}) {national[2:-4]}-{national[-4:]}"
    return f"+{number}"


def ticket_content(kind: str, description: str, contact: TicketContact | None) -> str:
    lines = [KIND_LABELS.get(kind, kind)]
    if said := " ".join(description.split()):
        lines.append(f"Relato do cliente: {said}")
    if contact is not None:
        name = (contact.name or "").strip() or "nome não informado"
        number = f"WhatsApp {shown_phone(contact.phone)}" if contact.phone else f"WhatsApp {LID_ONLY}"
        lines.append(f"Contato: {name} — {number}")
    lines.append("(aberto pelo atendimento NioChat via WhatsApp)")
    return "\n".join(lines)


class TsmxSgp:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        app: str,
        token: str,
        timeout_seconds: float,
        redis: aioredis.Redis | None,
        tenant_key: str,
        *,
        breaker_threshold: int = 5,
        breaker_open_seconds: float = 30.0,
        cache_seconds: int = 60,
        occurrence_types: Mapping[str, int] | None = None,
        types_cache_seconds: int = TYPES_CACHE_SECONDS,
        retry_wait: tuple[float, float] = (0.1, 0.5),
    ) -> None:
        self.tenant_key = tenant_key
        if redis is not None:
            breaker = RedisBreaker(redis, tenant_key, breaker_threshold, breaker_open_seconds,
                                   trial_seconds=float(timeout_seconds) + 1)
        else:
            breaker = memory_breaker(tenant_key, breaker_threshold, breaker_open_seconds)
        self.breaker = breaker
        self.transport = UraTransport(http, base_url, app, token, timeout_seconds, breaker, tenant_key, retry_wait)
        self.cache = LookupCache(redis, tenant_key, secret=token, ttl_seconds=cache_seconds)
        self.types_cache = LookupCache(redis, tenant_key, secret=token, ttl_seconds=types_cache_seconds)
        self._installation = (self.transport.base_url, app)  # another SGP configured: another list
        # the operator's kind -> type id choices (sgp.occurrence_types); the SGP's own list decides the rest
        self.occurrence_overrides = {str(kind): int(number) for kind, number in (occurrence_types or {}).items()}

    async def find_customer(self, document: str) -> Customer | None:
        number = digits(document)
        if len(number) not in (11, 14):
            return None
        body = await self.cache.get("consultacliente", number)
        if body is None:
            body = await self.transport.post("/api/ura/consultacliente/", {"cpfcnpj": number}, idempotent=True,
                                             document=number)
            customer = parsing.parse_customer(body, number)
            await self.cache.put("consultacliente", body, number)
        else:
            customer = parsing.parse_customer(body, number)
        log.info("sgp.customer_lookup", tenant=self.tenant_key, document=mask_document(number),
                 found=customer is not None, contracts=len(customer.contracts) if customer else 0)
        return customer

    async def identity_record(self, document: str) -> IdentityRecord | None:
        """The customer and what confirms who they are (birth date, installation CEPs), read fresh from the SGP:
        the cache keeps no birth date, and a check must not pass on a stale answer. Nothing of it is logged."""
        number = digits(document)
        if len(number) not in (11, 14):
            return None
        body = await self.transport.post("/api/ura/consultacliente/", {"cpfcnpj": number}, idempotent=True,
                                         document=number)
        record = parsing.parse_identity(body, number)
        log.info("sgp.identity_record", tenant=self.tenant_key, document=mask_document(number),
                 found=record is not None, has_birth_date=bool(record and record.birth_date),
                 postal_codes=len(record.postal_codes) if record else 0)
        return record

    async def open_invoices(self, document: str, contract_id: str) -> list[Invoice]:
        number, contract = digits(document), _contract(contract_id)
        body = await self.cache.get("fatura2via", number, contract)
        if body is None:
            params = {"contrato": contract, "nao_gerar_os": "1", "faturas_abertas_todas": "1"}
            if number:
                params["cpfcnpj"] = number
            body = await self.transport.post("/api/ura/fatura2via/", params, idempotent=True, document=number)
            parsing.parse_invoices(body, contract, today())  # refuse to cache an answer that does not parse
            if await self._fill_missing_pix(body, contract):
                await self.cache.put("fatura2via", body, number, contract)
        invoices = parsing.parse_invoices(body, contract, today())
        log.info("sgp.invoices", tenant=self.tenant_key, contract=contract, open=len(invoices),
                 overdue=sum(invoice.overdue for invoice in invoices),
                 without_pix=sum(invoice.pix_code is None for invoice in invoices))
        return invoices

    async def _fill_missing_pix(self, body: dict[str, Any], contract: str) -> bool:
        """Ask pagamento/pix for each invoice without a PIX code; False when one lookup failed (don't cache)."""
        complete = True
        for link in body.get("links") or []:
            if not isinstance(link, dict) or (link.get("codigopix") or "").strip():
                continue
            invoice_id = str(link.get("fatura") or link.get("id") or "")
            try:
                link["codigopix"] = await self.pix_for(invoice_id, contract) or ""
            except SgpError as exc:  # the boleto line still lets the customer pay
                complete = False
                log.warning("sgp.pix_fallback_failed", tenant=self.tenant_key, invoice=invoice_id,
                            error=type(exc).__name__)
        return complete

    async def pix_for(self, invoice_id: str, contract_id: str) -> str | None:
        """The PIX code of one invoice; the SGP refuses the call without the invoice's contract."""
        invoice, contract = str(invoice_id).strip(), _contract(contract_id)
        if not invoice:
            return None
        body = await self.transport.post(f"/api/ura/pagamento/pix/{quote(invoice, safe='')}", {"contrato": contract},
                                         idempotent=True)
        return parsing.parse_pix(body)

    async def connection_status(self, contract_id: str) -> ConnectionStatus:
        contract = _contract(contract_id)
        body = await self.transport.post("/api/ura/verificaacesso/", {"contrato": contract}, idempotent=True)
        status = parsing.parse_connection(body, contract)
        log.info("sgp.connection", tenant=self.tenant_key, contract=contract, online=status.online,
                 maintenance=status.maintenance)
        return status

    async def occurrence_types(self) -> list[OccurrenceType]:
        """This installation's ticket types, from the SGP (cached per tenant for `types_cache_seconds`)."""
        cached = await self.types_cache.get("ocorrencia_tipos", *self._installation)
        if cached is not None:
            return parsing.parse_occurrence_types(cached)
        types = parsing.parse_occurrence_types(await self.transport.get(TYPES_ENDPOINT))
        await self.types_cache.put("ocorrencia_tipos", {"results": [
            {"id": t.id, "descricao": t.name, "ativo": t.active} for t in types]}, *self._installation)
        log.info("sgp.occurrence_types", tenant=self.tenant_key, types=len(types),
                 active=sum(t.active for t in types))
        return types

    async def open_ticket(self, contract_id: str, subject: str, description: str,
                          contact: TicketContact | None = None) -> Ticket:
        """Open a ticket of the kind `subject` names (or the description tells), under this installation's type
        for it; SgpTicketTypeError, logged as an error and with nothing opened, when there is no valid type."""
        contract = _contract(contract_id)
        kind = kind_of(subject, description)
        types = await self.occurrence_types()
        try:
            type_id = resolve(kind, types, self.occurrence_overrides)
        except SgpTicketTypeError as exc:
            log.error("sgp.occurrence_type_unknown", tenant=self.tenant_key, contract=contract, kind=kind,
                      configured=exc.type_id, error=str(exc))
            raise
        params = {"contrato": contract, "ocorrenciatipo": str(type_id),
                  "conteudo": ticket_content(kind, description, contact)}
        if contact is not None and (contact.name or "").strip():
            params["contato_nome"] = contact.name.strip()
        if contact is not None and contact.phone:
            params["contato_telefone"] = shown_phone(contact.phone)
        body = await self.transport.post("/api/ura/chamado/", params, idempotent=False)
        if parsing.ticket_type_refused(body):
            await self.types_cache.forget("ocorrencia_tipos", *self._installation)  # stale? read it again
            error = SgpTicketTypeError(
                f"o SGP recusou o tipo de ocorrência {type_id} ({kind}); tipos ativos lidos: {describe(types)}",
                kind=kind, type_id=type_id)
            log.error("sgp.occurrence_type_unknown", tenant=self.tenant_key, contract=contract, kind=kind,
                      configured=type_id, error=str(error))
            raise error
        ticket = parsing.parse_ticket(body)
        log.info("sgp.ticket_opened", tenant=self.tenant_key, contract=contract, kind=kind, occurrence_type=type_id,
                 protocol=ticket.protocol)
        return ticket

    async def trust_unlock(self, contract_id: str) -> UnlockResult:
        contract = _contract(contract_id)
        body = await self.transport.post("/api/ura/liberacaopromessa/", {"contrato": contract}, idempotent=False)
        result = parsing.parse_unlock(body, today())
        log.info("sgp.trust_unlock", tenant=self.tenant_key, contract=contract, granted=result.granted,
                 days=result.days, until=result.until.isoformat() if result.until else None,
                 protocol=result.protocol, reason=result.reason)
        return result
