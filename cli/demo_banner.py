"""What `niochat demo` prints once everything is up: where each part answers, the DuckDB files, the logins."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from cli.context import console
from niochat.provisioning import DemoTenant
from niochat.settings import Settings

READY = "NioChat demo ready"  # tests and scripts wait for this line
ROLES = {"admin": "admin: dashboards, workspace, API", "manager": "manager: dashboards, workspace, API",
         "agent": "agent: workspace (Atendimento), API"}


def _table() -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1, 0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def print_ready(settings: Settings, specs: tuple[DemoTenant, ...], password: str | None, exports: list[Path],
                dagster_port: int | None) -> None:
    api = f"http://{settings.api_host}:{settings.api_port}"
    where = _table()
    where.add_row("API", f"{api}/docs")
    where.add_row("Health", f"{api}/readyz  {api}/metrics")
    where.add_row("Dashboards", f"http://127.0.0.1:{settings.dash_port}/")
    where.add_row("Workspace", f"http://127.0.0.1:{settings.dash_port}/atendimento  (agents land here)")
    if dagster_port:
        where.add_row("Dagster", f"http://127.0.0.1:{dagster_port}/")
    where.add_row("WhatsApp", f"http://127.0.0.1:{settings.wa_sandbox_port}/sandbox/messages")
    where.add_row("SGP", f"http://127.0.0.1:{settings.sgp_sandbox_port}/sandbox/calls")
    where.add_row("DuckDB", "\n".join(str(path) for path in exports))
    where.add_row("Logs", str(Path(settings.data_dir).resolve() / "logs"))

    logins = _table()
    logins.add_column(style="dim", no_wrap=True)
    for spec in specs:
        for index, user in enumerate(spec.users):
            tenant = (spec.name, f"({spec.slug})")[index] if index < 2 else ""
            logins.add_row(tenant, user.email, ROLES[user.role])
    shown = password or "the value of NIOCHAT_DEMO_PASSWORD"
    kept = "" if password is None else f", kept in {Path(settings.data_dir).resolve() / 'demo-password'}"

    console.print(f"\n[bold green]{READY}[/]")
    console.print(where)
    console.print(f"\n  [bold]Logins[/] (password for all: {shown}{kept})")
    console.print(logins)
    console.print("\n  Be a customer: README's `curl` lines. Ctrl-C stops everything; `niochat demo` again reuses "
                  "this data, `niochat demo --reset` starts afresh.\n")
