"""Configurações do atendimento: the teams and their members, the labels, the quick replies and the first-response
target, kept by the tenant's admins (issue #18). Everything goes through the API with the session's token; the
API's role checks decide (admins change, managers only read), and the page shows its refusals in Portuguese.
Agents never get here: the guard sends them to the workspace and the callbacks answer 403."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html

from dash_app.auth import SessionUser, current_user, require_tenant, require_user
from dash_app.workspace import settings_views as views
from dash_app.workspace.admin_text import admin_message
from dash_app.workspace.client import ApiClient, ApiError, SessionExpired
from dash_app.workspace.session import NO_TOKEN, NoToken, relogin, session_token
from dash_app.workspace.tokens import TokenStore

PATH, NAME, ORDER = "/atendimento/configuracoes", "Configurações", 90
TITLE = "Configurações do atendimento"
TABLES: list = []
# The API's limits for the first-response target (api/schemas/settings.py): at least a minute, at most a day.
TARGET_MIN, TARGET_MAX = 1, 24 * 60
WRITERS = frozenset({"admin", "superadmin"})

TEAM_ACTIONS = ("cfg-team-create", "cfg-team-rename", "cfg-team-delete", "cfg-member-add", "cfg-member-remove")
LABEL_ACTIONS = ("cfg-label-create", "cfg-label-save", "cfg-label-delete")
REPLY_ACTIONS = ("cfg-reply-create", "cfg-reply-save", "cfg-reply-delete")


def _input(component_id: str, placeholder: str, **props) -> dcc.Input:
    return dcc.Input(id=component_id, placeholder=placeholder, **{"className": "ws-input", **props})


def _button(component_id: str, text: str, kind: str = "") -> html.Button:
    return html.Button(text, id=component_id, n_clicks=0, className=f"action {kind}".strip())


def _section(title: str, hint: str, *children) -> html.Section:
    return html.Section([html.H3(title), html.P(hint, className="muted small"), *children], className="panel cfg-panel")


def layout(**_query):
    user = current_user()
    if user is None or not user.sees_dashboards:
        return html.Div("As configurações do atendimento são para administradores e gestores.", className="error",
                        id="cfg-refused")
    note = None if user.role in WRITERS else html.Div(
        "Você pode consultar estas configurações; somente administradores as alteram (a API recusa as "
        "alterações de outros perfis).", className="notice", id="cfg-read-only")
    return html.Div([
        dcc.Store(id="cfg-teams-done", data=0),
        dcc.Store(id="cfg-labels-done", data=0),
        dcc.Store(id="cfg-replies-done", data=0),
        dcc.Store(id="cfg-target-done", data=0),
        dcc.Store(id="cfg-labels-data"),
        dcc.Store(id="cfg-replies-data"),
        dcc.Store(id="cfg-teams-data"),
        html.Div([html.H2(TITLE), html.A("← voltar ao atendimento", href="/atendimento", className="muted")],
                 className="ws-head"),
        note,
        html.Div([_teams_section(), _labels_section()], className="grid-2 cfg-grid"),
        _replies_section(),
        _target_section(),
    ], className="workspace-settings")


def _teams_section() -> html.Section:
    return _section(
        "Equipes", "As filas em que as conversas esperam um atendente. O identificador é o que o robô usa para "
        "transferir; o nome pode mudar.",
        html.Div(id="cfg-teams-list"),
        html.Div([
            dcc.Dropdown(id="cfg-team-pick", placeholder="Equipe a alterar…", className="ws-filter"),
            _input("cfg-team-name", "Nome (ex.: Suporte técnico)", maxLength=200),
            _input("cfg-team-slug", "Identificador (ex.: suporte)", maxLength=63),
        ], className="cfg-form"),
        html.Div([_button("cfg-team-create", "Criar equipe", "primary"), _button("cfg-team-rename", "Renomear"),
                  _button("cfg-team-delete", "Excluir", "danger")], className="action-row"),
        html.Div([
            dcc.Dropdown(id="cfg-member-user", placeholder="Pessoa…", className="ws-filter"),
            _button("cfg-member-add", "Adicionar à equipe"), _button("cfg-member-remove", "Remover da equipe"),
        ], className="action-row"),
        html.Div(id="cfg-teams-feedback", role="status"),
    )


def _labels_section() -> html.Section:
    return _section(
        "Etiquetas", "Marcas que os atendentes põem nas conversas (ex.: Financeiro, Urgente).",
        html.Div(id="cfg-labels-list"),
        html.Div([
            dcc.Dropdown(id="cfg-label-pick", placeholder="Etiqueta a alterar…", className="ws-filter"),
            _input("cfg-label-name", "Nome (ex.: Urgente)", maxLength=50),
            _input("cfg-label-color", "Cor: #rrggbb (ex.: #d1495b)", maxLength=7),
        ], className="cfg-form"),
        html.Div([_button("cfg-label-create", "Criar etiqueta", "primary"),
                  _button("cfg-label-save", "Salvar alterações"), _button("cfg-label-delete", "Excluir", "danger")],
                 className="action-row"),
        html.Div(id="cfg-labels-feedback", role="status"),
    )


def _replies_section() -> html.Section:
    return _section(
        "Respostas rápidas", "O atendente digita /atalho e envia o texto pronto. " + views.VARIABLES_HELP,
        html.Div(id="cfg-replies-list", className="table-panel"),
        html.Div([
            html.Div([
                dcc.Dropdown(id="cfg-reply-pick", placeholder="Escolha uma resposta para alterar…",
                             className="ws-filter"),
                html.Div([
                    _input("cfg-reply-shortcut", "Atalho (ex.: segunda-via)", maxLength=41),
                    dcc.Dropdown(id="cfg-reply-team", placeholder="Todas as equipes", clearable=True,
                                 className="ws-filter"),
                ], className="cfg-form"),
                _input("cfg-reply-media", "Mídia (opcional): https://…/arquivo.pdf, .jpg, .png ou .webp",
                       maxLength=2000, className="ws-input cfg-wide"),
                dcc.Textarea(id="cfg-reply-text", className="composer", maxLength=4096,
                             placeholder="Olá {primeiro_nome}! Sou {agente}; seu protocolo é {protocolo}."),
                html.Div([_button("cfg-reply-create", "Criar resposta", "primary"),
                          _button("cfg-reply-save", "Salvar alterações"),
                          _button("cfg-reply-delete", "Excluir", "danger")], className="action-row"),
                html.Div(id="cfg-replies-feedback", role="status"),
            ], className="cfg-reply-form"),
            html.Div([html.H4("Pré-visualização"), html.Div(id="cfg-reply-preview")], className="cfg-preview"),
        ], className="cfg-reply-grid"),
    )


def _target_section() -> html.Section:
    return _section(
        "Meta de primeira resposta", f"Quanto tempo, depois da transferência para uma pessoa, o cliente pode esperar "
        f"a primeira resposta; o atendimento destaca quem espera mais. De {TARGET_MIN} a {TARGET_MAX} minutos.",
        html.Div(id="cfg-target-current"),
        html.Div([
            dcc.Input(id="cfg-target-minutes", type="number", min=TARGET_MIN, max=TARGET_MAX, step=1,
                      className="ws-input cfg-number"),
            html.Span("minutos", className="muted"),
            _button("cfg-target-save", "Salvar meta", "primary"),
        ], className="action-row"),
        html.Div(id="cfg-target-feedback", role="status"),
    )


# --- the callbacks ---------------------------------------------------------------------------------------------


def _ok(section: str, text: str) -> html.Div:
    return html.Div(text, className="notice", id=f"cfg-{section}-ok")


def _error(section: str, text: str) -> html.Div:
    return html.Div(text, className="error", role="alert", id=f"cfg-{section}-error")


def _clicked(actions: tuple[str, ...]) -> str:
    action = dash.ctx.triggered_id
    if action not in actions or not dash.ctx.triggered or not dash.ctx.triggered[0]["value"]:
        raise dash.exceptions.PreventUpdate
    return action


def _staff() -> SessionUser:
    """Admins and managers (superadmins too); an agent's callback is a 403, like the dashboards'."""
    require_tenant()
    return require_user()


def register(app, deps) -> None:
    api: ApiClient = deps.api
    tokens: TokenStore = deps.tokens

    def run(section: str, done, work):
        """Run `work(token)` -> success text; (feedback, done counter) with the API's answer either way."""
        keep = dash.no_update
        try:
            said = work(session_token(tokens))
        except NoToken:
            return _error(section, NO_TOKEN), keep
        except SessionExpired:
            return relogin(tokens, section), keep
        except ApiError as exc:  # the screen may be stale: show the current state with the refusal
            return _error(section, admin_message(exc)), (done or 0) + 1
        return _ok(section, said), (done or 0) + 1

    def listing(section: str, fetch, empty_outputs: int):
        try:
            return fetch(session_token(tokens))
        except NoToken:
            return (_error(section, NO_TOKEN), *[[]] * empty_outputs)
        except SessionExpired:
            return (relogin(tokens, section), *[[]] * empty_outputs)
        except ApiError as exc:
            return (_error(section, admin_message(exc)), *[[]] * empty_outputs)

    # --- Equipes -----------------------------------------------------------------------------------------------

    @app.callback(Output("cfg-teams-list", "children"), Output("cfg-team-pick", "options"),
                  Output("cfg-member-user", "options"), Output("cfg-reply-team", "options"),
                  Output("cfg-teams-data", "data"),
                  Input("cfg-teams-done", "data"))
    def show_teams(_done):
        _staff()

        def fetch(token):
            teams = api.get(token, "/teams")
            people = {user["id"]: user for user in api.get(token, "/users")}
            team_options = [{"label": f"{team['name']} ({team['slug']})", "value": team["id"]} for team in teams]
            user_options = [{"label": views.user_label(user), "value": user["id"]}
                            for user in people.values() if user["is_active"]]
            reply_teams = [{"label": team["name"], "value": team["id"]} for team in teams]
            return views.teams_table(teams, people), team_options, user_options, reply_teams, teams

        return listing("teams", fetch, 4)

    @app.callback(Output("cfg-team-name", "value"), Input("cfg-team-pick", "value"), State("cfg-teams-data", "data"),
                  prevent_initial_call=True)
    def fill_team(team_id, teams):
        _staff()
        return next((team["name"] for team in teams or [] if team["id"] == team_id), "")

    @app.callback(Output("cfg-teams-feedback", "children"), Output("cfg-teams-done", "data"),
                  *[Input(action, "n_clicks") for action in TEAM_ACTIONS],
                  State("cfg-team-pick", "value"), State("cfg-team-name", "value"), State("cfg-team-slug", "value"),
                  State("cfg-member-user", "value"), State("cfg-teams-done", "data"), prevent_initial_call=True)
    def act_on_teams(*args):
        _staff()
        team_id, name, slug, user_id, done = args[len(TEAM_ACTIONS):]
        action = _clicked(TEAM_ACTIONS)
        name, slug = (name or "").strip(), (slug or "").strip()
        keep = dash.no_update
        if action == "cfg-team-create" and not (name and slug):
            return _error("teams", "Para criar uma equipe, dê o nome e o identificador."), keep
        if action != "cfg-team-create" and not team_id:
            return _error("teams", "Escolha a equipe primeiro."), keep
        if action == "cfg-team-rename" and not name:
            return _error("teams", "Escreva o novo nome da equipe."), keep
        if action in ("cfg-member-add", "cfg-member-remove") and not user_id:
            return _error("teams", "Escolha a pessoa."), keep

        def work(token):
            if action == "cfg-team-create":
                created = api.post(token, "/teams", {"slug": slug, "name": name})
                return f"Equipe “{created['name']}” criada."
            if action == "cfg-team-rename":
                renamed = api.patch(token, f"/teams/{team_id}", {"name": name})
                return f"Equipe renomeada para “{renamed['name']}”."
            if action == "cfg-team-delete":
                api.delete(token, f"/teams/{team_id}")
                return "Equipe excluída (com as suas respostas rápidas)."
            return _membership(token, action == "cfg-member-add", team_id, user_id)

        return run("teams", done, work)

    def _membership(token: str, add: bool, team_id: str, user_id: str) -> str:
        path = f"/teams/{team_id}/members/{user_id}"
        team = api.put(token, path) if add else api.delete(token, path)
        name = next((person["name"] for person in api.get(token, "/users") if person["id"] == user_id), "A pessoa")
        return f"{name} {'está' if add else 'não está mais'} na equipe “{team['name']}”."

    # --- Etiquetas ---------------------------------------------------------------------------------------------

    @app.callback(Output("cfg-labels-list", "children"), Output("cfg-label-pick", "options"),
                  Output("cfg-labels-data", "data"), Input("cfg-labels-done", "data"))
    def show_labels(_done):
        _staff()

        def fetch(token):
            labels = api.get(token, "/labels")
            options = [{"label": label["name"], "value": label["id"]} for label in labels]
            return views.labels_table(labels), options, labels

        return listing("labels", fetch, 2)

    @app.callback(Output("cfg-label-name", "value"), Output("cfg-label-color", "value"),
                  Input("cfg-label-pick", "value"), State("cfg-labels-data", "data"), prevent_initial_call=True)
    def fill_label(label_id, labels):
        _staff()
        label = next((label for label in labels or [] if label["id"] == label_id), None)
        return (label["name"], label["color"]) if label else ("", "")

    @app.callback(Output("cfg-labels-feedback", "children"), Output("cfg-labels-done", "data"),
                  *[Input(action, "n_clicks") for action in LABEL_ACTIONS],
                  State("cfg-label-pick", "value"), State("cfg-label-name", "value"),
                  State("cfg-label-color", "value"), State("cfg-labels-done", "data"), prevent_initial_call=True)
    def act_on_labels(*args):
        _staff()
        label_id, name, color, done = args[len(LABEL_ACTIONS):]
        action = _clicked(LABEL_ACTIONS)
        name, color = (name or "").strip(), (color or "").strip()
        keep = dash.no_update
        if action == "cfg-label-create" and not name:
            return _error("labels", "Dê um nome à etiqueta."), keep
        if action != "cfg-label-create" and not label_id:
            return _error("labels", "Escolha a etiqueta primeiro."), keep
        body = {key: value for key, value in (("name", name), ("color", color)) if value}

        def work(token):
            if action == "cfg-label-create":
                created = api.post(token, "/labels", body)
                return f"Etiqueta “{created['name']}” criada."
            if action == "cfg-label-save":
                changed = api.patch(token, f"/labels/{label_id}", body)
                return f"Etiqueta “{changed['name']}” salva."
            api.delete(token, f"/labels/{label_id}")
            return "Etiqueta excluída (saiu de todas as conversas)."

        return run("labels", done, work)

    # --- Respostas rápidas -------------------------------------------------------------------------------------

    @app.callback(Output("cfg-replies-list", "children"), Output("cfg-reply-pick", "options"),
                  Output("cfg-replies-data", "data"), Input("cfg-replies-done", "data"),
                  Input("cfg-teams-data", "data"))
    def show_replies(_done, teams):
        _staff()
        team_names = {team["id"]: team["name"] for team in teams or []}

        def fetch(token):
            replies = api.get(token, "/quick-replies")
            options = [{"label": "/" + reply["shortcut"], "value": reply["id"]} for reply in replies]
            return views.replies_table(replies, team_names), options, replies

        return listing("replies", fetch, 2)

    @app.callback(Output("cfg-reply-shortcut", "value"), Output("cfg-reply-text", "value"),
                  Output("cfg-reply-team", "value"), Output("cfg-reply-media", "value"),
                  Input("cfg-reply-pick", "value"), State("cfg-replies-data", "data"), prevent_initial_call=True)
    def fill_reply(reply_id, replies):
        _staff()
        reply = next((reply for reply in replies or [] if reply["id"] == reply_id), None)
        if reply is None:
            return "", "", None, ""
        return reply["shortcut"], reply["text"], reply["team_id"], reply["media_url"] or ""

    @app.callback(Output("cfg-reply-preview", "children"), Input("cfg-reply-text", "value"))
    def preview(text):
        return views.preview(text, _staff().name)

    @app.callback(Output("cfg-replies-feedback", "children"), Output("cfg-replies-done", "data"),
                  *[Input(action, "n_clicks") for action in REPLY_ACTIONS],
                  State("cfg-reply-pick", "value"), State("cfg-reply-shortcut", "value"),
                  State("cfg-reply-text", "value"), State("cfg-reply-team", "value"),
                  State("cfg-reply-media", "value"), State("cfg-replies-done", "data"), prevent_initial_call=True)
    def act_on_replies(*args):
        _staff()
        reply_id, shortcut, text, team_id, media, done = args[len(REPLY_ACTIONS):]
        action = _clicked(REPLY_ACTIONS)
        keep = dash.no_update
        if action != "cfg-reply-create" and not reply_id:
            return _error("replies", "Escolha a resposta rápida primeiro."), keep
        body = {"shortcut": (shortcut or "").strip(), "text": (text or "").strip(), "team_id": team_id or None,
                "media_url": (media or "").strip() or None}
        if action != "cfg-reply-delete" and not (body["shortcut"] and body["text"]):
            return _error("replies", "Dê o atalho e o texto da resposta."), keep

        def work(token):
            if action == "cfg-reply-create":
                created = api.post(token, "/quick-replies", body)
                return f"Resposta rápida /{created['shortcut']} criada."
            if action == "cfg-reply-save":
                changed = api.patch(token, f"/quick-replies/{reply_id}", body)
                return f"Resposta rápida /{changed['shortcut']} salva."
            api.delete(token, f"/quick-replies/{reply_id}")
            return "Resposta rápida excluída."

        return run("replies", done, work)

    # --- Meta de primeira resposta -----------------------------------------------------------------------------

    @app.callback(Output("cfg-target-current", "children"), Output("cfg-target-minutes", "value"),
                  Input("cfg-target-done", "data"))
    def show_target(_done):
        user = _staff()
        if user.role not in WRITERS:  # the settings route is the admins'; the session knows the target
            minutes = user.first_response_minutes
            return html.Div(f"Meta atual: {minutes} min.", className="muted", id="cfg-target-now"), minutes
        try:
            minutes = api.get(session_token(tokens), "/settings")["first_response_target_minutes"]
        except NoToken:
            return _error("target", NO_TOKEN), None
        except SessionExpired:
            return relogin(tokens, "target"), None
        except ApiError as exc:
            return _error("target", admin_message(exc)), None
        return html.Div(f"Meta atual: {minutes} min.", className="muted", id="cfg-target-now"), minutes

    @app.callback(Output("cfg-target-feedback", "children"), Output("cfg-target-done", "data"),
                  Input("cfg-target-save", "n_clicks"), State("cfg-target-minutes", "value"),
                  State("cfg-target-done", "data"), prevent_initial_call=True)
    def save_target(_clicks, minutes, done):
        _staff()
        _clicked(("cfg-target-save",))
        if isinstance(minutes, float) and minutes.is_integer():
            minutes = int(minutes)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not TARGET_MIN <= minutes <= TARGET_MAX:
            return _error("target", f"A meta é um número inteiro de {TARGET_MIN} a {TARGET_MAX} minutos."), \
                dash.no_update

        def work(token):
            saved = api.patch(token, "/settings", {"first_response_target_minutes": minutes})
            return f"Meta de primeira resposta: {saved['first_response_target_minutes']} min."

        return run("target", done, work)
