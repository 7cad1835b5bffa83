"""The simulator's own controls under /sandbox: calls made, faults, reset, the dataset, tickets and unlocks."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from sandbox.sgp.dataset import DatasetError
from sandbox.sgp.faults import Fault
from sandbox.sgp.routes_ura import state_of
from sandbox.sgp.state import SgpState

router = APIRouter(prefix="/sandbox", tags=["sandbox"])


class FaultIn(BaseModel):
    count: int = Field(ge=1, le=10_000)
    mode: Literal["error", "timeout", "forbidden"] = "error"
    status: int = Field(500, ge=400, le=599, description='HTTP status of mode "error"')
    endpoint: str | None = Field(None, description="only calls whose path contains this, e.g. fatura2via")


@router.get("/calls")
async def list_calls(request: Request, endpoint: str | None = None) -> list[dict[str, Any]]:
    """Every /api/ura/ call, oldest first: endpoint, parameters (app and token left out), status, time."""
    return [call.as_dict() for call in state_of(request).calls if not endpoint or endpoint in call.endpoint]


@router.delete("/calls")
async def clear_calls(request: Request) -> dict[str, int]:
    state = state_of(request)
    cleared = len(state.calls)
    state.calls.clear()
    return {"cleared": cleared}


@router.post("/faults")
async def add_fault(body: FaultIn, request: Request) -> list[dict[str, Any]]:
    """Fail the next `count` calls (matching `endpoint`): 500s (or `status`), a 30 s hang, or a 403."""
    state = state_of(request)
    state.faults.append(Fault(count=body.count, mode=body.mode, status=body.status, endpoint=body.endpoint or None))
    return [fault.as_dict() for fault in state.faults]


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    return [fault.as_dict() for fault in state_of(request).faults]


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, int]:
    state = state_of(request)
    cleared = len(state.faults)
    state.faults.clear()
    return {"cleared": cleared}


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    """Read the dataset file again; calls, faults, tickets and consumed unlocks are forgotten."""
    state = state_of(request)
    try:
        state.reload()
    except DatasetError as exc:
        raise HTTPException(422, str(exc)) from exc
    return summary(state)


@router.get("/dataset")
async def dataset(request: Request) -> dict[str, Any]:
    """The credentials to configure and the customers to try, with each contract's current state."""
    return summary(state_of(request))


@router.get("/tickets")
async def tickets(request: Request) -> list[dict[str, Any]]:
    """Tickets opened: by /chamado/, and by /fatura2via/ when nao_gerar_os=1 was not sent."""
    return list(state_of(request).tickets)


@router.get("/unlocks")
async def unlocks(request: Request) -> list[dict[str, Any]]:
    return list(state_of(request).unlocks)


def summary(state: SgpState) -> dict[str, Any]:
    data = state.dataset
    return {
        "source": str(state.source),
        "app": data.app,
        "token": data.token,
        "ocorrencia_tipos": data.ocorrencia_tipos,
        "clientes": [
            {
                "cpfcnpj": client.cpfcnpj,
                "documento": client.document,
                "nome": client.nome,
                "variante_live": client.variante_live,
                "contratos": [
                    {
                        "contrato": contract.contrato,
                        "status": contract.status,
                        "online": contract.online,
                        "promessas_disponiveis": contract.promessas_disponiveis,
                        "liberacao_dias": contract.liberacao_dias,
                        "faturas_abertas": [invoice.fatura for invoice in contract.open_invoices()],
                    }
                    for contract in client.contratos
                ],
            }
            for client in data.clientes
        ],
    }
