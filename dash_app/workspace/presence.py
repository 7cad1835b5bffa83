"""The agent's presence selector in the workspace's header: Disponível, Ausente or Offline (PUT /me/presence).

Opening the workspace does not change the status: it shows the one the API has (the last chosen, while the
browser kept it alive; offline once it expired). The browser's live socket keeps it alive (api.engine.presence).
"""

from __future__ import annotations

import flask
from dash import Input, Output, callback_context, dcc, html

from dash_app.auth import require_user
from dash_app.workspace.client import ApiClient, ApiError, SessionExpired
from dash_app.workspace.tokens import SESSION_KEY, TokenStore

LABELS = {"online": "Disponível", "away": "Ausente", "offline": "Offline"}
HINTS = {"online": "recebe conversas da fila", "away": "mantém as suas, não recebe novas",
         "offline": "as conversas ainda sem resposta voltam para a fila"}


def slot() -> html.Div:
    return html.Div([
        dcc.Dropdown(id="ws-presence", options=[{"label": label, "value": value} for value, label in LABELS.items()],
                     clearable=False, searchable=False, placeholder="Status", className="ws-presence"),
        html.Span(id="ws-presence-note", className="muted small"),
    ], className="ws-presence-box", title="Seu status no atendimento")


def register(app, deps) -> None:
    api: ApiClient = deps.api
    tokens: TokenStore = deps.tokens

    @app.callback(Output("ws-presence", "value"), Output("ws-presence-note", "children"),
                  Input("ws-presence", "value"), Input("ws-live-config", "data"))
    def presence(chosen, _config):
        """On opening: the status the API has; on a choice: set it."""
        require_user()
        token = tokens.get(flask.session.get(SESSION_KEY))
        if token is None:
            return None, "sem conexão com a API"
        try:
            if callback_context.triggered_id == "ws-presence" and chosen in LABELS:
                status = api.put(token, "/me/presence", {"status": chosen})["status"]
            else:
                status = api.get(token, "/me/presence")["status"]
        except SessionExpired:
            return None, "sessão expirada; entre de novo"
        except ApiError as exc:
            return None, exc.message
        return status, HINTS[status]
