"""`niochat serve [--sandbox]`: the API and a worker (and the sandboxes with tenant demo), kept up until Ctrl-C."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import ExitStack, contextmanager

import typer
import uvicorn

from cli import provision as datasets
from cli.children import child_env
from cli.context import console, ensure_schema, fail, load_settings, running_services
from cli.ports import ensure_port_free
from niochat import provisioning as provision
from niochat.embedded import ServiceUrls
from niochat.metrics import enable_multiprocess
from niochat.readiness import wait_until_answers
from niochat.secrets import Keyring, load_demo_password, load_secret_key
from niochat.settings import Settings


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


def _sandboxes_with_tenant_demo(stack: ExitStack, settings: Settings, urls: ServiceUrls, env: dict) -> None:
    """The WhatsApp and SGP sandboxes in a child process, and tenant demo wired to them."""
    from sandbox.sgp import DatasetError, load_dataset

    try:
        dataset = load_dataset(datasets.dataset_of(provision.DEMO, settings))
    except DatasetError as exc:
        raise fail(str(exc)) from None
    ensure_port_free("127.0.0.1", settings.wa_sandbox_port, "WhatsApp sandbox")
    ensure_port_free("127.0.0.1", settings.sgp_sandbox_port, "SGP sandbox")
    stack.enter_context(_child(["sandbox"], env, "sandboxes"))
    sandbox_url = f"http://127.0.0.1:{settings.wa_sandbox_port}"
    sgp_url = f"http://127.0.0.1:{settings.sgp_sandbox_port}"
    wait_until_answers(f"{sandbox_url}/sandbox/instances", 20, interval=0.1)
    wait_until_answers(f"{sgp_url}/sandbox/calls", 20, interval=0.1)
    keyring = Keyring(load_secret_key(settings))
    password = load_demo_password(settings)
    rows = provision.provision_demo(urls.database_url, settings, keyring, password, sandbox_url)
    provision.configure_demo_sgp(urls.database_url, keyring, sgp_url, dataset.app, dataset.token)
    from api.whatsapp.sandbox_channels import connect_to_sandbox  # the API room: imported when used
    asyncio.run(connect_to_sandbox(sandbox_url, settings.public_url, keyring, rows, urls.database_url))
    shown = "from NIOCHAT_DEMO_PASSWORD" if settings.demo_password else password
    console.print(
        f"WhatsApp sandbox on {sandbox_url}, SGP sandbox on {sgp_url}; tenant [bold]demo[/]: "
        f"login {provision.DEMO_ADMIN} / password {shown}"
    )


def _run(settings: Settings, urls: ServiceUrls, sandbox: bool, worker: bool) -> None:
    enable_multiprocess(settings.data_dir, wipe=True)  # before the API's metrics exist in this process
    from api.app import create_app

    ensure_port_free(settings.api_host, settings.api_port, "API")
    if sandbox:  # the sandboxes listen on loopback, which the egress guard refuses unless allowed
        settings = settings.model_copy(update={"egress_allow": provision.sandbox_egress(settings)})
    env = child_env(settings, urls)
    if sandbox:
        env["NIOCHAT_EGRESS_ALLOW"] = settings.egress_allow
    with ExitStack() as stack:
        if sandbox:
            _sandboxes_with_tenant_demo(stack, settings, urls, env)
        if worker:
            stack.enter_context(_child(["worker"], env, "worker"))
        console.print(f"API on http://{settings.api_host}:{settings.api_port}  (docs: /docs, health: /readyz)")
        console.print(f"Agents' workspace: `niochat dash` serves it on http://127.0.0.1:{settings.dash_port}/atendimento"
                      " and calls this API (NIOCHAT_WORKSPACE_API_URL when it runs elsewhere)")
        uvicorn.run(
            create_app(settings, urls),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            proxy_headers=True,
        )


def serve(
    sandbox: bool = typer.Option(False, "--sandbox", help="Also run the WhatsApp sandbox and provision tenant demo"),
    worker: bool = typer.Option(True, "--worker/--no-worker",
                                help="Run a worker beside the API (--no-worker where workers run on their own, as in "
                                     "docker-compose.yml)"),
) -> None:
    """Run the API on 127.0.0.1:8000 (NIOCHAT_API_PORT) and a worker, on the configured or embedded services."""
    settings = load_settings()
    with running_services(settings) as urls:
        ensure_schema(settings, urls)
        _run(settings, urls, sandbox, worker)
