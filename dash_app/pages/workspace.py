"""Atendimento: the agents' workspace. The inbox (waiting, mine, my teams', everything for supervisors) beside the
selected conversation, its history, the composer and the actions. Everything is asked of the API with the
session's token (dash_app.workspace.client); live events come from the API's WebSocket, held by the browser
(assets/workspace.js), and only tell the callbacks when to ask again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dash
import flask
from dash import Input, Output, State, dcc, html

from dash_app.auth import LIVE_TOKEN_PATH, require_user
from dash_app.pages.ai_sgp import reason_label
from dash_app.workspace import customer_panel, inbox, paging, pane, presence, search_results
from dash_app.workspace.client import ApiClient, ApiError, SessionExpired
from dash_app.workspace.timeline import timeline
from dash_app.workspace.tokens import SESSION_KEY, TokenStore

PATH, NAME, ORDER = "/atendimento", "Atendimento", 0
TITLE = "Atendimento"
TABLES: list = []
MESSAGE_PAGE = 200

NO_TOKEN = ("O atendimento não está conectado à API do NioChat (ela não respondeu quando você entrou). "
            "Saia e entre de novo.")
ACTIONS = ("ws-take", "ws-send-reply", "ws-send-note", "ws-assign", "ws-transfer", "ws-handback", "ws-close",
           "ws-reopen")
DONE = {"ws-take": "Conversa assumida.", "ws-send-reply": "Resposta enviada ao cliente.",
        "ws-send-note": "Nota interna registrada (não foi enviada ao cliente).", "ws-assign": "Conversa atribuída.",
        "ws-transfer": "Conversa transferida.", "ws-handback": "Conversa devolvida ao robô.",
        "ws-close": "Conversa encerrada; a pesquisa de satisfação foi agendada.", "ws-reopen": "Conversa reaberta."}
HIDDEN = {"display": "none"}


def _selected_from(query: dict) -> str | None:
    try:
        return str(uuid.UUID(str(query.get("conversa"))))
    except ValueError:
        return None


def layout(**query):
    user = require_user()
    manager = user.sees_dashboards
    views = inbox.views_for(user.role)
    return html.Div([
        dcc.Store(id="ws-live-config", data={"token_url": LIVE_TOKEN_PATH}),
        dcc.Store(id="ws-event"),
        dcc.Store(id="ws-notify"),
        dcc.Store(id="ws-known-waiting"),
        dcc.Store(id="ws-selected", data=_selected_from(query)),
        dcc.Store(id="ws-done", data=0),
        dcc.Store(id="ws-offset", data=0),
        dcc.Store(id="ws-read"),
        html.Div(id="ws-notify-sink", style=HIDDEN),
        html.Div([
            html.H2(TITLE),
            html.Div([
                presence.slot(),
                html.Span("conectando…", id="ws-live-status", className="live-status"),
                html.Button("Ativar notificações", id="ws-notify-button", className="csv-button", n_clicks=0),
                dcc.Checklist(id="ws-mute", options=[{"label": " silenciar som", "value": "mute"}], value=[],
                              persistence=True, persistence_type="local", className="mute"),
            ], className="ws-live-box"),
        ], className="ws-head"),
        html.Div([
            dcc.RadioItems(id="ws-view", options=[{"label": inbox.VIEWS[v], "value": v} for v in views],
                           value="aguardando", persistence=True, persistence_type="session",
                           className="ws-views", inputClassName="ws-view-input", labelClassName="ws-view"),
            html.Div([
                dcc.Dropdown(id="ws-team", placeholder="Todas as equipes", clearable=True, persistence=True,
                             persistence_type="session", className="ws-filter"),
                dcc.Dropdown(id="ws-channel", placeholder="Todos os canais", clearable=True, persistence=True,
                             persistence_type="session", className="ws-filter"),
                dcc.Dropdown(id="ws-status", placeholder="Todas as situações", clearable=True, persistence=True,
                             persistence_type="session", className="ws-filter",
                             options=[{"label": label, "value": value}
                                      for value, label in inbox.STATUS_LABELS.items()]),
                dcc.Dropdown(id="ws-label", placeholder="Todas as etiquetas", clearable=True, persistence=True,
                             persistence_type="session", className="ws-filter"),
                # debounce: the search runs on Enter or after a pause in the typing, not at every key
                html.Div(dcc.Input(id="ws-search", type="search", debounce=0.6, maxLength=200, className="ws-input",
                                   placeholder="Buscar mensagens, clientes, telefones, protocolos…"),
                         className="ws-search"),
            ], className="ws-filters"),
        ], className="ws-toolbar"),
        html.Div([
            html.Div([html.Div(id="ws-list-error"), html.Div(id="ws-list", className="inbox-list"),
                      html.Div([
                          html.Button("‹ Anteriores", id="ws-page-prev", n_clicks=0, className="csv-button"),
                          html.Span(id="ws-page-info", className="muted small"),
                          html.Button("Próximas ›", id="ws-page-next", n_clicks=0, className="csv-button"),
                      ], id="ws-pager", className="ws-pager", style=HIDDEN)],
                     className="panel ws-inbox"),
            html.Div([
                html.Div(id="ws-conv-header", className="conv-header"),
                pane.labels_row(),
                html.Div(id="ws-timeline", className="timeline"),
                html.Div(id="ws-feedback", role="status"),
                pane.notice(),
                html.Div([
                    html.Div([
                        html.Button("Assumir", id="ws-take", n_clicks=0, className="action primary"),
                        html.Button("Devolver ao robô", id="ws-handback", n_clicks=0, className="action"),
                        html.Button("Encerrar", id="ws-close", n_clicks=0, className="action danger"),
                        html.Button("Reabrir", id="ws-reopen", n_clicks=0, className="action"),
                    ], className="action-row"),
                    html.Div([
                        dcc.Dropdown(id="ws-assign-user", placeholder="Atribuir a…", className="ws-filter"),
                        html.Button("Atribuir", id="ws-assign", n_clicks=0, className="action"),
                    ], className="action-grid assign-grid", style=None if manager else HIDDEN, id="ws-assign-row"),
                    html.Div([
                        dcc.Dropdown(id="ws-transfer-team", placeholder="Transferir para a equipe…",
                                     className="ws-filter"),
                        dcc.Input(id="ws-transfer-note", placeholder="Nota da transferência (opcional)",
                                  className="ws-input", maxLength=500),
                        html.Button("Transferir", id="ws-transfer", n_clicks=0, className="action"),
                    ], className="action-grid"),
                    dcc.Textarea(id="ws-composer", placeholder="Escreva a resposta ao cliente ou uma nota interna…",
                                 className="composer", maxLength=4000),
                    pane.composer_tools(),
                    html.Div([
                        html.Button("Enviar ao cliente", id="ws-send-reply", n_clicks=0, className="action primary"),
                        html.Button("Salvar como nota interna", id="ws-send-note", n_clicks=0,
                                    className="action note"),
                    ], className="action-row"),
                ], id="ws-actions", style=HIDDEN),
            ], className="panel ws-conversation"),
            customer_panel.layout(),
        ], className="ws-grid"),
    ], className="workspace")


# --- talking to the API with the session's token -------------------------------------------------------------


class NoToken(Exception):
    pass


def _token(tokens: TokenStore) -> str:
    token = tokens.get(flask.session.get(SESSION_KEY))
    if token is None:
        raise NoToken()
    return token


def _relogin(tokens: TokenStore, where: str) -> dcc.Location:
    """The API no longer takes the token (expired, password changed, user disabled): end this session too."""
    tokens.drop(flask.session.get(SESSION_KEY))
    flask.session.clear()
    return dcc.Location(id=f"ws-relogin-{where}", href="/login", refresh=True)


def _error(text: str) -> html.Div:
    return html.Div(text, className="error", role="alert")


def _teams(api: ApiClient, token: str, user_id: str) -> tuple[list[dict], list[str]]:
    teams = api.get(token, "/teams")
    return teams, [team["id"] for team in teams if user_id in team["member_ids"]]


def register(app, deps) -> None:
    api: ApiClient = deps.api
    tokens: TokenStore = deps.tokens
    customer_panel.register(app, deps)
    presence.register(app, deps)

    @app.server.route(LIVE_TOKEN_PATH)
    def live_token():
        """For the browser's live socket (same origin, the session cookie): the token and where to connect.
        The guard has refused anonymous requests already."""
        token = tokens.get(flask.session.get(SESSION_KEY))
        if token is None:
            return flask.jsonify({"error": "no API token; log in again"}), 401
        response = flask.jsonify({"token": token, "url": deps.ws_url})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.callback(Output("ws-team", "options"), Output("ws-channel", "options"),
                  Output("ws-transfer-team", "options"), Output("ws-assign-user", "options"),
                  Output("ws-label", "options"), Input("ws-live-config", "data"))
    def filter_options(_config):
        user = require_user()
        try:
            token = _token(tokens)
            teams, mine = _teams(api, token, user.user_id)
            team_options = [{"label": team["name"] + (" (sua)" if team["id"] in mine else ""), "value": team["id"]}
                            for team in teams]
            people = []
            if user.sees_dashboards:
                channels = api.get(token, "/channels")
                channel_options = [{"label": c["name"] or c["instance"], "value": c["id"]} for c in channels]
                people = [{"label": u["name"], "value": u["id"]} for u in api.get(token, "/users")
                          if u["is_active"]]
            else:  # agents may not list channels: the ones their conversations came by
                seen = api.get(token, "/conversations", limit=200)["items"]
                ids = sorted({row["channel_id"] for row in seen})
                channel_options = [{"label": f"WhatsApp ··{cid[-4:]}", "value": cid} for cid in ids]
            label_options = [{"label": label["name"], "value": label["id"]} for label in api.get(token, "/labels")]
        except (NoToken, SessionExpired, ApiError):
            return [], [], [], [], []  # the list's callback says what went wrong
        return team_options, channel_options, team_options, people, label_options

    @app.callback(Output("ws-offset", "data"),
                  Input("ws-page-prev", "n_clicks"), Input("ws-page-next", "n_clicks"), Input("ws-view", "value"),
                  Input("ws-team", "value"), Input("ws-channel", "value"), Input("ws-status", "value"),
                  Input("ws-label", "value"), Input("ws-search", "value"), State("ws-offset", "data"),
                  prevent_initial_call=True)
    def page_offset(*args):
        offset = paging.moved(dash.ctx.triggered_id, args[-1])
        if offset == (args[-1] or 0):
            raise dash.exceptions.PreventUpdate  # already there: no second refresh of the list
        return offset

    @app.callback(Output("ws-view", "options"), Output("ws-list", "children"), Output("ws-list-error", "children"),
                  Output("ws-known-waiting", "data"), Output("ws-notify", "data"), Output("ws-pager", "style"),
                  Output("ws-page-info", "children"), Output("ws-page-prev", "disabled"),
                  Output("ws-page-next", "disabled"),
                  Input("ws-view", "value"), Input("ws-team", "value"), Input("ws-channel", "value"),
                  Input("ws-status", "value"), Input("ws-label", "value"), Input("ws-search", "value"),
                  Input("ws-offset", "data"), Input("ws-event", "data"), Input("ws-done", "data"),
                  Input("ws-selected", "data"), State("ws-known-waiting", "data"))
    def refresh_inbox(view, team, channel, status, label, search, offset, _event, _done, selected, known):
        user = require_user()
        views = inbox.views_for(user.role)
        view = view if view in views else "aguardando"
        labels = [{"label": inbox.VIEWS[v], "value": v} for v in views]
        no_pager = (HIDDEN, "", True, True)
        search = (search or "").strip()
        try:
            token = _token(tokens)
            _, mine = _teams(api, token, user.user_id)
            filters = inbox.Filters(team or None, channel or None, status or None, label or None)
            counts, waiting_ids = inbox.view_counts(api, token, user.user_id, views, mine, filters)
            if search:
                page = api.get(token, "/search", q=search, limit=paging.PAGE, offset=offset or 0)
                total = page["total"]
                listed = search_results.results_view(page, search, ZoneInfo(user.timezone), selected)
                shown = len(page["items"])
            else:
                rows, total, offset = inbox.view_page(api, token, inbox.query(view, user.user_id, mine, filters),
                                                      offset)
                listed = [inbox.row_view(row, user.first_response_minutes, selected) for row in rows] or [
                    html.Div("Nenhuma conversa aqui agora.", className="empty-state", id="ws-list-empty")]
                shown = len(rows)
        except NoToken:
            return labels, [], _error(NO_TOKEN), known, dash.no_update, *no_pager
        except SessionExpired:
            return labels, [], _relogin(tokens, "list"), known, dash.no_update, *no_pager
        except ApiError as exc:
            return labels, dash.no_update, _error(exc.message), known, dash.no_update, *no_pager
        labels = [{"label": f"{inbox.VIEWS[v]} ({counts[v]})", "value": v} for v in views]
        new = sorted(set(waiting_ids) - set(known)) if isinstance(known, list) else []
        notify = {"count": len(new), "ids": new} if new else dash.no_update
        offset = offset or 0
        pager = (None if total > paging.PAGE else HIDDEN, paging.summary(offset, shown, total), offset == 0,
                 offset + shown >= total)
        return labels, listed, "", waiting_ids, notify, *pager

    @app.callback(Output("ws-read", "data"), Input("ws-selected", "data"), Input("ws-event", "data"))
    def mark_read(selected, event):
        """The open conversation is read up to now: when the agent opens it, and when it changes on screen (an
        event naming it, or a burst naming no single conversation: show_conversation redraws it for both)."""
        require_user()
        if not selected:
            raise dash.exceptions.PreventUpdate
        if dash.ctx.triggered_id == "ws-event" and isinstance(event, dict) and \
                event.get("conversation_id") not in (None, selected):
            raise dash.exceptions.PreventUpdate
        try:
            api.post(_token(tokens), f"/conversations/{selected}/read")
        except (NoToken, SessionExpired, ApiError):
            raise dash.exceptions.PreventUpdate from None  # the conversation pane says what went wrong
        return selected

    @app.callback(Output("ws-conv-header", "children"), Output("ws-timeline", "children"),
                  Output("ws-actions", "style"), Output("ws-take", "style"), Output("ws-handback", "style"),
                  Output("ws-close", "style"), Output("ws-reopen", "style"),
                  Input("ws-selected", "data"), Input("ws-event", "data"), Input("ws-done", "data"))
    def show_conversation(selected, event, _done):
        user = require_user()
        hidden = (HIDDEN,) * 5
        if dash.ctx.triggered_id == "ws-event" and isinstance(event, dict) and selected:
            if event.get("conversation_id") not in (None, selected):
                raise dash.exceptions.PreventUpdate  # someone else's conversation changed
        if not selected:
            return (html.Div("Escolha uma conversa na lista.", className="muted", id="ws-no-selection"), [],
                    *hidden)
        try:
            token = _token(tokens)
            conv = api.get(token, f"/conversations/{selected}")
            page = api.get(token, f"/conversations/{selected}/messages", limit=MESSAGE_PAGE)
            if page["total"] > MESSAGE_PAGE:  # the newest page: the history's end is what the agent needs
                page = api.get(token, f"/conversations/{selected}/messages", limit=MESSAGE_PAGE,
                               offset=page["total"] - MESSAGE_PAGE)
            notes = api.get(token, f"/conversations/{selected}/notes")
            events = api.get(token, f"/conversations/{selected}/events")
        except NoToken:
            return _error(NO_TOKEN), [], *hidden
        except SessionExpired:
            return _relogin(tokens, "conversation"), [], *hidden
        except ApiError as exc:
            return _error(exc.message), [], *hidden
        names = {user.user_id: user.name}
        if conv.get("assignee_id") and conv.get("assignee_name"):
            names[conv["assignee_id"]] = conv["assignee_name"]
        zone = ZoneInfo(user.timezone)
        if page["total"] > MESSAGE_PAGE and page["items"]:  # events before the first message shown are left out too
            first = inbox.parse_time(page["items"][0]["created_at"])
            events = [event for event in events if inbox.parse_time(event["at"]) >= first]
        items = timeline(page["items"], notes, names, user.user_id, zone, events)
        if page["total"] > MESSAGE_PAGE:
            items.insert(0, html.Div(f"{page['total'] - MESSAGE_PAGE} mensagens anteriores não exibidas.",
                                     className="muted small"))
        return (_header(conv, user.first_response_minutes), items, {}, *_buttons(conv))

    @app.callback(Output("ws-feedback", "children"), Output("ws-done", "data"), Output("ws-composer", "value"),
                  Output("ws-transfer-note", "value"), Output("ws-attach", "contents"),
                  *[Input(action, "n_clicks") for action in ACTIONS],
                  State("ws-selected", "data"), State("ws-composer", "value"), State("ws-assign-user", "value"),
                  State("ws-transfer-team", "value"), State("ws-transfer-note", "value"), State("ws-done", "data"),
                  State("ws-attach", "contents"), State("ws-attach", "filename"),
                  prevent_initial_call=True)
    def act(*args):
        require_user()
        selected, text, assignee, team, note, done, attached, attached_name = args[len(ACTIONS):]
        action = dash.ctx.triggered_id
        if action not in ACTIONS or not dash.ctx.triggered or not dash.ctx.triggered[0]["value"]:
            raise dash.exceptions.PreventUpdate
        keep = dash.no_update
        if not selected:
            return _error("Escolha uma conversa na lista primeiro."), keep, keep, keep, keep
        text = (text or "").strip()
        try:
            attachment = pane.attachment_body(attached, attached_name) if action == "ws-send-reply" else None
        except pane.AttachmentRefused as exc:
            return _error(str(exc)), keep, keep, keep, keep
        if action in ("ws-send-reply", "ws-send-note") and not text and not attachment:
            return _error("Escreva o texto antes de enviar."), keep, keep, keep, keep
        if action == "ws-assign" and not assignee:
            return _error("Escolha a quem atribuir."), keep, keep, keep, keep
        if action == "ws-transfer" and not team:
            return _error("Escolha a equipe da transferência."), keep, keep, keep, keep
        path = f"/conversations/{selected}"
        reply = {"text": text or None, "attachment": attachment} if attachment else {"text": text}
        call = {
            "ws-take": (f"{path}/take", None),
            "ws-send-reply": (f"{path}/reply", reply),
            "ws-send-note": (f"{path}/notes", {"text": text}),
            "ws-assign": (f"{path}/assign", {"user_id": assignee}),
            "ws-transfer": (f"{path}/transfer", {"team_id": team, "reason": (note or "").strip() or None}),
            "ws-handback": (f"{path}/handback", None),
            "ws-close": (f"{path}/close", None),
            "ws-reopen": (f"{path}/reopen", None),
        }[action]
        try:
            api.post(_token(tokens), *call)
        except NoToken:
            return _error(NO_TOKEN), keep, keep, keep, keep
        except SessionExpired:
            return _relogin(tokens, "action"), keep, keep, keep, keep
        except ApiError as exc:
            # a lost race (409) changes the screen too: show who has the conversation now
            return _error(exc.message), (done or 0) + 1, keep, keep, keep
        cleared = "" if action in ("ws-send-reply", "ws-send-note") else keep
        return (html.Div(DONE[action], className="notice", id="ws-feedback-ok"), (done or 0) + 1, cleared,
                "" if action == "ws-transfer" else keep, None if action == "ws-send-reply" else keep)

    def attempt(where: str | None, work):
        """For the pane's callbacks (dash_app/workspace/pane.py): the API's answer, or what to show instead.
        `where` None: a read beside the history's, whose callback ends an expired session (not both at once)."""
        try:
            return work(_token(tokens)), None
        except NoToken:
            return None, _error(NO_TOKEN)
        except SessionExpired:
            return None, _relogin(tokens, where) if where else html.Div()
        except ApiError as exc:
            return None, _error(exc.message)

    pane.register(app, api, attempt)

    app.clientside_callback(dash.ClientsideFunction("niochat", "live"), Output("ws-live-status", "children"),
                            Input("ws-live-config", "data"))
    app.clientside_callback(dash.ClientsideFunction("niochat", "notify"), Output("ws-notify-sink", "children"),
                            Input("ws-notify", "data"), State("ws-mute", "value"), prevent_initial_call=True)
    app.clientside_callback(dash.ClientsideFunction("niochat", "permission"), Output("ws-notify-button", "title"),
                            Input("ws-notify-button", "n_clicks"), prevent_initial_call=True)


def _header(conv: dict, target: int) -> html.Div:
    status = inbox.STATUS_LABELS.get(conv["status"], conv["status"])
    details = [html.Span(status, className=f"badge badge-{conv['status']}", id="ws-conv-status")]
    if conv.get("team_name"):
        details.append(html.Span(conv["team_name"], className="badge badge-team"))
    details.append(html.Span(f"com {conv['assignee_name']}" if conv.get("assignee_name") else "sem atendente",
                             className="muted", id="ws-conv-assignee"))
    if clock := inbox.waiting_clock(conv, target):
        details.append(html.Span(clock[0], className=f"sla sla-{clock[1]}"))
    if conv.get("handoff_reason"):
        details.append(html.Span(f"motivo: {reason_label(conv['handoff_reason'])}", className="muted small"))
    if conv["status"] != "closed" and not _in_window(conv):
        details.append(html.Span("fora da janela de 24 h: o cliente precisa escrever antes de você responder",
                                 className="badge badge-window", id="ws-conv-window",
                                 title="O WhatsApp só permite responder até 24 horas depois da última mensagem "
                                       "do cliente."))
    return html.Div([html.H3(inbox.contact_label(conv["contact"]), id="ws-conv-contact"),
                     html.Div(details, className="inbox-meta")], **{"data-conversation": conv["id"]})


def _in_window(conv: dict) -> bool:
    """Shown only: the API decides (api/engine/reply_window.py) and refuses a reply past WhatsApp's 24 hours."""
    last = inbox.parse_time(conv.get("last_inbound_at"))
    return last is not None and datetime.now(UTC) - last < timedelta(hours=24)


def _buttons(conv: dict) -> tuple[dict | None, ...]:
    """Which actions make sense now (the API still decides: a stale screen gets its refusal, shown)."""
    closed = conv["status"] == "closed"
    unheld = conv["status"] in ("bot", "waiting") or conv.get("assignee_id") is None
    show = lambda visible: None if visible else HIDDEN  # noqa: E731
    return show(unheld and not closed), show(not closed and conv["status"] != "bot"), show(not closed), show(closed)
