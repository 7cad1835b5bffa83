"""The simulator's own controls under /sandbox: calls made, faults, reset, the datasets, tickets and unlocks.

Calls and faults belong to the server (every provider's calls, in order); the dataset, tickets and unlocks
belong to one provider: `?app=` names it, the main dataset when left out.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from sandbox.sgp.dataset import DatasetError
from sandbox.sgp.faults import Fault
from sandbox.sgp.routes_ura import sandbox_of
from sandbox.sgp.state import SgpState

router = APIRouter(prefix="/sandbox", tags=["sandbox"])
APP = Query(None, description="the provider's `app` (GET /sandbox/datasets lists them); default: the main dataset")


def state_of(request: Request, app: str | None) -> SgpState:
    state = sandbox_of(request).by_app(app)
    if state is None:
        raise HTTPException(404, f"no dataset with app {app!r}")
    return state


class FaultIn(BaseModel):
    count: int = Field(ge=1, le=10_000)
    mode: Literal["error", "timeout", "forbidden"] = "error"
    status: int = Field(500, ge=400, le=599, description='HTTP status of mode "error"')
    endpoint: str | None = Field(None, description="only calls whose path contains this, e.g. fatura2via")


@router.get("/calls")
async def list_calls(request: Request, endpoint: str | None = None, app: str | None = APP) -> list[dict[str, Any]]:
    """Every /api/ura/ call, oldest first: endpoint, parameters (app and token left out), status, time, and
    the `dataset` (app) that answered it. `?app=` keeps one provider's calls only."""
    return [call.as_dict() for call in sandbox_of(request).calls
            if (not endpoint or endpoint in call.endpoint) and (not app or call.dataset == app)]


@router.delete("/calls")
async def clear_calls(request: Request) -> dict[str, int]:
    sandbox = sandbox_of(request)
    cleared = len(sandbox.calls)
    sandbox.calls.clear()
    return {"cleared": cleared}


@router.post("/faults")
async def add_fault(body: FaultIn, request: Request) -> list[dict[str, Any]]:
    """Fail the next `count` calls (matching `endpoint`): 500s (or `status`), a 30 s hang, or a 403."""
    sandbox = sandbox_of(request)
    sandbox.faults.append(Fault(count=body.count, mode=body.mode, status=body.status, endpoint=body.endpoint or None))
    return [fault.as_dict() for fault in sandbox.faults]


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    return [fault.as_dict() for fault in sandbox_of(request).faults]


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, int]:
    sandbox = sandbox_of(request)
    cleared = len(sandbox.faults)
    sandbox.faults.clear()
    return {"cleared": cleared}


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    """Read every dataset file again; calls, faults, tickets and consumed unlocks are forgotten. Answers the
    main dataset's summary."""
    sandbox = sandbox_of(request)
    try:
        sandbox.reload()
    except DatasetError as exc:
        raise HTTPException(422, str(exc)) from exc
    return summary(sandbox.main)


@router.get("/datasets")
async def datasets(request: Request) -> list[dict[str, Any]]:
    """Every provider this SGP plays, main dataset first: its `app`, file and number of customers."""
    return [{"app": state.dataset.app, "source": str(state.source), "clientes": len(state.dataset.clientes)}
            for state in sandbox_of(request).states]


@router.get("/dataset")
async def dataset(request: Request, app: str | None = APP) -> dict[str, Any]:
    """The credentials to configure and the customers to try, with each contract's current state."""
    return summary(state_of(request, app))


@router.get("/tickets")
async def tickets(request: Request, app: str | None = APP) -> list[dict[str, Any]]:
    """Tickets opened: by /chamado/ (with its `ocorrenciatipo` and contact), by /fatura2via/ when nao_gerar_os=1
    was not sent, and by /verificaacesso/ for a contract under maintenance (the SGP opens one by itself)."""
    return list(state_of(request, app).tickets)


@router.get("/unlocks")
async def unlocks(request: Request, app: str | None = APP) -> list[dict[str, Any]]:
    return list(state_of(request, app).unlocks)


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
                        "manutencao": contract.manutencao is not None,
                    }
                    for contract in client.contratos
                ],
            }
            for client in data.clientes
        ],
    }
