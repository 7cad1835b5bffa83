"""Cliente: the panel beside the chat. The conversation's verified SGP customer (contracts, plan, situation, open
invoices with "Enviar de novo", the connection now, the tickets opened in this conversation), as the API reads it
from the tenant's SGP (GET /conversations/{id}/customer); an unverified contact shows "Não verificado" and no
data. Reloads when the selected conversation changes and when a live event about it arrives."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import dash
import flask
from dash import ALL, Input, Output, State, dcc, html

from dash_app.auth import require_user
from dash_app.workspace.client import DETAILS, ApiClient, ApiError, SessionExpired
from dash_app.workspace.tokens import SESSION_KEY, TokenStore

NO_TOKEN = "O atendimento não está conectado à API do NioChat. Saia e entre de novo."
EXPIRED = "Sua sessão expirou: entre de novo."
SITUATIONS = {"ativo": "Ativo", "suspenso": "Suspenso", "reduzido": "Velocidade reduzida", "cancelado": "Cancelado"}
CONNECTIONS = {"online": ("Online", "open"), "offline": ("Offline", "closed"), "manutencao": ("Em manutenção",
               "waiting"), "suspenso": ("Bloqueada (contrato suspenso)", "waiting")}
# Live events that never change the customer (each reload asks the SGP again): messages and notes coming and going.
# A bot turn that binds a customer or opens a ticket ends with "conversation.updated".
QUIET_EVENTS = {"message.created", "message.sent", "message.updated", "note.created"}
NOT_VERIFIED = ("O robô ainda não confirmou quem é este contato (telefone cadastrado no contrato ou segundo "
                "fator). Nenhum dado do SGP é mostrado.")


def layout() -> html.Div:
    """The panel's slot in the workspace's grid."""
    return html.Div([
        dcc.Store(id="ws-customer-sent", data=0),
        html.H3("Cliente", className="customer-title"),
        html.Div(id="ws-customer-feedback", role="status"),
        html.Div(id="ws-customer", className="customer-body"),
    ], className="panel ws-customer", id="ws-customer-panel")


def _token(tokens: TokenStore) -> str | None:
    return tokens.get(flask.session.get(SESSION_KEY))


def _refusal(exc: ApiError) -> str:
    """The API's own sentence when it wrote one for the agent (these routes' refusals are Portuguese)."""
    if exc.status in (404, 409, 502) and exc.detail and exc.detail not in DETAILS:
        return exc.detail
    return exc.message


def money(amount) -> str:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    whole, cents = f"{value:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def _day(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return str(value)


def _when(value: str, zone: ZoneInfo) -> str:
    try:
        return datetime.fromisoformat(value).astimezone(zone).strftime("%d/%m %H:%M")
    except (TypeError, ValueError):
        return str(value)


def _section(title: str, items: list, empty: str) -> html.Div:
    return html.Div([html.H4(title), *(items or [html.Div(empty, className="muted small")])],
                    className="customer-section")


def _contract(contract: dict) -> html.Div:
    situation = contract.get("situation", "")
    head = [html.Strong(f"Contrato {contract['id']}"),
            html.Span(SITUATIONS.get(situation, situation), className=f"badge situation-{situation}")]
    if contract.get("bound"):
        head.append(html.Span("desta conversa", className="badge badge-team"))
    lines = [html.Div(head, className="inbox-meta")]
    if contract.get("plan"):
        lines.append(html.Div(["Plano: ", html.Strong(contract["plan"])], className="small"))
    if contract.get("address"):
        lines.append(html.Div(contract["address"], className="muted small"))
    connection = contract.get("connection")
    if connection:
        label, tone = CONNECTIONS.get(connection["status"], (connection["status"], "bot"))
        detail = [html.Span(f" {connection['detail']}", className="muted small")] if connection.get("detail") else []
        lines.append(html.Div(["Conexão agora: ", html.Span(label, className=f"badge badge-{tone}"), *detail],
                              className="small customer-connection"))
    return html.Div(lines, className="customer-item")


def _invoice(invoice: dict) -> html.Div:
    overdue = invoice.get("status") == "vencida"
    due = _day(invoice.get("due_date"))
    return html.Div([
        html.Div([html.Strong(money(invoice.get("amount"))),
                  html.Span("Vencida" if overdue else "Em aberto",
                            className="badge badge-closed" if overdue else "badge badge-waiting")],
                 className="inbox-meta"),
        html.Div(f"{'venceu' if overdue else 'vence'} em {due} · contrato {invoice.get('contract_id')}",
                 className="muted small"),
        html.Button("Enviar de novo", id={"type": "ws-resend", "invoice": invoice["id"]}, n_clicks=0,
                    className="action", title="Envia de novo ao cliente o PIX e a linha digitável desta fatura"),
    ], className="customer-item")


def view(body: dict, zone: ZoneInfo) -> list:
    if not body.get("verified"):
        return [html.Span("Não verificado", className="badge badge-closed", id="ws-customer-unverified"),
                html.P(NOT_VERIFIED, className="muted small")]
    parts = [html.Div([html.Strong(body.get("name") or "Cliente"),
                       html.Span("Verificado", className="badge badge-open")], className="inbox-meta"),
             html.Div(f"CPF/CNPJ {body['document']}" if body.get("document") else "", className="muted small")]
    if body.get("error"):
        parts.append(html.Div(body["error"], className="error", role="alert", id="ws-customer-error"))
    if body.get("contracts") is not None:
        parts.append(_section("Contratos", [_contract(c) for c in body["contracts"]], "Nenhum contrato."))
    if body.get("invoices") is not None:
        parts.append(_section("Faturas em aberto", [_invoice(i) for i in body["invoices"]],
                              "Nenhuma fatura em aberto."))
    tickets = [html.Div([html.Strong(t["protocol"]), html.Span(f" · {_when(t['opened_at'], zone)}",
                                                               className="muted small")], className="small")
               for t in body.get("tickets") or []]
    parts.append(_section("Chamados desta conversa", tickets, "Nenhum chamado aberto nesta conversa."))
    return parts


def register(app, deps) -> None:
    api: ApiClient = deps.api
    tokens: TokenStore = deps.tokens

    @app.callback(Output("ws-customer", "children"),
                  Input("ws-selected", "data"), Input("ws-event", "data"), Input("ws-customer-sent", "data"))
    def show_customer(selected, event, _sent):
        user = require_user()
        if dash.ctx.triggered_id == "ws-event" and isinstance(event, dict) and selected:
            if event.get("conversation_id") not in (None, selected) or event.get("type") in QUIET_EVENTS:
                raise dash.exceptions.PreventUpdate  # another conversation, or nothing the SGP would answer anew
        if not selected:
            return html.Div("Escolha uma conversa para ver o cliente.", className="muted small")
        token = _token(tokens)
        if token is None:
            return html.Div(NO_TOKEN, className="error", role="alert")
        try:
            body = api.get(token, f"/conversations/{selected}/customer")
        except SessionExpired:
            return html.Div(EXPIRED, className="error", role="alert")
        except ApiError as exc:
            return html.Div(_refusal(exc), className="error", role="alert")
        return view(body, ZoneInfo(user.timezone))

    @app.callback(Output("ws-customer-feedback", "children"), Output("ws-customer-sent", "data"),
                  Input({"type": "ws-resend", "invoice": ALL}, "n_clicks"),
                  State("ws-selected", "data"), State("ws-customer-sent", "data"), prevent_initial_call=True)
    def send_again(_clicks, selected, sent):
        require_user()
        clicked = dash.ctx.triggered_id
        if not isinstance(clicked, dict) or not dash.ctx.triggered or not dash.ctx.triggered[0]["value"]:
            raise dash.exceptions.PreventUpdate  # the panel was redrawn, nobody clicked
        token = _token(tokens)
        if token is None or not selected:
            return html.Div(NO_TOKEN if token is None else "Escolha uma conversa primeiro.", className="error",
                            role="alert"), dash.no_update
        try:
            queued = api.post(token, f"/conversations/{selected}/invoices/{clicked['invoice']}/send")
        except SessionExpired:
            return html.Div(EXPIRED, className="error", role="alert"), dash.no_update
        except ApiError as exc:
            return html.Div(_refusal(exc), className="error", role="alert"), (sent or 0) + 1
        return (html.Div(f"Fatura enviada de novo ao cliente: valor, PIX e linha digitável ({len(queued)} mensagens).",
                         className="notice", id="ws-customer-sent-ok"), (sent or 0) + 1)
