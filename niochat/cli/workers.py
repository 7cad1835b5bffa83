"""`niochat worker` and `niochat sandbox`: the processes that run beside the API."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from niochat.cli.context import console, load_settings, running_services
from niochat.cli.ports import ensure_port_free


def worker(
    burst: bool = typer.Option(False, help="Process what is queued, then exit"),
) -> None:
    """Run a queue worker: answers inbound messages, delivers outbound ones, sweeps lost work."""
    from api.engine.worker import build_worker

    settings = load_settings()

    async def run(urls) -> None:
        worker = build_worker(settings, urls, burst=burst)  # arq binds to the loop it is created in
        try:
            await worker.async_run()
        finally:
            await worker.close()

    with running_services(settings) as urls:
        console.print("worker started (Ctrl-C stops it)")
        asyncio.run(run(urls))


def sandbox() -> None:
    """Run the WhatsApp provider sandbox (Uazapi + Evolution) on 127.0.0.1:8100 (NIOCHAT_WA_SANDBOX_PORT)."""
    from sandbox.whatsapp import create_app

    settings = load_settings()
    ensure_port_free("127.0.0.1", settings.wa_sandbox_port, "WhatsApp sandbox")
    console.print(f"WhatsApp sandbox on http://127.0.0.1:{settings.wa_sandbox_port}  (inspect: /sandbox/messages)")
    uvicorn.run(create_app(), host="127.0.0.1", port=settings.wa_sandbox_port, log_config=None)
