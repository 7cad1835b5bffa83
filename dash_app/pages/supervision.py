"""Supervisão: each agent's presence, load against capacity, the queues they work and their first response today,
from the API (GET /agents/load) with the session's token, refreshed every few seconds. Admins change an agent's
capacity here (PATCH /users/{id})."""

from __future__ import annotations

import flask
from dash import Input, Output, State, dcc, html

from dash_app import theme
from dash_app.auth import current_user, require_tenant
from dash_app.components import empty_state
from dash_app.deps import Deps
from dash_app.workspace.client import ApiError, SessionExpired
from dash_app.workspace.presence import LABELS
from dash_app.workspace.tokens import SESSION_KEY

PATH, NAME, ORDER = "/supervisao", "Supervisão", 6
TITLE = "Supervisão"
REFRESH_SECONDS = 10
TABLES: list = []
ADMINS = ("admin", "superadmin")
NO_TOKEN = ("A supervisão não está conectada à API do NioChat (ela não respondeu quando você entrou). "
            "Saia e entre de novo.")
HEADERS = ("Atendente", "Status", "Em atendimento", "Na fila", "Espera mais antiga", "1ª resposta hoje (mediana)",
           "1ª resposta hoje (média)", "Atendidas hoje")


def layout(**_):
    user = current_user()
    admin = user is not None and user.role in ADMINS
    return html.Div([
        html.H2(TITLE),
        html.P(f"Atualizado a cada {REFRESH_SECONDS} segundos, direto do atendimento (não depende do período "
               "escolhido). Na fila: conversas aguardando nas equipes do atendente e na fila geral.",
               className="muted"),
        dcc.Interval(id="sup-interval", interval=REFRESH_SECONDS * 1000, n_intervals=0),
        html.Div(id="sup-table", className="panel"),
        html.Div([
            html.Span("Capacidade (conversas abertas que a distribuição automática dá a cada um):",
                      className="muted"),
            dcc.Dropdown(id="sup-capacity-user", placeholder="Atendente…", className="ws-filter"),
            dcc.Input(id="sup-capacity-value", type="number", min=0, max=100, step=1, placeholder="Capacidade",
                      className="ws-input"),
            html.Button("Salvar capacidade", id="sup-capacity-save", n_clicks=0, className="csv-button"),
            html.Span(id="sup-capacity-feedback", role="status"),
        ], className="sup-capacity", style=None if admin else {"display": "none"}),
    ])


def _row(agent: dict) -> html.Tr:
    status = agent["presence"]
    full = agent["open_conversations"] >= agent["capacity"]
    oldest = agent["oldest_waiting_minutes"]
    return html.Tr([
        html.Td(agent["name"]),
        html.Td(html.Span(LABELS[status], className=f"presence presence-{status}")),
        html.Td(f"{agent['open_conversations']} / {agent['capacity']}", className="bad" if full else None),
        html.Td(theme.number(agent["waiting"])),
        html.Td(theme.duration(oldest * 60) if oldest is not None else "—"),
        html.Td(theme.duration(agent["first_response_median_seconds"])),
        html.Td(theme.duration(agent["first_response_avg_seconds"])),
        html.Td(theme.number(agent["answered_today"])),
    ])


def register(app, deps: Deps) -> None:
    def token() -> str | None:
        return deps.tokens.get(flask.session.get(SESSION_KEY))

    @app.callback(Output("sup-table", "children"), Output("sup-capacity-user", "options"),
                  Input("sup-interval", "n_intervals"), Input("sup-capacity-feedback", "children"))
    def refresh(_n, _saved):
        require_tenant()  # agents are refused, as on every dashboard
        bearer = token()
        if bearer is None:
            return html.Div(NO_TOKEN, className="error", role="alert"), []
        try:
            agents = deps.api.get(bearer, "/agents/load")
        except SessionExpired:
            return html.Div("Sua sessão expirou; entre de novo.", className="error", role="alert"), []
        except ApiError as exc:
            return html.Div(exc.message, className="error", role="alert"), []
        if not agents:
            return empty_state("Nenhum atendente ativo.", "Crie atendentes e coloque-os em equipes.", "sup-empty"), []
        table = html.Table([html.Thead(html.Tr([html.Th(label) for label in HEADERS])),
                            html.Tbody([_row(agent) for agent in agents])], className="data-table", id="sup-agents")
        options = [{"label": agent["name"], "value": agent["user_id"]} for agent in agents]
        return table, options

    @app.callback(Output("sup-capacity-feedback", "children"), Input("sup-capacity-save", "n_clicks"),
                  State("sup-capacity-user", "value"), State("sup-capacity-value", "value"), prevent_initial_call=True)
    def save_capacity(_clicks, user_id, capacity):
        require_tenant()
        bearer = token()
        if bearer is None:
            return NO_TOKEN
        if not user_id or capacity is None:
            return "Escolha o atendente e a capacidade (0 a 100)."
        try:
            changed = deps.api.patch(bearer, f"/users/{user_id}", {"capacity": int(capacity)})
        except SessionExpired:
            return "Sua sessão expirou; entre de novo."
        except ApiError as exc:
            return exc.message
        return f"Capacidade de {changed['name']}: {changed['capacity']} conversas."
