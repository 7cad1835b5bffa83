"""`create_app(settings, urls)`: the Dash app (multi-page), its Flask server, login guard and callbacks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dash
import flask
import redis
from dash import Dash, Input, Output, State, dcc, html

from dash_app import auth, components
from dash_app.auth import Accounts, current_user, require_tenant, require_user
from dash_app.components import empty_state, render_table
from dash_app.deps import Deps, TableSpec, default_period, parse_period, today
from dash_app.pages import PAGES, SETTINGS, WORKSPACE
from dash_app.warehouse import Marts
from dash_app.workspace.client import ApiClient
from dash_app.workspace.tokens import TokenStore
from niochat.database import API_LOGIN, login_url, sync_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring, load_secret_key
from niochat.settings import Settings

HERE = Path(__file__).resolve().parent
SESSION_HOURS = 12


def create_app(settings: Settings, urls: ServiceUrls, *, cache_seconds: float = 60.0) -> Dash:
    """The dashboards and the agents' workspace; the workspace calls the API at settings.api_url_for_workspace()."""
    server = flask.Flask("dash_app")
    secret_key = load_secret_key(settings)
    signing_key, fallbacks = auth.session_key(secret_key)
    server.config.update(
        SECRET_KEY=signing_key,
        SECRET_KEY_FALLBACKS=fallbacks,
        SESSION_COOKIE_NAME="niochat_dash",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # per request: auth.RequestSchemeSessions (HTTPS or X-Forwarded-Proto)
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    redis_client = redis.Redis.from_url(urls.redis_url, socket_timeout=3, socket_connect_timeout=3)
    deps = Deps(
        marts=Marts(urls.warehouse_url, cache_seconds=cache_seconds),
        redis=redis_client,
        # the operational database through the API's login: RLS-bound, the login lookup its only cross-tenant read
        accounts=Accounts(sync_engine(login_url(urls.database_url, API_LOGIN, settings.database_api_password),
                                      pool_size=3, max_overflow=3), redis_client),
        api=ApiClient(settings.api_url_for_workspace()),
        tokens=TokenStore(redis_client, Keyring(secret_key)),
        ws_url=settings.ws_url_for_workspace(),
    )
    auth.install(server, deps.accounts, deps.api, deps.tokens,
                 frozenset(page.PATH for page in [*PAGES, SETTINGS]))  # agents are sent to the workspace

    app = Dash(
        "dash_app",
        server=server,
        use_pages=True,
        pages_folder="",
        assets_folder=str(HERE / "assets"),
        title="NioChat",
        update_title=None,
        suppress_callback_exceptions=True,
    )
    app.niochat = deps  # for tests and benchmarks
    for page in [*PAGES, WORKSPACE, SETTINGS]:
        dash.register_page(page.__name__, path=page.PATH, name=page.NAME, order=page.ORDER,
                           title=f"{page.TITLE} · NioChat", layout=page.layout)
    app.layout = _shell
    _register_shell_callbacks(app)
    for page in [*PAGES, WORKSPACE, SETTINGS]:
        page.register(app, deps)
        for spec in page.TABLES:
            _register_table(app, deps, spec)
    return app


def _shell():
    user = current_user()
    if user is None:  # the guard refuses anonymous requests first; never render data without a session
        return html.Div("Entre para ver os painéis.", id="anonymous")
    period = default_period()
    workspace_link = dcc.Link(WORKSPACE.NAME, href=WORKSPACE.PATH, id="nav-workspace", className="nav-link")
    dashboards = [dcc.Link(page.NAME, href=page.PATH, id=f"nav-{page.__name__.rsplit('.', 1)[-1]}",
                           className="nav-link") for page in PAGES] if user.sees_dashboards else []
    if user.sees_dashboards:
        dashboards.append(dcc.Link(SETTINGS.NAME, href=SETTINGS.PATH, id="nav-settings", className="nav-link"))
    return html.Div([
        dcc.Location(id="url"),
        dcc.Store(id="periodo", data=period),
        html.Header([
            html.Div([html.Span(className="brand-dot"), html.Span("NioChat", className="brand"),
                      html.Span(user.tenant_name, className="tenant", id="tenant-name")], className="brand-box"),
            html.Nav([workspace_link, *dashboards], className="nav"),
            html.Div([html.Span(user.name, className="user"),
                      html.Form([dcc.Input(type="hidden", name="csrf_token", value=auth.csrf_token(),
                                           id="logout-csrf"),
                                 html.Button("Sair", type="submit", className="logout", id="logout")],
                                method="post", action="/logout", className="logout-form")],
                     className="user-box"),
        ], className="topbar"),
        _period_bar(period) if user.sees_dashboards else html.Div(id="filter-bar", style={"display": "none"}),
        html.Main(dash.page_container, className="content"),
        html.Footer(FOOTER if user.sees_dashboards else "Atendimento: as conversas e as ações vêm da API do NioChat, "
                    "ao vivo.", className="footer"),
    ])


FOOTER = ("Os indicadores vêm do warehouse (rode `niochat pipeline run` para atualizá-los); os da página Ao vivo, "
          "do atendimento em tempo real; o Atendimento, da API, ao vivo.")


def _period_bar(period: dict) -> html.Div:
    return html.Div([
            html.Label("Período", htmlFor="periodo-picker"),
            html.Div(dcc.DatePickerRange(
                id="periodo-picker", start_date=period["start"], end_date=period["end"],
                display_format="DD/MM/YYYY", first_day_of_week=1, minimum_nights=0,
                max_date_allowed=(today() + timedelta(days=1)).isoformat(),
                start_date_placeholder_text="início", end_date_placeholder_text="fim",
                persistence=True, persistence_type="session",
            ), className="picker"),
            html.Span(id="periodo-label", className="muted"),
        ], className="filter-bar", id="filter-bar")


def _register_shell_callbacks(app: Dash) -> None:
    @app.callback(Output("periodo", "data"), Output("periodo-label", "children"),
                  Input("periodo-picker", "start_date"), Input("periodo-picker", "end_date"))
    def choose_period(start_date, end_date):
        require_tenant()
        start, end = parse_period({"start": start_date, "end": end_date})
        days = (end - start).days + 1
        label = f"{start:%d/%m/%Y} a {end:%d/%m/%Y} · {days} dia{'s' if days != 1 else ''}"
        return {"start": start.isoformat(), "end": end.isoformat()}, label

    nav_ids = [f"nav-{page.__name__.rsplit('.', 1)[-1]}" for page in PAGES]

    @app.callback([Output(nav_id, "className") for nav_id in nav_ids], Input("url", "pathname"))
    def highlight(pathname):
        require_tenant()
        return ["nav-link active" if page.PATH == (pathname or "/") else "nav-link" for page in PAGES]

    @app.callback(Output("nav-workspace", "className"), Output("filter-bar", "style"), Input("url", "pathname"))
    def workspace_nav(pathname):
        require_user()
        path = pathname or "/"
        here = path.startswith(WORKSPACE.PATH)  # the settings page too: no period there either
        active = here and not path.startswith(SETTINGS.PATH)
        return "nav-link active" if active else "nav-link", {"display": "none"} if here else None

    @app.callback(Output("nav-settings", "className"), Input("url", "pathname"))
    def settings_nav(pathname):
        require_tenant()
        return "nav-link active" if (pathname or "/").startswith(SETTINGS.PATH) else "nav-link"


def _register_table(app: Dash, deps: Deps, spec: TableSpec) -> None:
    def rows_for(period) -> tuple[list[dict], date, date]:
        tenant = require_tenant()
        start, end = parse_period(period)
        return spec.fetch(deps, tenant, start, end), start, end

    @app.callback(Output(f"{spec.table_id}-table", "children"), Input("periodo", "data"))
    def show(period):
        rows, _, _ = rows_for(period)
        return render_table(rows, spec.columns, empty_state(spec.empty_title, spec.empty_hint or
                                                            components.PIPELINE_HINT))

    @app.callback(Output(f"{spec.table_id}-csv", "data"), Input(f"{spec.table_id}-csv-button", "n_clicks"),
                  State("periodo", "data"), prevent_initial_call=True)
    def download(n_clicks, period):
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        rows, start, end = rows_for(period)
        name = f"{spec.filename or spec.table_id}_{start:%Y-%m-%d}_{end:%Y-%m-%d}.csv"
        return {"content": components.csv_text(rows, spec.columns), "filename": name, "type": "text/csv"}
