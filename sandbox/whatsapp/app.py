"""The WhatsApp provider sandbox: one FastAPI app that answers like uazapiGO and like Evolution API v2."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from sandbox.whatsapp import routes_evolution, routes_sandbox, routes_uazapi
from sandbox.whatsapp.runtime import Sandbox
from sandbox.whatsapp.state import DEFAULT_EVOLUTION_API_KEY


def create_app(webhook_retries: int = 3, evolution_api_key: str = DEFAULT_EVOLUTION_API_KEY,
               rates: dict[str, float] | None = None) -> FastAPI:
    """A fresh in-memory simulator; webhook posts are retried up to `webhook_retries` times on 5xx/errors.
    `evolution_api_key` is the Evolution side's global key (its AUTHENTICATION_API_KEY; see /sandbox/config).
    `rates`: how often it sends the awkward shapes (state.FIELD_RATES is what real servers are like); none by
    default, so a test chooses what it meets."""
    sandbox = Sandbox(webhook_retries, evolution_api_key, rates)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await sandbox.open()
        try:
            yield
        finally:
            await sandbox.close()

    app = FastAPI(
        title="NioChat WhatsApp sandbox",
        version="0.1.0",
        description="Plays Uazapi (uazapiGO v2) and Evolution API v2 for the demo and the tests: sends, webhook "
        "registration, customer messages posted as real provider webhooks, faults. Inspection under /sandbox. "
        "Evolution takes its global key or an instance's token (`apikey`), Uazapi the instance's token (`token`).",
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    app.include_router(routes_uazapi.router)
    app.include_router(routes_evolution.router)
    app.include_router(routes_sandbox.router)

    @app.get("/healthz", tags=["sandbox"])
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app
