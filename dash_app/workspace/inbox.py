"""The inbox's views as API queries, and how a row reads: the contact, the last message, the waiting time against
the tenant's first-response target. The API decides what each user may see; these are only its filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dash import html

from dash_app.workspace import paging
from dash_app.workspace.client import ApiClient

VIEWS = {"aguardando": "Aguardando atendimento", "minhas": "Minhas", "equipes": "Minhas equipes", "todas": "Todas"}
STATUS_LABELS = {"bot": "Com o robô", "waiting": "Aguardando", "open": "Em atendimento", "closed": "Encerrada"}
SENDERS = {"customer": "Cliente", "bot": "Robô", "agent": "Atendente", "system": "Sistema"}
# Words, not emoji: not every browser/OS has a font with them (dash_app/theme.py)
MEDIA = {"image": "Imagem", "audio": "Áudio", "document": "Documento", "video": "Vídeo", "sticker": "Figurinha",
         "location": "Localização", "contact": "Contato"}
NEAR = 0.75  # of the target: the clock turns amber
LIST_LIMIT = 100  # rows per page
NOTIFY_LIMIT = 50  # waiting conversations compared between refreshes, to notify the new ones
UNREAD_CAP = 100  # the API counts unread messages up to this (api/routes/conversation_queries.py)


@dataclass(frozen=True)
class Filters:
    team_id: str | None = None
    channel_id: str | None = None
    status: str | None = None
    label_id: str | None = None


def views_for(role: str) -> list[str]:
    return [*VIEWS][:3] + (["todas"] if role != "agent" else [])


def query(view: str, user_id: str, my_teams: list[str], filters: Filters) -> dict | None:
    """The view as one API list query, in the order the inbox shows it (waiting ones oldest first, as a queue is
    worked, then the rest by newest activity), so the API's offset pages through exactly what is shown and its
    total is the view's. None: nothing can match (a status the view never holds, no team of one's own)."""
    common = {"channel_id": filters.channel_id, "label_id": filters.label_id}
    if view == "aguardando":
        if filters.status not in (None, "waiting"):
            return None
        return {**common, "status": "waiting", "team_id": filters.team_id, "order": "waiting"}
    if view == "minhas":
        return {**common, "assignee_id": user_id, "status": filters.status or "open", "team_id": filters.team_id,
                "order": "queue"}
    statuses = [filters.status] if filters.status else (["waiting", "open"] if view == "equipes"
                                                        else ["waiting", "open", "bot"])
    teams = filters.team_id
    if view == "equipes":
        teams = [team for team in my_teams if filters.team_id in (None, team)]
        if not teams:
            return None
    return {**common, "team_id": teams, "status": statuses, "order": "queue"}


def fetch_page(api: ApiClient, token: str, params: dict | None, limit: int, offset: int = 0) -> tuple[list[dict], int]:
    """One page of the view's rows and the view's total."""
    if params is None:
        return [], 0
    page = api.get(token, "/conversations", limit=limit, offset=offset, **params)
    return page["items"], page["total"]


def view_counts(api: ApiClient, token: str, user_id: str, views: list[str], my_teams: list[str],
                filters: Filters) -> tuple[dict[str, int], list[str]]:
    """Each view's total (whatever page is shown) and the first NOTIFY_LIMIT waiting ids (to notice new ones)."""
    counts, waiting_ids = {}, []
    for name in views:
        found, counts[name] = fetch_page(api, token, query(name, user_id, my_teams, filters),
                                         NOTIFY_LIMIT if name == "aguardando" else 1)
        if name == "aguardando":
            waiting_ids = sorted(row["id"] for row in found)
    return counts, waiting_ids


def view_page(api: ApiClient, token: str, params: dict | None, offset: int | None) -> tuple[list[dict], int, int]:
    """The page at `offset` (the last one when the list shrank under the agent), its total and its offset."""
    rows, total = fetch_page(api, token, params, paging.PAGE, offset or 0)
    if paging.clamped(offset, total) != (offset or 0):
        offset = paging.clamped(offset, total)
        rows, total = fetch_page(api, token, params, paging.PAGE, offset)
    return rows, total, offset or 0


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def minutes_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "menos de 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def waiting_clock(row: dict, target_minutes: int, now: datetime | None = None) -> tuple[str, str] | None:
    """(text, tone) while a person's first reply is due (handed off, not answered by a person yet, not closed):
    tone is "ok", "near" (from 75% of the target) or "late" (past it). None otherwise."""
    if row["status"] not in ("waiting", "open") or row.get("first_human_reply_at"):
        return None
    since = parse_time(row.get("handoff_at"))
    if since is None:
        return None
    now = now or datetime.now(UTC)
    elapsed = max(0.0, (now - since).total_seconds())
    ratio = elapsed / (target_minutes * 60)
    tone = "late" if ratio >= 1 else "near" if ratio >= NEAR else "ok"
    return f"aguardando há {minutes_text(elapsed)} · meta {target_minutes} min", tone


def contact_label(contact: dict) -> str:
    name = (contact.get("name") or "").strip()
    number = contact.get("phone") or (contact.get("whatsapp_lid") and "número oculto (LID)") or ""
    return f"{name} · {number}" if name and number else name or number or "Cliente sem nome"


def preview(last: dict | None) -> str:
    if not last:
        return "Sem mensagens"
    who = SENDERS.get(last["sender_kind"], last["sender_kind"])
    body = (last.get("text") or "").strip()
    if last["content_type"] != "text":
        body = f"[{MEDIA.get(last['content_type'], last['content_type'])}]{' ' + body if body else ''}"
    return f"{who}: {body or '—'}"


def label_chips(labels: list[dict]) -> list[html.Span]:
    """The conversation's labels, each with its colour as a dot (a light colour would not carry white text)."""
    return [html.Span([html.Span(className="label-dot", style={"background": label["color"]}), label["name"]],
                      className="label-chip", title=f"Etiqueta: {label['name']}") for label in labels]


def unread_badge(count: int | None) -> html.Span | None:
    if not count:
        return None
    text = "99+" if count >= UNREAD_CAP else str(count)
    return html.Span(text, className="unread-badge",
                     title="1 mensagem não lida" if count == 1 else f"{text} mensagens não lidas")


def row_view(row: dict, target_minutes: int, selected: str | None) -> html.Button:
    clock = waiting_clock(row, target_minutes)
    status = STATUS_LABELS.get(row["status"], row["status"])
    meta = [html.Span(status, className=f"badge badge-{row['status']}")]
    if row.get("team_name"):
        meta.append(html.Span(row["team_name"], className="badge badge-team"))
    if row.get("assignee_name"):
        meta.append(html.Span(f"com {row['assignee_name']}", className="muted small"))
    meta += label_chips(row.get("labels") or [])
    is_open = row["id"] == selected  # on screen now: being read (workspace marks it read)
    unread = None if is_open else unread_badge(row.get("unread"))
    head = [html.Strong(contact_label(row["contact"]), className="inbox-contact"),
            html.Span(clock[0] if clock else "", className=f"sla sla-{clock[1]}" if clock else "sla")]
    if unread is not None:
        head.insert(1, unread)
    return html.Button([
        html.Div(head, className="inbox-row-head"),
        html.Div(preview(row.get("last_message")), className="inbox-preview"),
        html.Div(meta, className="inbox-meta"),
    ], className="inbox-row selected" if is_open else "inbox-row", type="button",
        # assets/workspace.js selects the row on click (one listener for the whole list)
        **{"data-conversation": row["id"], "data-status": row["status"], "data-sla": clock[1] if clock else "none"})
