"""`niochat worker` and `niochat sandbox`: the processes that run beside the API."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer
import uvicorn
from redis.exceptions import RedisError

from cli.context import console, fail, load_settings, running_services
from cli.ports import ensure_port_free
from niochat.logging import get_logger

log = get_logger(__name__)


def worker(
    burst: bool = typer.Option(False, help="Process what is queued, then exit"),
) -> None:
    """Run a queue worker: answers inbound messages, delivers outbound ones, sweeps lost work."""
    from api.engine.worker import build_worker

    settings = load_settings()

    async def run(urls) -> None:
        delay = 1.0
        while True:
            worker = build_worker(settings, urls, burst=burst)  # arq binds to the loop it is created in
            try:
                await worker.async_run()
                return
            except asyncio.CancelledError:
                return  # arq cancels its main task on SIGINT/SIGTERM: a normal stop
            except (RedisError, OSError) as exc:
                if burst:
                    raise
                # Redis restarting or unreachable: PostgreSQL keeps the work, so wait and reconnect
                log.warning("worker lost Redis, reconnecting", error=type(exc).__name__, retry_in=delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await worker.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)

    with running_services(settings) as urls:
        console.print("worker started (Ctrl-C stops it)")
        asyncio.run(run(urls))


class _SharedSignals(uvicorn.Server):
    """Several servers in one process: one signal handler stops them all (uvicorn's own would stop one)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def _serve_all(servers: list[uvicorn.Server]) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: [setattr(server, "should_exit", True) for server in servers])
    await asyncio.gather(*(server.serve() for server in servers))


def sandbox(
    plain: bool = typer.Option(False, "--plain", help="only the textbook shapes: no LID-only senders, edits, "
                               "reactions or transient send refusals (by default they come at the field's rates)"),
) -> None:
    """Run the sandboxes: WhatsApp (Uazapi + Evolution) on :8100 and SGP on :8200 (NIOCHAT_*_SANDBOX_PORT)."""
    from sandbox.sgp import DatasetError, create_app as create_sgp
    from sandbox.whatsapp import create_app as create_whatsapp
    from sandbox.whatsapp.state import FIELD_RATES

    settings = load_settings()
    ensure_port_free("127.0.0.1", settings.wa_sandbox_port, "WhatsApp sandbox")
    ensure_port_free("127.0.0.1", settings.sgp_sandbox_port, "SGP sandbox")
    try:
        sgp_app = create_sgp(settings.sgp_sandbox_data)
    except DatasetError as exc:
        raise fail(str(exc)) from None
    servers = [
        _SharedSignals(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        for app, port in ((create_whatsapp(rates=None if plain else FIELD_RATES), settings.wa_sandbox_port),
                          (sgp_app, settings.sgp_sandbox_port))
    ]
    console.print(f"WhatsApp sandbox on http://127.0.0.1:{settings.wa_sandbox_port}  (inspect: /sandbox/messages)")
    console.print(f"SGP sandbox on http://127.0.0.1:{settings.sgp_sandbox_port}  (inspect: /sandbox/calls)")
    asyncio.run(_serve_all(servers))
