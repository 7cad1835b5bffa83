"""A conversation's system events (GET /conversations/{id}/events) as the agent reads them: one centred grey line
each, in Portuguese ("Transferida para Financeiro por Ana — nota: ..."), between the messages."""

from __future__ import annotations

from dash import html

from dash_app.pages.ai_sgp import reason_label

BY_KIND = {"bot": "pelo robô", "system": "automaticamente"}
HANDBACK_REASONS = {"phone_attendant_silent": "o atendente do celular parou de responder"}


def _by(event: dict) -> str:
    if event.get("actor_name"):
        return f"por {event['actor_name']}"
    return BY_KIND.get(event.get("actor_kind") or "", "")


def _with(text: str, label: str, value: str | None) -> str:
    return f"{text} — {label}: {value}" if value else text


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _transfer(event: dict) -> str:
    target = event.get("assignee_name") or event.get("team_name") or "a fila geral"
    return _with(_join(f"Transferida para {target}", _by(event)), "nota", event.get("reason"))


def _handoff(event: dict) -> str:
    queue = f"à fila {event['team_name']}" if event.get("team_name") else "à fila geral"
    who = "pelo robô" if event.get("actor_kind") in ("bot", None) else _by(event)
    return _with(_join("Encaminhada", who, queue), "motivo", reason_label(event.get("reason")))


def _handback(event: dict) -> str:
    why = HANDBACK_REASONS.get(event.get("reason") or "")
    return f"Devolvida ao robô: {why}" if why else _join("Devolvida ao robô", _by(event))


def _answered(event: dict) -> str:
    text = f"O cliente avaliou o atendimento: {event.get('score')} de 5"
    return f"{text} — “{event['comment']}”" if event.get("comment") else text


TEXTS = {
    "handoff": _handoff,
    "take": lambda e: f"{e['actor_name']} assumiu a conversa" if e.get("actor_name") else "Conversa assumida",
    "assign": lambda e: _join(f"Atribuída a {e.get('assignee_name') or 'um atendente'}", _by(e)),
    "transfer": _transfer,
    "handback": _handback,
    "close": lambda e: _with(_join("Encerrada", _by(e)), "motivo", e.get("reason")),
    "reopen": lambda e: _join("Reaberta", _by(e)),
    "phone_takeover": lambda e: "Atendida pelo celular da empresa (o robô ficou em silêncio)",
    "csat_asked": lambda e: "Pesquisa de satisfação enviada ao cliente",
    "csat_answered": _answered,
}


def event_text(event: dict) -> str:
    render = TEXTS.get(event.get("kind") or "")
    return render(event) if render else f"Evento: {event.get('kind')}"


def event_view(event: dict, when: str) -> html.Div:
    return html.Div(html.Span([event_text(event), html.Span(f" · {when}", className="event-time")],
                              className="event-line"),
                    className="msg msg-event", **{"data-kind": "event", "data-event": event.get("kind")})
