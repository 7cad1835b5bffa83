"""The inbox's views as API queries, and how a row reads: the contact, the last message, the waiting time against
the tenant's first-response target. The API decides what each user may see; these are only its filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dash import html

from dash_app.workspace.client import ApiClient

VIEWS = {"aguardando": "Aguardando atendimento", "minhas": "Minhas", "equipes": "Minhas equipes", "todas": "Todas"}
STATUS_LABELS = {"bot": "Com o robô", "waiting": "Aguardando", "open": "Em atendimento", "closed": "Encerrada"}
SENDERS = {"customer": "Cliente", "bot": "Robô", "agent": "Atendente", "system": "Sistema"}
# Words, not emoji: not every browser/OS has a font with them (dash_app/theme.py)
MEDIA = {"image": "Imagem", "audio": "Áudio", "document": "Documento", "video": "Vídeo", "sticker": "Figurinha",
         "location": "Localização", "contact": "Contato"}
NEAR = 0.75  # of the target: the clock turns amber
LIST_LIMIT = 100


@dataclass(frozen=True)
class Filters:
    team_id: str | None = None
    channel_id: str | None = None
    status: str | None = None


def views_for(role: str) -> list[str]:
    return [*VIEWS][:3] + (["todas"] if role != "agent" else [])


def queries(view: str, user_id: str, my_teams: list[str], filters: Filters) -> list[dict]:
    """The API list queries whose union is the view (disjoint, so totals add up)."""
    common = {"channel_id": filters.channel_id}
    if view == "aguardando":
        if filters.status not in (None, "waiting"):
            return []
        return [{**common, "status": "waiting", "team_id": filters.team_id, "order": "waiting"}]
    if view == "minhas":
        return [{**common, "assignee_id": user_id, "status": filters.status or "open", "team_id": filters.team_id}]
    statuses = [filters.status] if filters.status else (["waiting", "open"] if view == "equipes"
                                                        else ["waiting", "open", "bot"])
    if view == "equipes":
        teams = [team for team in my_teams if filters.team_id in (None, team)]
        return [{**common, "team_id": team, "status": status} for team in teams for status in statuses]
    return [{**common, "team_id": filters.team_id, "status": status} for status in statuses]


def fetch_view(api: ApiClient, token: str, params_list: list[dict], limit: int) -> tuple[list[dict], int]:
    """The view's rows (up to `limit` per query) and its total."""
    rows: dict[str, dict] = {}
    total = 0
    for params in params_list:
        page = api.get(token, "/conversations", limit=limit, **params)
        total += page["total"]
        for item in page["items"]:
            rows.setdefault(item["id"], item)
    return list(rows.values()), total


def order_rows(view: str, rows: list[dict]) -> list[dict]:
    """Waiting conversations oldest first (as a queue is worked), then the rest by newest activity."""
    waiting = sorted((r for r in rows if r["status"] == "waiting"), key=lambda r: r["handoff_at"] or r["created_at"])
    others = sorted((r for r in rows if r["status"] != "waiting"),
                    key=lambda r: r["last_message_at"] or r["created_at"], reverse=True)
    return waiting + others if view in ("aguardando", "equipes", "todas") else others + waiting


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


def row_view(row: dict, target_minutes: int, selected: str | None) -> html.Button:
    clock = waiting_clock(row, target_minutes)
    status = STATUS_LABELS.get(row["status"], row["status"])
    meta = [html.Span(status, className=f"badge badge-{row['status']}")]
    if row.get("team_name"):
        meta.append(html.Span(row["team_name"], className="badge badge-team"))
    if row.get("assignee_name"):
        meta.append(html.Span(f"com {row['assignee_name']}", className="muted small"))
    return html.Button([
        html.Div([html.Strong(contact_label(row["contact"]), className="inbox-contact"),
                  html.Span(clock[0] if clock else "", className=f"sla sla-{clock[1]}" if clock else "sla")],
                 className="inbox-row-head"),
        html.Div(preview(row.get("last_message")), className="inbox-preview"),
        html.Div(meta, className="inbox-meta"),
    ], className="inbox-row selected" if row["id"] == selected else "inbox-row", type="button",
        # assets/workspace.js selects the row on click (one listener for the whole list)
        **{"data-conversation": row["id"], "data-status": row["status"], "data-sla": clock[1] if clock else "none"})
