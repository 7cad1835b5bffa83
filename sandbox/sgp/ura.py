"""What each /api/ura/ endpoint answers, as the SGP (TSMX) does: handlers take the call's parameters (app and
token already checked) and return (HTTP status, body). SGP reports business outcomes with 200 and a `status`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sandbox.sgp.dataset import Client, Contract, digits, today
from sandbox.sgp.shapes import (
    BASE,
    contract_entry,
    invoice_link,
    pix_code,
    titulo,
    unlock_message,
)
from sandbox.sgp.state import Call, SgpState

Params = dict[str, str]
Reply = tuple[int, dict[str, Any]]
Handler = Callable[[SgpState, Params, Call], tuple[int, Any]]

MULTIPLE_CONTRACTS = "Há mais de um contrato para o CPF/CNPJ informado. Favor informar o id do contrato"
CONTRACT_REQUIRED = "Favor informar o id do contrato"
INVOICE_NOT_FOUND = "Fatura não encontrada"
INVALID_TYPE = "Tipo de ocorrência inválido"
DEFAULT_TYPE = 5  # chamado's `ocorrenciatipo` when none is sent
EXHAUSTED = "O recurso de promessa de pagamento já atingiu quantidade permitida. Recurso não disponível"
CONTRACT_NOT_FOUND = "Contrato não encontrado"


def _who(client: Client, contract: Contract) -> dict[str, Any]:
    return {"razaoSocial": client.nome, "cpfCnpj": client.cpfcnpj, "contratoId": contract.contrato}


def _resolve_contract(state: SgpState, params: Params) -> tuple[Client, Contract] | str:
    """The contract a call is about, or the `msg` of the refusal: by `contrato`, else by a one-contract CPF."""
    document = params.get("cpfcnpj", "")
    if params.get("contrato"):
        found = state.contract(params["contrato"])
        if found is None or (document and found[0].document != digits(document)):
            return CONTRACT_NOT_FOUND
        return found
    if not document:
        return "Informe o CPF/CNPJ ou o contrato"
    client = state.client_by_document(document)
    if client is None or not client.contratos:
        return "Cliente não encontrado"
    if len(client.contratos) > 1:
        return MULTIPLE_CONTRACTS
    return client, client.contratos[0]


def consultacliente(state: SgpState, params: Params, call: Call) -> Reply:
    if params.get("contrato"):
        found = state.contract(params["contrato"])
        pairs = [found] if found else []
    else:
        client = state.client_by_document(params.get("cpfcnpj", ""))
        pairs = [(client, contract) for contract in client.contratos] if client else []
    if not pairs:
        return 200, {"msg": "", "contratos": []}
    return 200, {"msg": "Contrato(s) Localizado(s)", "contratos": [contract_entry(c, k) for c, k in pairs]}


def fatura2via(state: SgpState, params: Params, call: Call) -> Reply:
    resolved = _resolve_contract(state, params)
    if isinstance(resolved, str):
        return 200, {"msg": resolved, "status": 0}
    client, contract = resolved
    invoices = contract.open_invoices()
    if invoices and params.get("faturas_abertas_todas") != "1":
        invoices = invoices[-1:]  # like the real one: only the most recent open invoice unless asked for all
    if not invoices:
        return 200, {"status": 0, "razaoSocial": client.nome, "links": [], "cpfCnpj": client.cpfcnpj, "msg": "",
                     "contratoId": contract.contrato}
    on = today()
    body: dict[str, Any] = {"status": 1, "razaoSocial": client.nome}
    if params.get("nao_gerar_os") != "1":  # like the real one: a second copy opens an attendance ticket
        protocol = state.open_ticket(client, contract, origin="fatura2via", kind=None,
                                     content="Segunda via de fatura solicitada via URA")
        body["protocolo"] = protocol
        call.notes["ticket_opened"] = protocol
    body.update({
        "links": [invoice_link(invoice, on) for invoice in invoices],
        "cpfCnpj": client.cpfcnpj,
        "link": f"{BASE}/central/",
        "msg": "",
        "contratoId": contract.contrato,
    })
    return 200, body


def pagamento_pix(state: SgpState, params: Params, call: Call) -> Reply:
    """The invoice's PIX: `contrato` is required and must be the invoice's own (else "not found")."""
    if not params.get("contrato", "").strip():
        return 200, {"status": 0, "msg": CONTRACT_REQUIRED}
    found = state.invoice(params.get("fatura", ""))
    if found is None or str(found[1].contrato) != digits(params["contrato"]).lstrip("0"):
        return 200, {"status": 0, "msg": INVOICE_NOT_FOUND}
    _, _, invoice = found
    if not invoice.open:
        return 200, {"status": 0, "msg": "Fatura já liquidada"}
    if not invoice.pix_disponivel:
        return 200, {"status": 0, "msg": "Pix não disponível para esta fatura"}
    return 200, {"status": 1, "msg": "Dados do Pix", "pix": pix_code(invoice, today())}


def titulos(state: SgpState, params: Params, call: Call) -> Reply:
    wanted_status = params.get("status", "").lower()
    rows = []
    on = today()
    for client in state.dataset.clientes:
        if params.get("cpfcnpj") and client is not state.client_by_document(params["cpfcnpj"]):
            continue
        for contract in client.contratos:
            if params.get("contrato") and str(contract.contrato) != params["contrato"].lstrip("0"):
                continue
            for invoice in sorted(contract.faturas, key=lambda i: (i.vencimento, i.fatura)):
                row = titulo(client, contract, invoice, on)
                if not wanted_status or row["status"] == wanted_status:
                    rows.append(row)
    offset = _int(params.get("offset"), 0)
    limit = max(1, min(_int(params.get("limit"), 100), 250))
    page = rows[offset:offset + limit]
    partial = 1 if offset + limit < len(rows) or offset > 0 else 0
    return 200, {"paginacao": {"offset": offset, "limit": limit, "parcial": partial, "total": len(rows)},
                 "titulos": page}


def verificaacesso(state: SgpState, params: Params, call: Call) -> Reply:
    resolved = _resolve_contract(state, params)
    if isinstance(resolved, str):
        return 200, {"status": 0, "msg": resolved}
    client, contract = resolved
    if contract.manutencao is not None:
        return 200, maintenance(state, client, contract, call)
    if contract.online:
        return 200, {"status": 1, "msg": "Serviço Online", "contratoId": contract.contrato, "cpfCnpj": client.cpfcnpj,
                     "razaoSocial": client.nome, "login": contract.login, "servico_id": contract.servico_id}
    return 200, {"status": 0, "razaoSocial": client.nome, "staus": 2, "cpfCnpj": client.cpfcnpj,
                 "msg": "Serviço Offline", "contratoId": contract.contrato}


def maintenance(state: SgpState, client: Client, contract: Contract, call: Call) -> dict[str, Any]:
    """A contract under the provider's maintenance: the SGP's notice with its forecast in `msg`, and, as the URA
    documentation says ("caso o serviço esteja em manutenção, a ocorrência será aberta por padrão"), an
    occurrence opened by the SGP itself, whose protocol comes back."""
    work = contract.manutencao
    notice = (f"Serviço em manutenção. {work.mensagem} Previsão de normalização: "
              f"{work.previsao:%d/%m/%Y} às {work.previsao_hora}.")
    protocol = state.open_ticket(client, contract, origin="verificaacesso", kind=None,
                                 content="Cliente em área de manutenção (verificação de acesso via URA)")
    call.notes["ticket_opened"] = protocol
    return {"status": 0, "razaoSocial": client.nome, "cpfCnpj": client.cpfcnpj, "msg": notice,
            "contratoId": contract.contrato, "protocolo": protocol}


def ocorrencia_tipos(state: SgpState, params: Params, call: Call) -> tuple[int, list[dict[str, Any]]]:
    """GET /api/os/ocorrencia/tipo/list/: this installation's ticket types, active or not."""
    return 200, [{"id": t["id"], "descricao": t["descricao"], "ativo": t["ativo"]}
                 for t in state.dataset.ocorrencia_tipos]


def chamado(state: SgpState, params: Params, call: Call) -> Reply:
    found = state.contract(params.get("contrato", ""))
    if found is None:
        return 200, {"status": 0, "msg": CONTRACT_NOT_FOUND}
    kind, content = params.get("ocorrenciatipo", "").strip() or str(DEFAULT_TYPE), params.get("conteudo", "")
    if not state.occurrence_known(kind):
        return 200, {"status": 0, "msg": INVALID_TYPE, "contratoId": found[1].contrato}
    if not content.strip():
        return 200, {"status": 0, "msg": "Informe o conteúdo do chamado", "contratoId": found[1].contrato}
    client, contract = found
    protocol = state.open_ticket(client, contract, origin="chamado", kind=_int(kind, 0), content=content,
                                 contact_name=params.get("contato_nome") or None,
                                 contact_phone=params.get("contato_telefone") or None)
    call.notes["ticket_opened"] = protocol
    return 200, {"status": 1, "razaoSocial": client.nome, "protocolo": protocol, "cpfCnpj": client.cpfcnpj,
                 "msg": "", "contratoId": contract.contrato}


def liberacaopromessa(state: SgpState, params: Params, call: Call) -> Reply:
    found = state.contract(params.get("contrato", ""))
    if found is None:
        return 200, {"status": 0, "liberado": False, "msg": CONTRACT_NOT_FOUND}
    client, contract = found
    if contract.promessas_disponiveis <= 0:
        return 200, {"status": 2, "liberado": False, "msg": EXHAUSTED, "contratoId": contract.contrato}
    contract.promessas_disponiveis -= 1
    contract.promessas_usadas += 1
    contract.status, contract.online = 1, True  # trust unlock: the PPPoE session comes back
    until = today() + timedelta(days=contract.liberacao_dias)
    protocol = state.new_protocol()
    state.unlocks.append({"contrato": contract.contrato, "protocolo": protocol, "dias": contract.liberacao_dias,
                          "data_promessa": until.isoformat()})
    call.notes["unlock_protocol"] = protocol
    return 200, {"status": 1, **_who(client, contract), "protocolo": protocol, "liberado": True,
                 "liberado_dias": contract.liberacao_dias, "data_promessa": until.isoformat(),
                 "msg": unlock_message(contract)}


def _int(value: Any, default: int) -> int:
    try:
        return max(0, int(str(value).strip()))
    except (TypeError, ValueError):
        return default
