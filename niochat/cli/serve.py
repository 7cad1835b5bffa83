"""`niochat serve` and `niochat demo`: start the services, the worker, the API (and sandboxes) and keep them up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from contextlib import ExitStack, contextmanager

import typer
import uvicorn

from niochat import migrate
from niochat.cli import provision
from niochat.cli.context import console, fail, load_settings, running_services
from niochat.cli.ports import ensure_port_free
from niochat.embedded import ServiceUrls
from niochat.metrics import enable_multiprocess
from niochat.secrets import Keyring, load_demo_password, load_secret_key
from niochat.settings import Settings


def _child_env(settings: Settings, urls: ServiceUrls) -> dict:
    """Children use the servers this process resolved (and keeps alive), and the same secret key."""
    return {
        **os.environ,
        "NIOCHAT_DATABASE_URL": urls.database_url,
        "NIOCHAT_WAREHOUSE_URL": urls.warehouse_url,
        "NIOCHAT_REDIS_URL": urls.redis_url,
        "NIOCHAT_SECRET_KEY": load_secret_key(settings),
    }


@contextmanager
def _child(args: list[str], env: dict, what: str):
    process = subprocess.Popen([sys.executable, "-m", "niochat", *args], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        elif process.returncode:
            console.print(f"[yellow]the {what} exited with status {process.returncode}[/]")


def _require_schema(urls: ServiceUrls) -> None:
    if migrate.current_revision(urls.database_url) != migrate.head_revision():
        raise fail("the database schema is not up to date: run `niochat db upgrade` first")


def _demo_traffic(settings: Settings, password: str, customers: int, rate: float) -> None:
    """After the API answers: simulated customers and an agent, like a provider's busy morning."""
    from niochat.cli.simulate import customers_from_dataset, run_simulation
    from sandbox.simulator import SimulationConfig

    api_url = f"http://{settings.api_host}:{settings.api_port}"
    provision.wait_until_up(f"{api_url}/readyz", seconds=60)
    config = SimulationConfig(
        sandbox_url=f"http://127.0.0.1:{settings.wa_sandbox_port}",
        instances=list(provision.DEMO_CHANNELS.values()),
        customers=customers_from_dataset(settings.sgp_sandbox_data),
        count=customers,
        rate_per_minute=rate,
        api_url=api_url,
        agent_email=provision.DEMO_AGENT,
        agent_password=password,
        csat_wait=settings.csat_delay_seconds + 30,
    )
    report = run_simulation(config, title="simulated customers")
    console.print(f"simulation: {report.as_dict()}")
    console.print(
        f"\n[bold green]NioChat demo is up[/]\n"
        f"  API        {api_url}/docs  (login {provision.DEMO_ADMIN} / {password})\n"
        f"  WhatsApp   http://127.0.0.1:{settings.wa_sandbox_port}/sandbox/messages\n"
        f"  SGP        http://127.0.0.1:{settings.sgp_sandbox_port}/sandbox/calls\n  Ctrl-C stops everything."
    )


def _run(settings: Settings, urls: ServiceUrls, sandbox: bool, traffic: tuple[int, float] | None = None) -> None:
    enable_multiprocess(settings.data_dir, wipe=True)  # before the API's metrics exist in this process
    from api.app import create_app

    ensure_port_free(settings.api_host, settings.api_port, "API")
    env = _child_env(settings, urls)
    with ExitStack() as stack:
        if sandbox:
            from sandbox.sgp import DatasetError, dataset_path, load_dataset

            try:
                dataset = load_dataset(dataset_path(settings.sgp_sandbox_data))
            except DatasetError as exc:
                raise fail(str(exc)) from None
            ensure_port_free("127.0.0.1", settings.wa_sandbox_port, "WhatsApp sandbox")
            ensure_port_free("127.0.0.1", settings.sgp_sandbox_port, "SGP sandbox")
            stack.enter_context(_child(["sandbox"], env, "sandboxes"))
            sandbox_url = f"http://127.0.0.1:{settings.wa_sandbox_port}"
            sgp_url = f"http://127.0.0.1:{settings.sgp_sandbox_port}"
            provision.wait_until_up(f"{sandbox_url}/sandbox/instances")
            provision.wait_until_up(f"{sgp_url}/sandbox/calls")
            keyring = Keyring(load_secret_key(settings))
            password = load_demo_password(settings)
            rows = provision.provision_demo(urls.database_url, settings, keyring, password, sandbox_url)
            provision.configure_demo_sgp(urls.database_url, keyring, sgp_url, dataset.app, dataset.token)
            asyncio.run(provision.connect_to_sandbox(sandbox_url, settings.public_url, keyring, rows))
            console.print(
                f"WhatsApp sandbox on {sandbox_url}, SGP sandbox on {sgp_url}; tenant [bold]demo[/]: "
                f"login {provision.DEMO_ADMIN} / password {password}"
            )
        stack.enter_context(_child(["worker"], env, "worker"))
        if sandbox and traffic and traffic[0] > 0:
            threading.Thread(target=_demo_traffic, args=(settings, password, *traffic), daemon=True).start()
        console.print(f"API on http://{settings.api_host}:{settings.api_port}  (docs: /docs, health: /readyz)")
        uvicorn.run(
            create_app(settings, urls),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            proxy_headers=True,
        )


def serve(
    sandbox: bool = typer.Option(False, "--sandbox", help="Also run the WhatsApp sandbox and provision tenant demo"),
) -> None:
    """Run the API on 127.0.0.1:8000 (NIOCHAT_API_PORT) and a worker, on the configured or embedded services."""
    settings = load_settings()
    with running_services(settings) as urls:
        _require_schema(urls)
        _run(settings, urls, sandbox)


def demo(
    customers: int = typer.Option(12, help="Simulated customer conversations once everything is up (0: none)"),
    rate: float = typer.Option(30.0, help="New simulated conversations per minute"),
) -> None:
    """Everything locally: embedded services, migrations, sandboxes, tenant demo, worker, API, simulated traffic."""
    settings = load_settings()
    with running_services(settings) as urls:
        with console.status("migrating the database..."):
            migrate.upgrade(urls.database_url)
        _run(settings, urls, sandbox=True, traffic=(customers, rate))
