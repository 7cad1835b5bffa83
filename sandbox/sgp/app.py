"""The SGP sandbox: one FastAPI app that answers like an SGP (TSMX) URA API, from a JSON customer dataset."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from sandbox.sgp import dataset, routes_sandbox, routes_ura
from sandbox.sgp.state import SgpState


def create_app(dataset_path: Path | None = None) -> FastAPI:
    """A fresh in-memory SGP serving `dataset_path`, else $NIOCHAT_SGP_SANDBOX_DATA, else the built-in dataset.

    The dataset is read here, so a broken file fails at once (DatasetError) rather than on the first call.
    """
    state = SgpState(dataset.dataset_path(dataset_path))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.stopping.clear()
        try:
            yield
        finally:
            state.stopping.set()  # hanging "timeout" faults give up

    app = FastAPI(
        title="NioChat SGP sandbox",
        version="0.1.0",
        description="Plays an SGP (TSMX) URA API for the demo and the tests: customers from a JSON dataset, "
        "app+token auth, tickets and trust unlocks in memory, faults. Inspection under /sandbox.",
        lifespan=lifespan,
        redirect_slashes=False,  # like the real one, the paths are exact: /api/ura/consultacliente/ with its slash
    )
    app.state.sgp = state
    app.include_router(routes_ura.router)
    app.include_router(routes_sandbox.router)

    @app.get("/healthz", tags=["sandbox"])
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app
