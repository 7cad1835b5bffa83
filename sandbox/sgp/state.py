"""The SGP sandbox's memory. One server plays the SGP of several providers: each `SgpState` is one provider's
SGP (its dataset, mutated by unlocks, with its tickets and unlocks), picked by the `app`+`token` a call sends;
the `SgpSandbox` holds them with what belongs to the server itself: every call and the planned faults.

Everything runs on the server's event loop and no method awaits, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.sgp.dataset import Client, Contract, Dataset, Invoice, digits, load_dataset, today
from sandbox.sgp.faults import Fault, take_fault


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Call:
    endpoint: str
    parameters: dict[str, Any]
    body_format: str  # "form" | "json" | "none"
    time: str = field(default_factory=now_iso)
    status: int | None = None  # None while the request is still being answered (or hanging)
    fault: str | None = None
    dataset: str | None = None  # `app` of the provider whose data answered; None: the credentials matched none
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint, "parameters": self.parameters, "format": self.body_format,
            "status": self.status, "time": self.time, "fault": self.fault, "dataset": self.dataset, **self.notes,
        }


class SgpState:
    """One provider's SGP: its customers, and the tickets and unlocks granted since the last reset."""

    def __init__(self, source: Path, protocols: Iterator[int] | None = None) -> None:
        self.source = source
        self._sequence = protocols or itertools.count(1)  # survives resets: a protocol is never handed out twice
        self.reload()

    def reload(self) -> None:
        """Read the dataset again and forget every ticket and unlock."""
        self.dataset: Dataset = load_dataset(self.source)
        self.tickets: list[dict[str, Any]] = []
        self.unlocks: list[dict[str, Any]] = []

    def accepts(self, app: str, token: str) -> bool:
        return hmac.compare_digest(app.encode(), self.dataset.app.encode()) and hmac.compare_digest(
            token.encode(), self.dataset.token.encode()
        )

    # lookups -------------------------------------------------------------------------------------------------
    def client_by_document(self, document: Any) -> Client | None:
        wanted = digits(document)
        return next((c for c in self.dataset.clientes if wanted and c.document == wanted), None)

    def contract(self, number: Any) -> tuple[Client, Contract] | None:
        wanted = digits(number)
        for client in self.dataset.clientes:
            for contract in client.contratos:
                if wanted and str(contract.contrato) == wanted.lstrip("0"):
                    return client, contract
        return None

    def invoice(self, number: Any) -> tuple[Client, Contract, Invoice] | None:
        wanted = digits(number)
        for client in self.dataset.clientes:
            for contract in client.contratos:
                for invoice in contract.faturas:
                    if wanted and str(invoice.fatura) == wanted.lstrip("0"):
                        return client, contract, invoice
        return None

    def occurrence_known(self, kind: Any) -> bool:
        """An active type of this installation's list (GET /api/os/ocorrencia/tipo/list/)."""
        return any(t["ativo"] and str(t["id"]) == str(kind).strip() for t in self.dataset.ocorrencia_tipos)

    # effects -------------------------------------------------------------------------------------------------
    def new_protocol(self) -> str:
        return f"{today():%y%m%d}{next(self._sequence):06d}"

    def open_ticket(self, client: Client, contract: Contract, *, origin: str, kind: Any, content: str,
                    contact_name: str | None = None, contact_phone: str | None = None) -> str:
        protocol = self.new_protocol()
        self.tickets.append({
            "protocolo": protocol, "origem": origin, "contrato": contract.contrato, "cpfcnpj": client.cpfcnpj,
            "ocorrenciatipo": kind, "conteudo": content, "contato_nome": contact_name,
            "contato_telefone": contact_phone, "time": now_iso(),
        })
        return protocol


class SgpSandbox:
    """The server: one `SgpState` per dataset (the first is the main one), and the calls and faults of all."""

    def __init__(self, sources: list[Path]) -> None:
        self.stopping = asyncio.Event()
        protocols = itertools.count(1)  # shared: a protocol number is unique across the whole server
        self.states: list[SgpState] = []
        for source in sources:
            state = SgpState(source, protocols)
            # the main dataset wins: a companion with the same `app` would make calls ambiguous
            if all(other.dataset.app != state.dataset.app for other in self.states):
                self.states.append(state)
        self.calls: list[Call] = []
        self.faults: list[Fault] = []

    @property
    def main(self) -> SgpState:
        return self.states[0]

    def for_credentials(self, app: str, token: str) -> SgpState | None:
        return next((state for state in self.states if state.accepts(app, token)), None)

    def by_app(self, app: str | None) -> SgpState | None:
        """The dataset inspection asks about: by its `app`, the main one when none is named."""
        if not app:
            return self.main
        return next((state for state in self.states if state.dataset.app == app), None)

    def reload(self) -> None:
        """Read every dataset again and forget every call, fault, ticket and unlock."""
        for state in self.states:
            state.reload()
        self.calls = []
        self.faults = []

    def record_call(self, endpoint: str, parameters: dict[str, Any], body_format: str) -> Call:
        call = Call(endpoint, parameters, body_format)
        self.calls.append(call)
        return call

    def take_fault(self, path: str) -> Fault | None:
        return take_fault(self.faults, path)
