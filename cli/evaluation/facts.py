"""Facts the scenarios name as placeholders (`{pix:F}`, `{amount:F}`...), asked of the SGP sandbox like a client."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import httpx


def brl(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def load_facts(sgp_url: str, invoices: set[str]) -> dict[str, str]:
    """`{kind:invoice}` -> text, for the invoices the scenarios name, asked of the SGP sandbox like a client."""
    facts: dict[str, str] = {}
    if not invoices:
        return facts
    with httpx.Client(base_url=sgp_url, timeout=10) as http:
        dataset = http.get("/sandbox/dataset").raise_for_status().json()
        auth = {"app": dataset["app"], "token": dataset["token"]}
        rows, offset = [], 0
        while True:
            page = http.post("/api/ura/titulos/", json={**auth, "offset": offset, "limit": 250}).raise_for_status()
            rows += page.json()["titulos"]
            offset += 250
            if offset >= page.json()["paginacao"]["total"]:
                break
        for row in rows:
            invoice = str(row["id"])
            if invoice not in invoices:
                continue
            facts[f"line:{invoice}"] = row["linhaDigitavel"]
            facts[f"amount:{invoice}"] = brl(Decimal(str(row["valorCorrigido"])))
            facts[f"due:{invoice}"] = datetime.fromisoformat(row["dataVencimento"]).strftime("%d/%m/%Y")
            facts[f"link:{invoice}"] = row["link"]
            pix = row.get("codigoPix") or ""
            if not pix:
                answer = http.post(f"/api/ura/pagamento/pix/{invoice}",
                                   json={**auth, "contrato": row["clienteContrato"]}).raise_for_status().json()
                pix = (answer.get("pix") or "") if str(answer.get("status")) == "1" else ""
            if pix:
                facts[f"pix:{invoice}"] = pix
    return facts
