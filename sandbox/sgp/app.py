"""The SGP sandbox: one FastAPI app that answers like an SGP (TSMX) URA API, from JSON customer datasets.

Several providers can share it, as the demo's two tenants do: each dataset has its own `app`+`token`, and a
call is answered from the dataset whose credentials it sends."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from sandbox.sgp import dataset, routes_sandbox, routes_ura
from sandbox.sgp.state import SgpSandbox

_QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"]+", re.IGNORECASE)


class _HideQueryTokens(logging.Filter):
    """The SGP's GET listings carry app+token in the query string: this server's access log (uvicorn's, however
    it is started) shows `token=***`. A real SGP's own web server logs are its operator's matter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY_TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def _hide_query_tokens() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideQueryTokens) for f in access.filters):
        access.addFilter(_HideQueryTokens())


def create_app(dataset_path: Path | None = None, extra_datasets: Sequence[Path] | None = None) -> FastAPI:
    """A fresh in-memory SGP serving `dataset_path`, else $NIOCHAT_SGP_SANDBOX_DATA, else the built-in dataset,
    and beside it `extra_datasets` (default: the built-in second provider's, for the demo's second tenant).

    The datasets are read here, so a broken file fails at once (DatasetError) rather than on the first call.
    """
    # an install whose package data lacks the built-in companions still serves its main dataset
    extras = [p for p in dataset.EXTRA_DATASETS if p.exists()] if extra_datasets is None else list(extra_datasets)
    state = SgpSandbox([dataset.dataset_path(dataset_path), *extras])
    _hide_query_tokens()

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
        description="Plays an SGP (TSMX) URA API for the demo and the tests: customers from JSON datasets (one "
        "per provider, picked by the app+token of each call), tickets and trust unlocks in memory, faults. "
        "Inspection under /sandbox.",
        lifespan=lifespan,
        redirect_slashes=False,  # like the real one, the paths are exact: /api/ura/consultacliente/ with its slash
    )
    app.state.sgp = state
    app.include_router(routes_ura.router)
    app.include_router(routes_ura.os_router)
    app.include_router(routes_sandbox.router)

    @app.get("/healthz", tags=["sandbox"])
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app
