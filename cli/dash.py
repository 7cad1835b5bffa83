"""`niochat dash`: the tenant dashboards on 127.0.0.1:NIOCHAT_DASH_PORT, with the configured or embedded services."""

from __future__ import annotations

import typer

from cli.context import console, load_settings, running_services
from cli.ports import ensure_port_free

HOST = "127.0.0.1"


def dash_command(
    port: int = typer.Option(None, "--port", help="Port to serve on (default NIOCHAT_DASH_PORT, 8050)"),
    debug: bool = typer.Option(False, "--debug", help="Dash's debug mode (reloads, error overlay)"),
) -> None:
    """Serve the dashboards (login with the same users as the API; admins and managers)."""
    settings = load_settings()
    port = port or settings.dash_port
    ensure_port_free(HOST, port, "dashboard")
    with running_services(settings) as urls:
        from dash_app import create_app

        app = create_app(settings, urls)
        console.print(f"[bold green]NioChat dashboards[/] on http://{HOST}:{port}/  (Ctrl-C to stop)")
        app.run(host=HOST, port=port, debug=debug, use_reloader=False)
