"""SgpAdapter for SGP (TSMX) over its URA API.

SGP facts this follows: every /api/ura/* call is a POST with app+token in the body and a path ending in /;
fatura2via by CPF fails when the customer has several contracts, so `contrato` is always sent, with
`nao_gerar_os=1` so a lookup never opens a ticket; an empty `codigopix` is fetched from
/api/ura/pagamento/pix/{fatura}; verificaacesso is online only when status == 1; liberacaopromessa takes the
contract and the SGP decides the days, and its `msg` (it carries the PPPoE login) is never kept or logged.
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
from api.sgp.models import ConnectionStatus, Customer, Invoice, SgpError, Ticket, UnlockResult
from api.sgp.occurrences import DEFAULT_OCCURRENCE_TYPES, OTHER, occurrence_type
from api.sgp.transport import UraTransport
from api.sgp.values import digits, today
from niochat.logging import get_logger
from niochat.masking import mask_document

log = get_logger("api.sgp")

# Fields a cached lookup does not need and Redis should not hold: documents, birth dates, logins, e-mails.
# Phones stay: the responder checks the WhatsApp number against them.
_NOT_CACHED = {"cpfCnpj", "dataNascimento", "servico_login", "login", "emails", "msg"}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items() if key not in _NOT_CACHED}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def _contract(contract_id: str) -> str:
    value = str(contract_id).strip()
    if not value.isdigit():
        raise SgpError("identificador de contrato inválido")
    return value


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
        self.occurrence_types = dict(occurrence_types or DEFAULT_OCCURRENCE_TYPES)

    async def find_customer(self, document: str) -> Customer | None:
        number = digits(document)
        if len(number) not in (11, 14):
            return None
        body = await self.cache.get("consultacliente", number)
        if body is None:
            body = await self.transport.post("/api/ura/consultacliente/", {"cpfcnpj": number}, idempotent=True,
                                             document=number)
            customer = parsing.parse_customer(body, number)
            await self.cache.put("consultacliente", _scrubbed(body), number)
        else:
            customer = parsing.parse_customer(body, number)
        log.info("sgp.customer_lookup", tenant=self.tenant_key, document=mask_document(number),
                 found=customer is not None, contracts=len(customer.contracts) if customer else 0)
        return customer

    async def open_invoices(self, document: str, contract_id: str) -> list[Invoice]:
        number, contract = digits(document), _contract(contract_id)
        body = await self.cache.get("fatura2via", number, contract)
        if body is None:
            params = {"contrato": contract, "nao_gerar_os": "1"}
            if number:
                params["cpfcnpj"] = number
            body = await self.transport.post("/api/ura/fatura2via/", params, idempotent=True, document=number)
            parsing.parse_invoices(body, contract, today())  # refuse to cache an answer that does not parse
            if await self._fill_missing_pix(body):
                await self.cache.put("fatura2via", _scrubbed(body), number, contract)
        invoices = parsing.parse_invoices(body, contract, today())
        log.info("sgp.invoices", tenant=self.tenant_key, contract=contract, open=len(invoices),
                 overdue=sum(invoice.overdue for invoice in invoices),
                 without_pix=sum(invoice.pix_code is None for invoice in invoices))
        return invoices

    async def _fill_missing_pix(self, body: dict[str, Any]) -> bool:
        """Ask pagamento/pix for each invoice without a PIX code; False when one lookup failed (don't cache)."""
        complete = True
        for link in body.get("links") or []:
            if not isinstance(link, dict) or (link.get("codigopix") or "").strip():
                continue
            invoice_id = str(link.get("fatura") or link.get("id") or "")
            try:
                link["codigopix"] = await self.pix_for(invoice_id) or ""
            except SgpError as exc:  # the boleto line still lets the customer pay
                complete = False
                log.warning("sgp.pix_fallback_failed", tenant=self.tenant_key, invoice=invoice_id,
                            error=type(exc).__name__)
        return complete

    async def pix_for(self, invoice_id: str) -> str | None:
        invoice = str(invoice_id).strip()
        if not invoice:
            return None
        body = await self.transport.post(f"/api/ura/pagamento/pix/{quote(invoice, safe='')}", {}, idempotent=True)
        return parsing.parse_pix(body)

    async def connection_status(self, contract_id: str) -> ConnectionStatus:
        contract = _contract(contract_id)
        body = await self.transport.post("/api/ura/verificaacesso/", {"contrato": contract}, idempotent=True)
        status = parsing.parse_connection(body, contract)
        log.info("sgp.connection", tenant=self.tenant_key, contract=contract, online=status.online)
        return status

    async def open_ticket(self, contract_id: str, subject: str, description: str) -> Ticket:
        contract = _contract(contract_id)
        kind = occurrence_type(subject, self.occurrence_types, self.occurrence_types.get(OTHER, 5))
        content = "\n".join(part for part in (subject.strip(), description.strip()) if part)
        params = {"contrato": contract, "ocorrenciatipo": str(kind),
                  "conteudo": f"{content}\n(aberto pelo atendimento NioChat via WhatsApp)"}
        body = await self.transport.post("/api/ura/chamado/", params, idempotent=False)
        ticket = parsing.parse_ticket(body)
        log.info("sgp.ticket_opened", tenant=self.tenant_key, contract=contract, occurrence_type=kind,
                 protocol=ticket.protocol)
        return ticket

    async def trust_unlock(self, contract_id: str) -> UnlockResult:
        contract = _contract(contract_id)
        body = await self.transport.post("/api/ura/liberacaopromessa/", {"contrato": contract}, idempotent=False)
        result = parsing.parse_unlock(body)
        log.info("sgp.trust_unlock", tenant=self.tenant_key, contract=contract, granted=result.granted,
                 days=result.days, protocol=result.protocol, reason=result.reason)
        return result
