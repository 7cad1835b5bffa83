"""The `niochat` command: the roof that starts every part (see DESIGN.md)."""

import os
import signal
from pathlib import Path

import typer

from cli import admin, analytics, dash, db, demo, evaluation, privacy, serve, services, simulate, workers

app = typer.Typer(
    name="niochat",
    help="NioChat: WhatsApp customer service with AI for Brazilian internet providers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(db.app, name="db")
app.add_typer(services.app, name="services")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.team_app, name="team")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.channel_app, name="channel")
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("worker")(workers.worker)
app.command("sandbox")(workers.sandbox)
app.add_typer(analytics.pipeline_app, name="pipeline")
app.command("export")(analytics.export)
app.command("eval")(evaluation.eval_command)
app.command("dash")(dash.dash_command)
app.command("simulate")(simulate.simulate_command)
app.add_typer(privacy.app, name="privacy")


def _stop_cleanly(signum, frame) -> None:
    # SIGTERM (docker stop, systemd, `timeout`) gets the same orderly stop as Ctrl-C: servers shut down,
    # child processes are terminated and the embedded PostgreSQL and Redis released.
    raise KeyboardInterrupt


def main() -> None:
    from niochat.metrics import enable_multiprocess

    signal.signal(signal.SIGTERM, _stop_cleanly)
    # Before anything imports prometheus_client: every niochat process shares one metrics directory.
    enable_multiprocess(Path(os.environ.get("NIOCHAT_DATA_DIR", ".niochat")))
    app()
