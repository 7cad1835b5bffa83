"""SGP (TSMX) URA response pieces, shaped like tests/fixtures/sgp/*.response.json, from dataset records."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.sgp.dataset import Client, Contract, Invoice
from sandbox.sgp.pix import barcode_from_line, brcode

BASE = "https://sgp.exemplo.invalid"
STATUS_DISPLAY = {
    1: "Ativo", 2: "Inativo", 3: "Cancelado", 4: "Suspenso", 5: "Inviabilidade Técnica", 6: "Novo",
    7: "Ativo V. Reduzida",
}
FINE = Decimal("0.02")  # multa on an overdue invoice
DAILY_INTEREST = Decimal("0.000333")  # 1% a month, pro rata die
CENTS = Decimal("0.01")


def status_display(status: int) -> str:
    """SGP pads the display text with spaces (" Ativo "): clients must strip it."""
    return f" {STATUS_DISPLAY.get(status, 'Desconhecido')} "


def number(amount: Decimal) -> float | int:
    """Money as the documented responses write it: a JSON number (99.9)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def open_amount(contract: Contract) -> Decimal:
    return sum((invoice.valor for invoice in contract.open_invoices()), Decimal("0"))


def charges(invoice: Invoice, on: date) -> tuple[Decimal, Decimal]:
    """(multa, juros) of an open invoice paid on `on`: nothing before the due date."""
    late_days = (on - invoice.vencimento).days
    if invoice.pago_em is not None or late_days <= 0:
        return Decimal("0"), Decimal("0")
    fine = (invoice.valor * FINE).quantize(CENTS, ROUND_HALF_UP)
    interest = (invoice.valor * DAILY_INTEREST * late_days).quantize(CENTS, ROUND_HALF_UP)
    return fine, interest


def corrected(invoice: Invoice, on: date) -> Decimal:
    fine, interest = charges(invoice, on)
    return invoice.valor + fine + interest


def pix_code(invoice: Invoice, on: date) -> str:
    """What /api/ura/pagamento/pix/{fatura} answers: the dataset's code, else one generated for the invoice."""
    return invoice.codigopix or brcode(invoice.fatura, corrected(invoice, on))


def _contacts(values: list[str], kind: str) -> list[dict[str, Any]]:
    return [{"tipoContato": kind, "contato": value, "inscricoes": []} for value in values]


def contract_entry(client: Client, contract: Contract) -> dict[str, Any]:
    """One element of consultacliente's `contratos`, in the documented shape or the live servers' variant."""
    invoices = contract.open_invoices()
    if client.variante_live:
        return {
            "contratoId": contract.contrato,
            "clienteId": client.cliente_id,
            "razaoSocial": client.nome,
            "cpfCnpj": client.cpfcnpj,
            "contratoStatus": contract.status,
            "contratoStatusDisplay": status_display(contract.status),
            "contratoValorAberto": f"{open_amount(contract):.2f}",
            "contratoTitulosAReceber": str(len(invoices)),
            "servico_plano": contract.plano,
            "telefones": _contacts(client.telefones, "celular"),
            "emails": _contacts(client.emails, "email"),
        }
    address = contract.endereco
    return {
        "contratoId": contract.contrato,
        "clienteId": client.cliente_id,
        "razaoSocial": client.nome,
        "cpfCnpj": client.cpfcnpj,
        "dataNascimento": client.data_nascimento,
        "contratoStatus": contract.status,
        "contratoStatusDisplay": status_display(contract.status),
        "contratoStatusModo": "",
        "motivo_status": "Inadimplência" if contract.status == 4 else "",
        "contratoValorAberto": number(open_amount(contract)),
        "contratoTitulosAReceber": len(invoices),
        "promessasPagamentoMes": contract.promessas_usadas,
        "servico_plano": contract.plano,
        "planointernet": contract.plano,
        "servico_login": contract.login,
        "servico_tipo_conexao": "PPPoE",
        "popId": 3,
        "popNome": "POP CENTRO",
        "endereco_logradouro": address.get("logradouro", ""),
        "endereco_numero": address.get("numero", ""),
        "endereco_bairro": address.get("bairro", ""),
        "endereco_cidade": address.get("cidade", ""),
        "endereco_uf": address.get("uf", ""),
        "endereco_cep": address.get("cep", ""),
        "telefones": list(client.telefones),
        "emails": list(client.emails),
        "link_quitacao": f"{BASE}/quitacao/{contract.contrato}/",
        "tags": [],
    }


def invoice_link(invoice: Invoice, on: date) -> dict[str, Any]:
    """One element of fatura2via's `links` (codigopix may be "": the client then asks pagamento/pix)."""
    fine, interest = charges(invoice, on)
    return {
        "fatura": invoice.fatura,
        "vencimento": invoice.vencimento.isoformat(),
        "vencimento_original": invoice.vencimento.isoformat(),
        "valor": number(invoice.valor + fine + interest),
        "valor_original": number(invoice.valor),
        "juros": number(interest),
        "multa": number(fine),
        "linhadigitavel": invoice.linhadigitavel,
        "codigopix": invoice.codigopix,
        "link": invoice.link or f"{BASE}/boleto/{invoice.fatura}/",
        "link_cobranca": f"{BASE}/cobranca/{invoice.fatura}/",
        "id": invoice.fatura,
    }


def titulo(client: Client, contract: Contract, invoice: Invoice, on: date) -> dict[str, Any]:
    return {
        "id": invoice.fatura,
        "clienteNome": client.nome,
        "clienteCpfcnpj": client.cpfcnpj,
        "clienteContrato": contract.contrato,
        "numeroDocumento": str(invoice.fatura),
        "link": invoice.link or f"{BASE}/boleto/{invoice.fatura}/",
        "link_cobranca": f"{BASE}/cobranca/{invoice.fatura}/",
        "status": "aberto" if invoice.open else "pago",
        "valor": number(invoice.valor),
        "valorCorrigido": number(corrected(invoice, on)),
        "codigoBarras": barcode_from_line(invoice.linhadigitavel),
        "linhaDigitavel": invoice.linhadigitavel,
        "codigoPix": invoice.codigopix,
        "dataEmissao": invoice.emissao.isoformat(),
        "dataVencimento": invoice.vencimento.isoformat(),
        "dataPagamento": invoice.pago_em.isoformat() if invoice.pago_em else None,
    }


def unlock_message(contract: Contract) -> str:
    """The SGP's own `msg` on a granted unlock: it carries the PPPoE login, which clients must never show."""
    return (
        f"Liberação via URA -\nServiço ID: {contract.servico_id}, Login: {contract.login}\n"
        "Motivo: Promessa de Pagamento\n"
    )
