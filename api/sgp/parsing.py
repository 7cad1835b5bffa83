"""SGP (TSMX) URA response bodies -> the adapter's dataclasses. Pure functions, every known variant accepted.

Unlock responses carry the PPPoE login in `msg`: it is read only to pick a fixed Portuguese reason, never copied.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from api.sgp.models import (
    ConnectionStatus,
    Contract,
    Customer,
    IdentityRecord,
    Invoice,
    OccurrenceType,
    SgpError,
    Ticket,
    UnlockResult,
)
from api.sgp.values import contact_values, digits, plain, text, title, to_date, to_decimal, to_int, truthy

STATUS_NAMES = {
    1: "Ativo", 2: "Inativo", 3: "Cancelado", 4: "Suspenso", 5: "Inviabilidade Técnica", 6: "Novo",
    7: "Ativo V. Reduzida",
}
REASON_LIMIT = "limite de liberações atingido"
REASON_NOT_FOUND = "contrato não encontrado"
REASON_OTHER = "liberação em confiança indisponível para este contrato"


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SgpError(f"resposta inesperada do SGP em {what}")
    return body


def short_address(entry: dict[str, Any]) -> str | None:
    """"Rua das Flores, 120": enough for a customer to tell two contracts apart."""
    street = title(entry.get("endereco_logradouro"))
    number = text(entry.get("endereco_numero"))
    if not street:
        return None
    return f"{street}, {number}" if number else street


def parse_contract(entry: dict[str, Any]) -> Contract:
    code = to_int(entry.get("contratoStatus"))
    status = text(entry.get("contratoStatusDisplay")) or STATUS_NAMES.get(code or -1, "") or "Desconhecido"
    return Contract(
        id=str(to_int(entry.get("contratoId")) or text(entry.get("contratoId"))),
        status=status,
        active=code == 1,
        plan=text(entry.get("servico_plano") or entry.get("planointernet")) or None,
        address=short_address(entry),
        open_amount=to_decimal(entry.get("contratoValorAberto")),
    )


def parse_customer(body: Any, document: str) -> Customer | None:
    """consultacliente -> one customer with all its contracts; None when `contratos` is empty."""
    entries = _object(body, "consultacliente").get("contratos")
    if entries is None:
        entries = []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise SgpError("resposta inesperada do SGP em consultacliente")
    if not entries:
        return None
    first = entries[0]
    return Customer(
        id=str(to_int(first.get("clienteId")) or text(first.get("clienteId")) or ""),
        name=text(first.get("razaoSocial")),
        document=digits(first.get("cpfCnpj")) or digits(document),
        contracts=tuple(parse_contract(entry) for entry in entries),
        phones=tuple(dict.fromkeys(d for p in customer_contacts(body)["phones"] if (d := digits(p)))),
    )


def parse_identity(body: Any, document: str) -> IdentityRecord | None:
    """consultacliente -> the customer and the facts that confirm who they are: `dataNascimento` (the first
    contract that has one) and every contract's installation CEP (`endereco_cep`, 8 digits)."""
    customer = parse_customer(body, document)
    if customer is None:
        return None
    entries = body["contratos"]
    birth = next((found for entry in entries if (found := to_date(entry.get("dataNascimento")))), None)
    postal = tuple(dict.fromkeys(cep for entry in entries if len(cep := digits(entry.get("endereco_cep"))) == 8))
    return IdentityRecord(customer=customer, birth_date=birth, postal_codes=postal)


def customer_contacts(body: Any) -> dict[str, tuple[str, ...]]:
    """Phones and e-mails of a consultacliente answer, from either shape (strings or contact objects)."""
    entries = body.get("contratos") if isinstance(body, dict) else None
    phones: list[str] = []
    emails: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        phones += [p for p in contact_values(entry.get("telefones")) if p not in phones]
        emails += [e for e in contact_values(entry.get("emails")) if e not in emails]
    return {"phones": tuple(phones), "emails": tuple(emails)}


def parse_invoice(link: dict[str, Any], contract_id: str, on: date) -> Invoice:
    due = to_date(link.get("vencimento_original")) or to_date(link.get("vencimento"))
    amount = to_decimal(link.get("valor"))
    if amount is None:
        amount = to_decimal(link.get("valor_original"))
    if due is None or amount is None:
        raise SgpError("fatura sem valor ou vencimento na resposta do SGP")
    return Invoice(
        id=str(to_int(link.get("fatura")) or to_int(link.get("id")) or text(link.get("fatura"))),
        contract_id=contract_id,
        amount=amount,
        due_date=due,
        digitable_line=text(link.get("linhadigitavel")) or None,
        pix_code=(link.get("codigopix") or "").strip() or None,
        link=text(link.get("link") or link.get("link_cobranca")) or None,
        overdue=due < on,
    )


def parse_invoices(body: Any, contract_id: str, on: date) -> list[Invoice]:
    """fatura2via -> open invoices, oldest due first; [] when nothing is open."""
    body = _object(body, "fatura2via")
    links = body.get("links")
    if isinstance(links, list):
        contract = str(to_int(body.get("contratoId")) or contract_id)
        invoices = [parse_invoice(link, contract, on) for link in links if isinstance(link, dict)]
        return sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.id))
    if body.get("contratoId") is not None and to_int(body.get("status")) == 0:
        return []  # the contract was found, nothing open
    if "contrato" in plain(text(body.get("msg"))) and "mais de um" in plain(text(body.get("msg"))):
        raise SgpError("o SGP pediu o contrato para a segunda via")
    raise SgpError("o SGP não localizou o contrato para a segunda via")


def parse_pix(body: Any) -> str | None:
    body = _object(body, "pagamento/pix")
    code = body.get("pix") or body.get("codigopix")
    if to_int(body.get("status")) != 1 or not isinstance(code, str):
        return None
    return code.strip() or None


# "Previsão de normalização: 15/05/2026 às 18:00", "previsao de retorno 15/05 18h": the date (and time) after it.
_FORECAST = re.compile(
    r"previs[aã]o\b[^0-9]{0,40}?(\d{1,2}/\d{1,2}(?:/\d{2,4})?(?:\s*(?:[àa]s|-|,)?\s*\d{1,2}(?::\d{2}|h\d{0,2}))?)",
    re.IGNORECASE,
)


def parse_connection(body: Any, contract_id: str) -> ConnectionStatus:
    """verificaacesso: online only when status == 1 (some servers write `staus`). A contract under the provider's
    maintenance is reported in the SGP's words (`msg` "Serviço em manutenção ... Previsão ..."), whatever the
    status code: it is neither online nor a fault to open a ticket for."""
    body = _object(body, "verificaacesso")
    status = body.get("status") if "status" in body else body.get("staus")
    detail = text(body.get("msg")) or None
    said = plain(" ".join(text(value) for value in (body.get("msg"), body.get("status"), body.get("staus"))
                          if isinstance(value, str)))
    maintenance = "manuten" in said
    forecast = _FORECAST.search(detail or "") if maintenance else None
    return ConnectionStatus(
        contract_id=str(to_int(body.get("contratoId")) or contract_id),
        online=to_int(status) == 1 and not maintenance,
        detail=detail,
        maintenance=maintenance,
        forecast=forecast.group(1) if forecast else None,
        protocol=(text(body.get("protocolo")) or None) if maintenance else None,
    )


def ticket_type_refused(body: Any) -> bool:
    """chamado refused for its `ocorrenciatipo` ("Tipo de ocorrência inválido")."""
    said = plain(text(body.get("msg"))) if isinstance(body, dict) else ""
    return isinstance(body, dict) and to_int(body.get("status")) != 1 and "tipo" in said and "ocorr" in said


def parse_ticket(body: Any) -> Ticket:
    body = _object(body, "chamado")
    protocol = text(body.get("protocolo"))
    if to_int(body.get("status")) != 1 or not protocol:
        raise SgpError("o SGP não abriu o chamado")
    return Ticket(protocol=protocol)


def parse_occurrence_types(body: Any) -> list[OccurrenceType]:
    """/api/os/ocorrencia/tipo/list/: a list of {"id", "descricao", "ativo"} (or a paginated {"results": [...]})."""
    entries = body.get("results") if isinstance(body, dict) else body
    if not isinstance(entries, list):
        raise SgpError("resposta inesperada do SGP em ocorrencia/tipo/list")
    types = []
    for entry in entries:
        if not isinstance(entry, dict) or (number := to_int(entry.get("id"))) is None:
            continue
        name = text(entry.get("descricao")) or text(entry.get("nome")) or f"tipo {number}"
        types.append(OccurrenceType(number, name, truthy(entry["ativo"]) if "ativo" in entry else True))
    return types


def parse_unlock(body: Any, on: date | None = None) -> UnlockResult:
    """liberacaopromessa -> granted with the SGP's days and promise date (`data_promessa`: the day the access is
    released until), or refused with a fixed reason (never `msg`). A grant that names only the days is released
    until `on` + days; one that names only the date, for the days from `on` to it."""
    body = _object(body, "liberacaopromessa")
    protocol = text(body.get("protocolo")) or None
    if truthy(body.get("liberado")):
        days, until = to_int(body.get("liberado_dias")), to_date(body.get("data_promessa"))
        if on is not None and until is None and days:
            until = on + timedelta(days=days)
        if on is not None and days is None and until is not None and until >= on:
            days = (until - on).days
        return UnlockResult(granted=True, days=days, until=until, protocol=protocol)
    return UnlockResult(granted=False, protocol=protocol, reason=refusal_reason(body))


def refusal_reason(body: dict[str, Any]) -> str:
    said = plain(text(body.get("msg")))
    if to_int(body.get("status")) == 2 or any(word in said for word in ("atingiu", "quantidade", "limite")):
        return REASON_LIMIT
    if "contrato" in said and ("encontrad" in said or "localizad" in said):
        return REASON_NOT_FOUND
    return REASON_OTHER
