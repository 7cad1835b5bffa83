"""The toolbar's search (GET /search) as the inbox lists it: who, a short snippet with the matched words marked,
when, and the conversation's state. A hit with a conversation is a row like the inbox's (a click opens it)."""

from __future__ import annotations

from datetime import tzinfo

from dash import html

from dash_app.workspace.inbox import STATUS_LABELS, contact_label, parse_time

KINDS = {"message": "mensagem", "contact": "contato", "protocol": "protocolo"}
SNIPPET_CHARS = 140  # one or two lines of the left column
HINT = ("Procure por palavras das mensagens (acentos opcionais), pelo nome do cliente ou por 4 ou mais dígitos "
        "de telefone, CPF/CNPJ ou protocolo.")


def abbreviated(snippet: str, highlights: list, size: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """At most `size` characters around the first match, with "…" where text was cut, and the marks moved."""
    if len(snippet) <= size:
        return snippet, [tuple(mark) for mark in highlights]
    first = highlights[0][0] if highlights else 0
    start = max(0, min(first - size // 4, len(snippet) - size))
    end = start + size
    text = ("…" if start else "") + snippet[start:end] + ("…" if end < len(snippet) else "")
    shift = start - (1 if start else 0)
    marks = [(max(a, start) - shift, min(b, end) - shift) for a, b in highlights if b > start and a < end]
    return text, marks


def marked(snippet: str, highlights: list) -> list:
    """The snippet as text and <mark> parts (Dash escapes the text: a snippet is never HTML)."""
    text, marks = abbreviated(snippet, highlights)
    parts, at = [], 0
    for start, end in sorted(marks):
        if start < at:
            continue
        if start > at:
            parts.append(text[at:start])
        parts.append(html.Mark(text[start:end]))
        at = end
    if at < len(text):
        parts.append(text[at:])
    return parts


def when(value: str | None, zone: tzinfo) -> str:
    moment = parse_time(value)
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M") if moment else ""


def hit_view(hit: dict, zone: tzinfo, selected: str | None) -> html.Button | html.Div:
    status = hit.get("status")
    meta = [html.Span(STATUS_LABELS.get(status, status), className=f"badge badge-{status}")] if status else []
    meta.append(html.Span(f"encontrado em: {KINDS.get(hit['kind'], hit['kind'])}", className="muted small"))
    contact = contact_label(hit["contact"]) if hit.get("contact") else "Cliente"
    body = [
        html.Div([html.Strong(contact, className="inbox-contact"), html.Span(when(hit["at"], zone),
                                                                              className="muted small")],
                 className="inbox-row-head"),
        html.Div(marked(hit["snippet"], hit.get("highlights") or []), className="inbox-preview search-snippet"),
        html.Div(meta, className="inbox-meta"),
    ]
    target = hit.get("conversation_id")
    if not target:  # a contact none of whose conversations the user may open
        return html.Div([*body, html.Div("Nenhuma conversa deste cliente está ao seu alcance.",
                                         className="muted small")], className="inbox-row search-hit")
    # assets/workspace.js opens it on click, as it does an inbox row
    return html.Button(body, className="inbox-row search-hit selected" if target == selected
                       else "inbox-row search-hit", type="button",
                       **{"data-conversation": target, "data-status": status or "none", "data-sla": "none"})


def results_view(page: dict, q: str, zone: tzinfo, selected: str | None) -> list:
    if not page["items"]:
        return [html.Div([html.Strong(f"Nenhum resultado para “{q}”."), html.P(HINT, className="small")],
                         className="empty-state", id="ws-search-empty")]
    total = page["total"]
    summary = f"{total} resultado{'s' if total != 1 else ''} para “{q}”, dos mais recentes aos mais antigos"
    return [html.Div(summary, className="muted small", id="ws-search-summary"),
            *[hit_view(hit, zone, selected) for hit in page["items"]]]
