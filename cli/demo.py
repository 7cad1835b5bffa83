"""`niochat demo`: the whole platform in one command.

Embedded PostgreSQL and Redis, migrations, the WhatsApp and SGP sandboxes, two provider tenants (`demo` and
`veloz`, each with its channels, SGP customers, persona and users), the API and a worker, optionally weeks of
generated history, simulated customers through real webhooks, the pipeline (dbt marts, one DuckDB file per
tenant), then the dashboards (and optionally Dagster's UI) until Ctrl-C.

The long-running parts are child processes logging to <data dir>/logs, so this terminal shows only the steps.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from cli import provision as datasets
from cli.children import Children, StepFailed, child_env
from cli.context import console, fail, load_settings, running_services
from cli.demo_banner import print_ready
from cli.ports import ensure_port_free
from cli.simulate import DEFAULT_MIX, parse_mix
from niochat import migrate, provisioning as provision
from niochat.readiness import answers_200
from niochat.secrets import Keyring, load_demo_password, load_secret_key
from niochat.settings import Settings

DEMO_CSAT_DELAY = 15.0  # seconds: the surveys of the simulated customers arrive while one watches
NIOCHAT = [sys.executable, "-m", "niochat"]


@dataclass(frozen=True)
class DemoOptions:
    customers: int  # simulated conversations per tenant
    rate: float  # per minute, per tenant
    mix: dict[str, int]
    history_days: int
    dagster_port: int | None  # None: no Dagster UI
    reset: bool
    seed: int | None


@contextmanager
def _step(doing: str, done: str) -> Iterator[None]:
    with console.status(f"{doing}..."):
        yield
    console.print(f"[green]✓[/] {done}")


def _check_ports(settings: Settings, dagster_port: int | None) -> None:
    """Every port first: better to refuse now than after a minute of setting up."""
    ensure_port_free(settings.api_host, settings.api_port, "API (NIOCHAT_API_PORT)")
    ensure_port_free("127.0.0.1", settings.dash_port, "dashboard (NIOCHAT_DASH_PORT)")
    ensure_port_free("127.0.0.1", settings.wa_sandbox_port, "WhatsApp sandbox (NIOCHAT_WA_SANDBOX_PORT)")
    ensure_port_free("127.0.0.1", settings.sgp_sandbox_port, "SGP sandbox (NIOCHAT_SGP_SANDBOX_PORT)")
    if dagster_port:
        ensure_port_free("127.0.0.1", dagster_port, "Dagster UI (--dagster-port)")


def _start_sandboxes(children: Children, settings: Settings) -> tuple[str, str]:
    sandbox_url = f"http://127.0.0.1:{settings.wa_sandbox_port}"
    sgp_url = f"http://127.0.0.1:{settings.sgp_sandbox_port}"
    with _step("starting the WhatsApp and SGP sandboxes", f"WhatsApp sandbox on {sandbox_url}, SGP on {sgp_url}"):
        child = children.start("sandboxes", [*NIOCHAT, "sandbox"], "sandbox.log")
        children.wait_ready(child, f"{sandbox_url}/healthz", 60)
        children.wait_ready(child, f"{sgp_url}/healthz", 30)
    return sandbox_url, sgp_url


def _provision(settings: Settings, database_url: str, sandbox_url: str, sgp_url: str, password: str) -> None:
    from sandbox.sgp import DatasetError, load_dataset

    admins = ", ".join(f"{spec.slug} ({spec.email_of('admin')})" for spec in provision.DEMO_TENANTS)
    shown = "NIOCHAT_DEMO_PASSWORD" if settings.demo_password else password  # a generated one is printed
    with _step("provisioning the demo tenants", f"tenants {admins}, password {shown}"):
        keyring = Keyring(load_secret_key(settings))
        channels = provision.provision(database_url, settings, keyring, password, sandbox_url)
        for spec in provision.DEMO_TENANTS:
            try:
                dataset = load_dataset(datasets.dataset_of(spec, settings))
            except DatasetError as exc:
                raise StepFailed(str(exc)) from None
            provision.configure_sgp(database_url, keyring, spec.slug, sgp_url, dataset.app, dataset.token)
        rows = [row for tenant_rows in channels.values() for row in tenant_rows]
        from api.whatsapp.sandbox_channels import connect_to_sandbox  # the API room: imported when used
        asyncio.run(connect_to_sandbox(sandbox_url, settings.public_url, keyring, rows, database_url,
                                                 provision.by_events_instances()))


def _run_pipeline(env: dict) -> None:
    """`niochat pipeline run` as a child writing to this terminal: its own progress bars, its own summary."""
    console.print("[bold]pipeline[/]: warehouse sync, dbt build and tests, one DuckDB file per tenant")
    process = subprocess.Popen([*NIOCHAT, "pipeline", "run"], env=env, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        status = process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    if status:
        raise StepFailed(f"the pipeline failed (status {status}); its log file is named just above")


def _exports(settings: Settings) -> list[Path]:
    folder = Path(settings.data_dir).resolve() / "exports"
    paths = [folder / f"{spec.slug}.duckdb" for spec in provision.DEMO_TENANTS]
    missing = [path.name for path in paths if not path.exists()]
    if missing:
        raise StepFailed(f"the pipeline finished but wrote no {', '.join(missing)} in {folder}")
    return paths


def _start_dagster(children: Children, settings: Settings, port: int) -> None:
    home = Path(settings.data_dir).resolve() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    executable = Path(sys.executable).with_name("dagster")
    with _step("starting Dagster's UI (it loads the dbt project)", f"Dagster UI on http://127.0.0.1:{port}"):
        child = children.start("Dagster UI", [str(executable), "dev", "-m", "pipelines", "-h", "127.0.0.1",
                                              "-p", str(port)], "dagster.log", stop_signal=signal.SIGINT,
                               extra_env={"DAGSTER_HOME": str(home)})
        children.wait_ready(child, f"http://127.0.0.1:{port}/server_info", 180,
                            ok=answers_200)


def _keep_serving(children: Children) -> None:
    while True:
        time.sleep(0.5)
        if exited := children.first_exited():
            raise exited.exited()


def _run(settings: Settings, options: DemoOptions) -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines would bury the steps
    if options.reset:
        from cli.demo_reset import reset_data_dir

        removed = reset_data_dir(settings)
        console.print(f"[green]✓[/] reset: removed {', '.join(removed) or 'nothing (the data dir was empty)'}")
    with ExitStack() as stack:
        embedded = "configured" if settings.database_url else f"embedded, under {Path(settings.data_dir).resolve()}"
        with _step("starting PostgreSQL and Redis", f"PostgreSQL and Redis ({embedded})"):
            urls = stack.enter_context(running_services(settings))
        with _step("migrating the database", "database schema up to date"):
            migrate.upgrade(urls.database_url)
            migrate.set_login_passwords(urls.database_url, settings)
        env = child_env(settings, urls)
        env["NIOCHAT_EGRESS_ALLOW"] = provision.sandbox_egress(settings)  # the demo's providers are the sandboxes
        csat_delay = settings.csat_delay_seconds
        if "csat_delay_seconds" not in settings.model_fields_set:
            csat_delay = DEMO_CSAT_DELAY
            env["NIOCHAT_CSAT_DELAY_SECONDS"] = str(DEMO_CSAT_DELAY)
        children = stack.enter_context(Children(env, Path(settings.data_dir) / "logs"))
        sandbox_url, sgp_url = _start_sandboxes(children, settings)
        password = load_demo_password(settings)
        _provision(settings, urls.database_url, sandbox_url, sgp_url, password)
        api = f"http://{settings.api_host}:{settings.api_port}"
        with _step("starting the API and a worker", f"API and worker on {api}"):
            child = children.start("API and worker", [*NIOCHAT, "serve"], "api.log")
            children.wait_ready(child, f"{api}/readyz", 90, ok=answers_200)
        if options.history_days:
            from cli.demo_history import backfill

            new = backfill(urls.database_url, settings, provision.DEMO_TENANTS, options.history_days,
                           options.seed or 0)
            console.print(f"[green]✓[/] {options.history_days} days of generated history "
                          f"({new} new conversations, marked as generated)")
        if options.customers:
            from cli.demo_traffic import run_traffic, traffic_configs, wait_for_quiet

            configs = traffic_configs(settings, provision.DEMO_TENANTS, password, options.customers,
                                      options.rate, options.mix, csat_delay, options.seed)
            run_traffic(configs)
            wait_for_quiet(urls.database_url)
        _run_pipeline(env)
        exports = _exports(settings)
        with _step("starting the dashboards", f"dashboards on http://127.0.0.1:{settings.dash_port}"):
            child = children.start("dashboards", [*NIOCHAT, "dash"], "dash.log")
            children.wait_ready(child, f"http://127.0.0.1:{settings.dash_port}/login", 90,
                                ok=answers_200)
        if options.dagster_port:
            _start_dagster(children, settings, options.dagster_port)
        print_ready(settings, provision.DEMO_TENANTS, None if settings.demo_password else password, exports,
                    options.dagster_port)
        _keep_serving(children)


def demo(
    customers: int = typer.Option(12, min=0, help="Simulated conversations per tenant once the API is up (0: none)"),
    rate: float = typer.Option(30.0, min=0.1, help="New simulated conversations per minute, per tenant"),
    mix: str = typer.Option(DEFAULT_MIX, help="Intent weights of the simulated customers"),
    history_days: int = typer.Option(
        28, "--history-days", min=0, help="Days of generated past conversations, so the charts have history (0: none)"
    ),
    dagster: bool = typer.Option(False, "--dagster", help="Also serve Dagster's UI, with the pipeline's schedules"),
    dagster_port: int = typer.Option(3000, "--dagster-port", help="Port of Dagster's UI"),
    reset: bool = typer.Option(False, "--reset", help="Start afresh: remove the embedded servers' data first"),
    seed: int = typer.Option(None, help="Random seed, for a repeatable demo"),
) -> None:
    """Everything locally, in one command: services, sandboxes, two provider tenants, simulated customers,
    the pipeline and its DuckDB files, the API and the dashboards (and Dagster's UI). Ctrl-C stops it all."""
    settings = load_settings()
    options = DemoOptions(customers, rate, parse_mix(mix), history_days, dagster_port if dagster else None, reset,
                          seed)
    _check_ports(settings, options.dagster_port)
    try:
        _run(settings, options)
    except StepFailed as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass  # Ctrl-C (or SIGTERM) is how a demo ends: everything above was stopped on the way out
    except Exception as exc:
        if not _interrupted(exc):
            raise
        # Ctrl-C landed inside a database call (the history, the pipeline): the driver's cleanup then fails
        # ("connection in transaction status ACTIVE") and hides the interrupt; it is still just a stop.
    console.print("NioChat demo stopped.")


def _interrupted(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
