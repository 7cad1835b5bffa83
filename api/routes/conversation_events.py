"""A conversation's system events, oldest first, built from what is stored: its audit entries (handoff, take,
assign, transfer, hand-back, close, reopen, a takeover from the phone), its satisfaction survey (asked, answered)
and, for a conversation handed to people with no audit entry saying so (older data), its own handoff fields."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import Tenant
from api.routes.common import error_responses, not_found
from api.routes.conversation_queries import visible_to
from api.schemas.events import EventOut
from niochat.tables import audit_log, conversations, csat_requests, csat_responses, teams, users

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=error_responses(401, 404))

ACTIONS = {"conversation.transfer": "transfer", "conversation.assign": "assign", "conversation.take": "take",
           "conversation.handback": "handback", "conversation.close": "close", "conversation.reopen": "reopen",
           "conversation.phone_takeover": "phone_takeover"}
HANDED = {"handoff", "transfer", "take", "assign", "phone_takeover"}
MAX_EVENTS = 1000


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def _names(ctx, table, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict((await ctx.conn.execute(select(table.c.id, table.c.name).where(table.c.id.in_(ids)))).all())


def _kind(entry) -> str:
    kind = ACTIONS[entry.action]
    if kind == "transfer" and entry.actor_kind != "user":
        return "handoff"  # the bot (or the system) handing the customer to people
    if kind == "assign" and _uuid(entry.details.get("assignee_id")) == entry.actor_user_id:
        return "take"  # an agent assigning themselves (a reply takes the conversation too)
    return kind


def _without_echoes(entries: list) -> list:
    """A transfer straight to an agent is written as an assign and a transfer in one transaction (one now()):
    the transfer alone tells it."""
    transfers = {(e.created_at, e.details.get("assignee_id")) for e in entries if e.action == "conversation.transfer"}
    return [e for e in entries
            if not (e.action == "conversation.assign" and (e.created_at, e.details.get("assignee_id")) in transfers)]


@router.get("/{conversation_id}/events", response_model=list[EventOut],
            summary="Its system events (handoff, transfers, close, CSAT...), oldest first")
async def list_events(conversation_id: uuid.UUID, ctx: Tenant) -> list[EventOut]:
    conv = (await ctx.conn.execute(
        select(conversations.c.id, conversations.c.handoff_at, conversations.c.handoff_reason, conversations.c.team_id)
        .where(conversations.c.id == conversation_id, visible_to(ctx.user)))).one_or_none()
    if conv is None:
        raise not_found("conversation")
    entries = _without_echoes((await ctx.conn.execute(
        select(audit_log.c.action, audit_log.c.actor_kind, audit_log.c.actor_user_id, audit_log.c.details,
               audit_log.c.created_at)
        .where(audit_log.c.entity_type == "conversation", audit_log.c.entity_id == str(conv.id),
               audit_log.c.action.in_(ACTIONS))
        .order_by(audit_log.c.created_at, audit_log.c.id).limit(MAX_EVENTS))).all())
    people = await _names(ctx, users, {e.actor_user_id for e in entries if e.actor_user_id}
                          | {i for e in entries if (i := _uuid(e.details.get("assignee_id")))})
    team_names = await _names(ctx, teams, {i for e in entries if (i := _uuid(e.details.get("team_id")))}
                              | ({conv.team_id} if conv.team_id else set()))
    events = []
    for entry in entries:
        kind = _kind(entry)
        reason = entry.details.get("reason")
        events.append(EventOut(
            kind=kind, at=entry.created_at, actor_kind=entry.actor_kind, actor_name=people.get(entry.actor_user_id),
            assignee_name=people.get(_uuid(entry.details.get("assignee_id"))),
            team_name=team_names.get(_uuid(entry.details.get("team_id"))),
            reason=None if kind == "transfer" and reason == "transfer" else reason))  # "transfer": no note given
    # the first handoff writes handoff_at in the transaction of its audit entry (one now()): none that early, say it
    if conv.handoff_at is not None and not any(e.kind in HANDED and e.at <= conv.handoff_at for e in events):
        events.append(EventOut(kind="handoff", at=conv.handoff_at, actor_kind=None, actor_name=None,
                               team_name=team_names.get(conv.team_id), reason=conv.handoff_reason))
    events += await _survey(ctx, conv.id)
    return sorted(events, key=lambda event: event.at)


async def _survey(ctx, conversation_id: uuid.UUID) -> list[EventOut]:
    row = (await ctx.conn.execute(
        select(csat_requests.c.sent_at, csat_responses.c.rating, csat_responses.c.comment,
               csat_responses.c.created_at.label("answered_at"))
        .select_from(csat_requests.outerjoin(csat_responses, csat_responses.c.csat_request_id == csat_requests.c.id))
        .where(csat_requests.c.conversation_id == conversation_id))).one_or_none()
    if row is None:
        return []
    events = []
    if row.sent_at is not None:
        events.append(EventOut(kind="csat_asked", at=row.sent_at, actor_kind="bot", actor_name=None))
    if row.rating is not None:
        events.append(EventOut(kind="csat_answered", at=row.answered_at, actor_kind=None, actor_name=None,
                               score=row.rating, comment=row.comment))
    return events
