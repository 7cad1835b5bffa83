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
    """Serve the dashboards (admins and managers) and the agents' workspace (every user; it calls the API at
    NIOCHAT_WORKSPACE_API_URL, by default the one `niochat serve` starts)."""
    settings = load_settings()
    port = port or settings.dash_port
    ensure_port_free(HOST, port, "dashboard")
    with running_services(settings) as urls:
        from dash_app import create_app

        app = create_app(settings, urls)
        console.print(f"[bold green]NioChat dashboards[/] on http://{HOST}:{port}/ and the agents' workspace on "
                      f"http://{HOST}:{port}/atendimento  (Ctrl-C to stop)")
        _check_api(settings.api_url_for_workspace())
        app.run(host=HOST, port=port, debug=debug, use_reloader=False)


def _check_api(api_url: str) -> None:
    """The workspace needs the API: say so now, not at an agent's first login."""
    import httpx

    try:
        answered = httpx.get(f"{api_url}/readyz", timeout=2).status_code
    except httpx.HTTPError:
        answered = None
    if answered != 200:
        console.print(f"[yellow]warning:[/] the API at {api_url} does not answer /readyz "
                      f"({answered or 'no answer'}): agents cannot log in to the workspace until it does "
                      "(start it with `niochat serve`, or set NIOCHAT_WORKSPACE_API_URL)")
