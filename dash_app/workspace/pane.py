"""The conversation pane's own pieces, beside the history and the actions of dash_app/pages/workspace.py: the
conversation's labels (chips with a remove button, a list to add one), sending a failed message again, the
composer's quick replies and emoji. Everything goes through the API (labels, retry, quick replies routes)."""

from __future__ import annotations

import re
from collections.abc import Callable

import dash
from dash import ALL, Input, Output, State, dcc, html

from dash_app.auth import require_user

# Common in customer service on WhatsApp in Brazil: greeting, thanks, agreement, waiting, done.
EMOJI = ("🙂", "😊", "😉", "👍", "🙏", "👋", "✅", "⏳", "📄", "💳", "📶", "🔧", "⚠️", "❤️")
PREVIEW_CHARS = 60
# As the API checks them (api/engine/attachments.py, which decides): said here in Portuguese before the upload.
ATTACH_TYPES = {"image/jpeg": "JPG", "image/png": "PNG", "image/webp": "WEBP", "application/pdf": "PDF"}
ATTACH_MAX_BYTES = 700_000
VARIABLE = re.compile(r"\{[a-z_]+\}")

# attempt(where, work): (work(token), None), or (None, the component to show instead: an error, a redirect to login
# unless `where` is None)
Attempt = Callable[[str | None, Callable[[str], object]], tuple[object, object]]


def notice() -> html.Div:
    """What the pane's own actions (labels, retry) answered; the actions' answers stay in ws-feedback."""
    return html.Div(id="ws-pane-notice", role="status")


def labels_row() -> html.Div:
    return html.Div([
        html.Div(id="ws-labels", className="label-chips"),
        dcc.Dropdown(id="ws-label-add", placeholder="Adicionar etiqueta…", className="ws-filter label-add",
                     clearable=False),
    ], id="ws-label-row", className="label-row", style={"display": "none"})


def composer_tools() -> html.Div:
    return html.Div([
        dcc.Store(id="ws-quick-texts", data={}),
        dcc.Dropdown(id="ws-quick-reply", placeholder="Respostas rápidas (ou digite /atalho)…",
                     className="ws-filter quick-reply", optionHeight=48),
        dcc.Upload(id="ws-attach", children=html.Span("📎 Anexar imagem ou PDF", className="action"),
                   accept=",".join(ATTACH_TYPES), multiple=False, className="attach"),
        html.Div(id="ws-attach-name", className="attach-name"),
        html.Div([html.Button(emoji, id={"type": "ws-emoji", "emoji": emoji}, n_clicks=0, className="emoji",
                              title="Inserir no texto") for emoji in EMOJI],
                 className="emoji-palette", id="ws-emoji-palette"),
    ], className="composer-tools")


def chip(label: dict) -> html.Span:
    return html.Span([
        html.Span(label["name"]),
        html.Button("×", id={"type": "ws-label-remove", "label": label["id"]}, n_clicks=0, className="chip-remove",
                    title=f"Remover a etiqueta {label['name']}"),
    ], className="label-chip removable", style={"borderColor": label["color"], "color": label["color"]},
        **{"data-label": label["id"]})


def quick_reply_option(reply: dict) -> dict:
    text = " ".join(reply["text"].split())
    preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"
    attached = " 📎" if reply.get("media_url") else ""
    return {"label": f"/{reply['shortcut']}{attached} — {preview}", "value": reply["shortcut"]}


def inserted_text(reply: dict) -> dict:
    """What choosing it puts in the composer: its text, to read and edit before sending (as in Chatwoot and
    Whaticket); a reply with variables or a file goes as "/shortcut", which the API fills in and attaches."""
    whole = bool(reply.get("media_url")) or bool(VARIABLE.search(reply["text"]))
    return {"text": f"/{reply['shortcut']}" if whole else reply["text"], "whole": whole}


class AttachmentRefused(ValueError):
    """The file cannot go (the message says why, in Portuguese)."""


def attachment_body(contents: str | None, file_name: str | None) -> dict | None:
    """The reply's attachment from the upload ("data:<type>;base64,<data>"), or None when nothing is attached."""
    if not contents:
        return None
    header, _, data = contents.partition(",")
    mime = header.removeprefix("data:").removesuffix(";base64")
    if mime not in ATTACH_TYPES:
        raise AttachmentRefused(f"Só é possível anexar imagens ({', '.join(list(ATTACH_TYPES.values())[:3])}) "
                                "e PDF.")
    if len(data) * 3 // 4 > ATTACH_MAX_BYTES:
        raise AttachmentRefused(f"O arquivo passa de {ATTACH_MAX_BYTES // 1000} KB; envie um menor.")
    return {"file_name": (file_name or "arquivo").strip()[:200], "mime": mime, "data": data}


def _clicked() -> bool:
    return bool(dash.ctx.triggered) and bool(dash.ctx.triggered[0]["value"])


def register(app, api, attempt: Attempt) -> None:
    @app.callback(Output("ws-labels", "children"), Output("ws-label-add", "options"), Output("ws-label-row", "style"),
                  Input("ws-selected", "data"), Input("ws-event", "data"), Input("ws-done", "data"))
    def show_labels(selected, event, _done):
        require_user()
        if dash.ctx.triggered_id == "ws-event" and isinstance(event, dict) and selected:
            if event.get("conversation_id") not in (None, selected):
                raise dash.exceptions.PreventUpdate
        if not selected:
            return [], [], {"display": "none"}
        found, problem = attempt(None, lambda token: (api.get(token, f"/conversations/{selected}"),
                                                          api.get(token, "/labels")))
        if problem is not None:
            return [], [], {"display": "none"}  # the history's callback says what went wrong
        conv, every = found
        present = {label["id"] for label in conv.get("labels") or []}
        chips = [chip(label) for label in conv.get("labels") or []] or [
            html.Span("Sem etiquetas", className="muted small")]
        options = [{"label": label["name"], "value": label["id"]} for label in every if label["id"] not in present]
        return chips, options, {}

    @app.callback(Output("ws-pane-notice", "children"),
                  Output("ws-done", "data", allow_duplicate=True), Output("ws-label-add", "value"),
                  Input("ws-label-add", "value"), Input({"type": "ws-label-remove", "label": ALL}, "n_clicks"),
                  State("ws-selected", "data"), State("ws-done", "data"), prevent_initial_call=True)
    def change_label(adding, _removes, selected, done):
        require_user()
        trigger = dash.ctx.triggered_id
        if not selected or not _clicked():
            raise dash.exceptions.PreventUpdate
        if trigger == "ws-label-add":
            work = lambda token: api.post(token, f"/conversations/{selected}/labels", {"label_id": adding})  # noqa: E731
            said = "Etiqueta adicionada."
        elif isinstance(trigger, dict) and trigger.get("type") == "ws-label-remove":
            work = lambda token: api.delete(token, f"/conversations/{selected}/labels/{trigger['label']}")  # noqa: E731
            said = "Etiqueta removida."
        else:
            raise dash.exceptions.PreventUpdate
        _, problem = attempt("label", work)
        feedback = problem if problem is not None else html.Div(said, className="notice", id="ws-pane-ok")
        return feedback, (done or 0) + 1, None

    @app.callback(Output("ws-pane-notice", "children", allow_duplicate=True),
                  Output("ws-done", "data", allow_duplicate=True),
                  Input({"type": "ws-retry", "message": ALL}, "n_clicks"),
                  State("ws-selected", "data"), State("ws-done", "data"), prevent_initial_call=True)
    def retry(_clicks, selected, done):
        require_user()
        trigger = dash.ctx.triggered_id
        if not selected or not isinstance(trigger, dict) or not _clicked():
            raise dash.exceptions.PreventUpdate
        _, problem = attempt("retry", lambda token: api.post(
            token, f"/conversations/{selected}/messages/{trigger['message']}/retry"))
        # refused or not, the history shows the message as it is now
        feedback = problem if problem is not None else html.Div(
            "Mensagem colocada na fila para ser enviada de novo.", className="notice", id="ws-pane-ok")
        return feedback, (done or 0) + 1

    @app.callback(Output("ws-quick-reply", "options"), Output("ws-quick-texts", "data"),
                  Input("ws-live-config", "data"))
    def quick_replies(_config):
        require_user()
        replies, problem = attempt(None, lambda token: api.get(token, "/quick-replies"))
        if problem is not None:
            return [], {}
        return ([quick_reply_option(reply) for reply in replies],
                {reply["shortcut"]: inserted_text(reply) for reply in replies})

    @app.callback(Output("ws-attach-name", "children"), Input("ws-attach", "contents"),
                  State("ws-attach", "filename"))
    def show_attachment(contents, file_name):
        if not contents:
            return []
        return [html.Span(f"📎 {file_name or 'arquivo'}", id="ws-attached"),
                html.Button("×", id="ws-attach-clear", n_clicks=0, className="chip-remove", title="Tirar o anexo")]

    @app.callback(Output("ws-attach", "contents", allow_duplicate=True), Output("ws-attach", "filename"),
                  Input("ws-attach-clear", "n_clicks"), prevent_initial_call=True)
    def clear_attachment(clicks):
        if not clicks:
            raise dash.exceptions.PreventUpdate
        return None, None

    # Inserted at the cursor in the browser (assets/composer.js): no round trip, the agent's text kept as typed.
    app.clientside_callback(
        dash.ClientsideFunction("composer", "insert"),
        Output("ws-composer", "value", allow_duplicate=True), Output("ws-quick-reply", "value"),
        Input({"type": "ws-emoji", "emoji": ALL}, "n_clicks"), Input("ws-quick-reply", "value"),
        State("ws-quick-texts", "data"), State("ws-composer", "value"), prevent_initial_call=True)
