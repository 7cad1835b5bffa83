"""A conversation's whole history as the agent reads it: customer, bot, agent and system told apart; images inline,
audio with a player (and its transcript), documents as links; each outbound message's delivery state (a failed one
with its reason and a button to send it again); internal notes clearly marked (they come from the notes route and
are never messages: nothing sends them); the conversation's system events as centred grey lines."""

from __future__ import annotations

from dash import html

from dash_app.workspace.events import event_view
from dash_app.workspace.inbox import parse_time

DELIVERY = {"queued": "na fila", "sending": "enviando", "sent": "enviada", "delivered": "entregue", "read": "lida",
            "failed": "falhou"}
FAILURES = {"number_not_on_whatsapp": "o número não tem WhatsApp",
            "provider reported delivery failure": "o WhatsApp informou que não entregou"}
WHO = {"customer": "Cliente", "bot": "Robô", "system": "Sistema"}
SAFE_SCHEMES = ("https://", "http://")
INLINE_IMAGES = ("data:image/jpeg;base64,", "data:image/png;base64,", "data:image/webp;base64,")


def safe_url(url: str | None) -> str | None:
    """Only web addresses become links and players (a javascript: or data: URL from a payload never does)."""
    return url if isinstance(url, str) and url.lower().startswith(SAFE_SCHEMES) else None


def inline_image(url: str | None) -> str | None:
    """An image an agent attached (sent inline, as a data: URL): shown as a picture only for the raster types the
    API accepts (never SVG, never a page)."""
    return url if isinstance(url, str) and url.startswith(INLINE_IMAGES) else None


def when(value: str | None, zone) -> str:
    moment = parse_time(value)
    return moment.astimezone(zone).strftime("%d/%m %H:%M") if moment else ""


def failure_reason(error: str | None) -> str:
    if not error:
        return "motivo não informado"
    return FAILURES.get(error, error)


def _content(message: dict) -> list:
    kind, text, url = message["content_type"], message.get("text"), safe_url(message.get("media_url"))
    if kind == "image" and url is None:
        url = inline_image(message.get("media_url"))
    parts: list = []
    if kind == "image" and url:
        image = html.Img(src=url, className="msg-image", alt=text or "imagem")
        parts.append(html.A(image, href=url, target="_blank", rel="noopener noreferrer") if safe_url(url) else image)
    elif kind == "audio":
        parts.append(html.Audio(src=url, controls=True, className="msg-audio") if url
                     else html.Span("Áudio (arquivo indisponível)", className="muted"))
        if message.get("transcript"):
            parts.append(html.Div([html.Span("Transcrição: ", className="muted"), message["transcript"]],
                                  className="msg-transcript"))
    elif kind == "video" and url:
        parts.append(html.Video(src=url, controls=True, className="msg-video"))
    elif kind in ("document", "image", "video", "sticker"):
        name = message.get("media_file_name") or {"document": "documento"}.get(kind, kind)
        link = html.A(f"Documento: {name}", href=url, target="_blank", rel="noopener noreferrer", className="msg-doc")
        inline = str(message.get("media_url") or "").startswith("data:")  # attached by an agent: sent as it was
        parts.append(link if url else html.Span(f"Documento: {name}" if inline else f"{name} (arquivo indisponível)",
                                                className="msg-doc" if inline else "muted"))
    if text and kind != "audio":
        parts.append(html.Div(text, className="msg-text"))
    elif text and kind == "audio" and not message.get("transcript"):
        parts.append(html.Div(text, className="msg-text"))
    if not parts:
        parts.append(html.Div("—", className="msg-text muted"))
    return parts


def _delivery(message: dict) -> html.Span | None:
    if message["direction"] != "outbound":
        return None
    state = message["status"]
    label = DELIVERY.get(state, state)
    if state == "failed":
        label = f"falhou: {failure_reason(message.get('error'))}"
    return html.Span(label, className=f"delivery delivery-{state}", title=message.get("error") or "")


def message_view(message: dict, names: dict[str, str], me_id: str, zone) -> html.Div:
    kind = message["sender_kind"]
    if kind == "agent":
        sender = message.get("sender_user_id")
        who = "Você" if sender == me_id else names.get(sender or "", "Atendente")
    else:
        who = WHO.get(kind, kind)
    footer = [html.Span(who, className="msg-who"), html.Span(when(message["created_at"], zone), className="msg-time")]
    if (delivery := _delivery(message)) is not None:
        footer.append(delivery)
    if message.get("edited_at"):
        footer.append(html.Span("editada", className="muted small"))
    if message["direction"] == "outbound" and message["status"] == "failed":
        footer.append(html.Button("Tentar de novo", id={"type": "ws-retry", "message": message["id"]}, n_clicks=0,
                                  className="action retry", title="Enviar esta mensagem outra vez"))
    return html.Div(html.Div([*_content(message), html.Div(footer, className="msg-footer")],
                             className="msg-bubble"),
                    className=f"msg msg-{kind}", **{"data-kind": kind, "data-status": message["status"]})


def note_view(note: dict, zone) -> html.Div:
    return html.Div(html.Div([
        html.Div("Nota interna · só a equipe vê, nunca é enviada ao cliente", className="note-label"),
        html.Div(note["text"], className="msg-text"),
        html.Div([html.Span(note.get("author_name") or "Atendente", className="msg-who"),
                  html.Span(when(note["created_at"], zone), className="msg-time")], className="msg-footer"),
    ], className="msg-bubble"), className="msg msg-note", **{"data-kind": "note"})


def timeline(messages: list[dict], notes: list[dict], names: dict[str, str], me_id: str, zone,
             events: list[dict] = ()) -> list:
    items = [(m["created_at"], 0, message_view(m, names, me_id, zone)) for m in messages]
    items += [(n["created_at"], 1, note_view(n, zone)) for n in notes]
    items += [(e["at"], 2, event_view(e, when(e["at"], zone))) for e in events]
    items.sort(key=lambda item: (parse_time(item[0]), item[1]))
    return [view for _, _, view in items] or [html.Div("Nenhuma mensagem ainda.", className="muted")]
