"""Bulk import of historical conversations (providers moving from another tool) from JSONL into the
operational database. Format: ingest/README.md.

Every line is validated (shape, then references to the tenant's channels, agents and teams) before anything is
written; any error aborts the import with one message per bad line, and a valid file is written in a single
transaction: nothing is ever half-imported. Each imported conversation gets an audit entry
(`conversation.import`, with the file and the line's `external_id`), which also makes re-imports skip what is
already there. Imported rows are real history, so `is_generated` stays false; the demo's made-up past weeks go
through the same path with `generated=True` (`is_generated` true, close reason `generated`).

Optionally, customer messages carry the request they made (`intent`) and conversations the tool calls the bot made
(`tool_calls`), in the vocabularies live traffic records, so the intent and tool marts count history like live.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection

from niochat.masking import mask_documents_in
from niochat.tables import (
    audit_log,
    channels,
    contacts,
    conversations,
    csat_requests,
    csat_responses,
    messages,
    teams,
    tenants,
    tool_calls,
    users,
)
from niochat.vocabulary import INTENTS, TOOL_OUTCOMES, TOOLS, sentiment_of

FORMAT = "niochat-history-v1"
IMPORT_ACTION = "conversation.import"
MAX_ERRORS = 200

# fct_tool_calls accepts only the live brains' names; where a call came from is on its conversation (close reason).
IMPORTED_BRAIN = "rules"
MAX_LATENCY_MS = 2**31 - 1  # tool_calls.latency_ms is an integer column


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _one_of(vocabulary: frozenset[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in vocabulary:  # the value is not repeated: it could be anything, a CPF too
            raise ValueError(f"not a known {what} (known: {', '.join(sorted(vocabulary))})")
        return value

    return AfterValidator(check)


class HistoryContact(_Strict):
    phone: str = Field(pattern=r"^[0-9]{8,15}$", description="WhatsApp number, digits only, with country code")
    name: str | None = Field(None, max_length=200)


class HistoryMessage(_Strict):
    at: AwareDatetime
    sender: Literal["customer", "bot", "agent", "system"]
    text: str = Field(min_length=1, max_length=65536)
    agent: str | None = Field(None, description="email of the agent who wrote it (sender = agent)")
    intent: Annotated[str, _one_of(INTENTS, "intent")] | None = Field(
        None, description="the request the bot answered (sender = customer)")


class HistoryToolCall(_Strict):
    at: AwareDatetime
    tool: Annotated[str, _one_of(TOOLS, "tool")]
    outcome: Annotated[str, _one_of(TOOL_OUTCOMES, "tool outcome")]
    latency_ms: int = Field(ge=0, le=MAX_LATENCY_MS)
    error: str | None = Field(None, min_length=1, max_length=2000)


class HistoryCsat(_Strict):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)
    sent_at: AwareDatetime | None = None
    answered_at: AwareDatetime


class HistoryConversation(_Strict):
    external_id: str = Field(min_length=1, max_length=200, description="the conversation's id in the old tool")
    channel: str | None = Field(None, description="instance name of one of the tenant's channels; default: the first")
    contact: HistoryContact
    created_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    closed_by: Literal["bot", "agent", "system", "customer"] = "agent"
    handoff_at: AwareDatetime | None = None
    handoff_reason: str | None = Field(
        None, min_length=1, max_length=100,
        description="why it went to a person (with handoff_at), e.g. customer_request, identity_unverified")
    team: str | None = None
    agent: str | None = None
    messages: list[HistoryMessage] = Field(min_length=1)
    tool_calls: list[HistoryToolCall] = Field(default_factory=list)
    csat: HistoryCsat | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HistoryConversation:
        times = [message.at for message in self.messages]
        if times != sorted(times):
            raise ValueError("messages must be in chronological order")
        first, last = times[0], times[-1]
        if self.created_at and self.created_at > first:
            raise ValueError("created_at is after the first message")
        if self.closed_at and self.closed_at < last:
            raise ValueError("closed_at is before the last message")
        if self.handoff_at and not (self.opened <= self.handoff_at <= self.closed):
            raise ValueError("handoff_at is outside the conversation")
        if self.handoff_reason and not self.handoff_at:
            raise ValueError("handoff_reason needs handoff_at")
        for index, message in enumerate(self.messages):
            if message.agent and message.sender != "agent":
                raise ValueError(f"messages.{index}.agent is only for sender 'agent'")
            if message.intent and message.sender != "customer":
                raise ValueError(f"messages.{index}.intent is only for sender 'customer'")
        for index, call in enumerate(self.tool_calls):
            if not (self.opened <= call.at <= self.closed):
                raise ValueError(f"tool_calls.{index}.at is outside the conversation")
        if self.csat and self.csat.answered_at < (self.csat.sent_at or self.closed):
            raise ValueError("csat.answered_at is before the survey was sent")
        return self

    @property
    def opened(self) -> datetime:
        return self.created_at or self.messages[0].at

    @property
    def closed(self) -> datetime:
        return self.closed_at or self.messages[-1].at


@dataclass
class ImportReport:
    imported: int = 0
    skipped: list[str] = field(default_factory=list)  # external ids already imported
    messages: int = 0


class HistoryImportError(ValueError):
    """The file is not importable; `errors` has one line per problem ("line 12: contact.phone: ...")."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_ERRORS]
        more = f"\n... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(f"{len(errors)} error(s), nothing imported:\n" + "\n".join(shown) + more)


def parse_lines(lines: Iterable[str]) -> tuple[list[tuple[int, HistoryConversation]], list[str]]:
    """Each non-blank line as a conversation, and every error with its line number."""
    parsed, errors = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            parsed.append((number, HistoryConversation.model_validate(data)))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(str(part) for part in error["loc"]) or "line"
                errors.append(f"line {number}: {where}: {error['msg']}")
    seen: dict[str, int] = {}
    for number, conversation in parsed:
        if conversation.external_id in seen:
            errors.append(f"line {number}: external_id {conversation.external_id!r} repeats line "
                          f"{seen[conversation.external_id]}")
        seen.setdefault(conversation.external_id, number)
    return parsed, errors


class _Directory:
    """The tenant's channels, agents and teams, to resolve the references of every line."""

    def __init__(self, conn: Connection, tenant_slug: str):
        row = conn.execute(select(tenants.c.id).where(tenants.c.slug == tenant_slug)).first()
        if row is None:
            raise HistoryImportError([f"tenant {tenant_slug!r} does not exist"])
        self.tenant_id = row.id
        rows = conn.execute(select(channels.c.id, channels.c.instance).where(channels.c.tenant_id == self.tenant_id)
                            .order_by(channels.c.created_at)).all()
        self.channels = {row.instance: row.id for row in rows}
        self.default_channel = rows[0].id if rows else None
        self.users = {row.email.lower(): row.id for row in conn.execute(
            select(users.c.id, users.c.email).where(users.c.tenant_id == self.tenant_id))}
        self.teams = {row.slug: row.id for row in conn.execute(
            select(teams.c.id, teams.c.slug).where(teams.c.tenant_id == self.tenant_id))}

    def problems(self, conversation: HistoryConversation) -> list[str]:
        found = []
        if conversation.channel is None and self.default_channel is None:
            found.append("channel: the tenant has no channel")
        elif conversation.channel is not None and conversation.channel not in self.channels:
            found.append(f"channel: no channel with instance {conversation.channel!r}")
        if conversation.team and conversation.team not in self.teams:
            found.append(f"team: no team {conversation.team!r}")
        emails = [("agent", conversation.agent)] + [
            (f"messages.{i}.agent", m.agent) for i, m in enumerate(conversation.messages)
        ]
        for where, email in emails:
            if email and email.lower() not in self.users:
                found.append(f"{where}: no user {email!r} in this tenant")
        return found


def _already_imported(conn: Connection, tenant_id: uuid.UUID) -> set[str]:
    return {row[0] for row in conn.execute(
        select(audit_log.c.details["external_id"].astext).where(
            and_(audit_log.c.tenant_id == tenant_id, audit_log.c.action == IMPORT_ACTION)))}


def _contact(conn: Connection, tenant_id: uuid.UUID, contact: HistoryContact) -> uuid.UUID:
    existing = conn.execute(select(contacts.c.id).where(
        and_(contacts.c.tenant_id == tenant_id, contacts.c.phone == contact.phone))).scalar()
    if existing:
        return existing
    return conn.execute(insert(contacts).values(tenant_id=tenant_id, phone=contact.phone, name=contact.name)
                        .returning(contacts.c.id)).scalar_one()


def _write(conn: Connection, directory: _Directory, conversation: HistoryConversation, source: str,
           generated: bool) -> int:
    tenant_id = directory.tenant_id
    channel_id = directory.channels[conversation.channel] if conversation.channel else directory.default_channel
    contact_id = _contact(conn, tenant_id, conversation.contact)
    agent_id = directory.users[conversation.agent.lower()] if conversation.agent else None
    by_sender = {sender: [m.at for m in conversation.messages if m.sender == sender] for sender in ("bot", "agent")}
    inbound = [m.at for m in conversation.messages if m.sender == "customer"]
    conversation_id = conn.execute(insert(conversations).values(
        tenant_id=tenant_id, channel_id=channel_id, contact_id=contact_id, status="closed",
        assignee_id=agent_id, team_id=directory.teams.get(conversation.team) if conversation.team else None,
        closed_by=conversation.closed_by, closed_by_user_id=agent_id if conversation.closed_by == "agent" else None,
        close_reason="generated" if generated else "imported",
        created_at=conversation.opened, closed_at=conversation.closed,
        handoff_at=conversation.handoff_at,
        handoff_reason=mask_documents_in(conversation.handoff_reason) if conversation.handoff_reason else None,
        assigned_at=conversation.handoff_at if agent_id else None,
        first_bot_reply_at=min(by_sender["bot"], default=None),
        first_human_reply_at=min(by_sender["agent"], default=None),
        last_message_at=conversation.messages[-1].at, last_inbound_at=max(inbound, default=None),
        is_generated=generated,
    ).returning(conversations.c.id)).scalar_one()
    conn.execute(insert(messages), [
        {
            "tenant_id": tenant_id, "conversation_id": conversation_id, "channel_id": channel_id,
            "direction": "inbound" if message.sender == "customer" else "outbound", "sender_kind": message.sender,
            "sender_user_id": directory.users[message.agent.lower()] if message.agent else None,
            "idempotency_key": f"import:{conversation.external_id}:{index}", "text": message.text,
            "status": "processed" if message.sender == "customer" else "delivered",
            "created_at": message.at, "sent_at": None if message.sender == "customer" else message.at,
            "provider_timestamp": message.at, "intent": message.intent,
        }
        for index, message in enumerate(conversation.messages)
    ])
    # arguments keep their default {} (nothing to import there, no CPF to leak); updated_at stays the insert's now()
    # like every imported row: the warehouse sync's watermark would skip a row updated weeks ago
    if conversation.tool_calls:
        conn.execute(insert(tool_calls), [
            {
                "tenant_id": tenant_id, "conversation_id": conversation_id, "brain": IMPORTED_BRAIN,
                "tool": call.tool, "outcome": call.outcome, "latency_ms": call.latency_ms,
                "error": mask_documents_in(call.error) if call.error else None, "created_at": call.at,
            }
            for call in conversation.tool_calls
        ])
    if csat := conversation.csat:
        sent_at = csat.sent_at or conversation.closed
        request_id = conn.execute(insert(csat_requests).values(
            tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, agent_id=agent_id,
            status="answered", scheduled_for=sent_at, sent_at=sent_at, answered_at=csat.answered_at,
        ).returning(csat_requests.c.id)).scalar_one()
        conn.execute(insert(csat_responses).values(
            tenant_id=tenant_id, csat_request_id=request_id, conversation_id=conversation_id, rating=csat.rating,
            sentiment=sentiment_of(csat.rating), comment=csat.comment, created_at=csat.answered_at,
        ))
    conn.execute(insert(audit_log).values(
        tenant_id=tenant_id, actor_kind="system", action=IMPORT_ACTION, entity_type="conversation",
        entity_id=str(conversation_id),
        details={"format": FORMAT, "source": source, "external_id": conversation.external_id,
                 **({"generated": True} if generated else {})},
    ))
    return len(conversation.messages)


def import_history(conn: Connection, tenant_slug: str, lines: Iterable[str], *, source: str = "jsonl",
                   generated: bool = False) -> ImportReport:
    """Validate every line, then write them all in the caller's transaction (or raise HistoryImportError).
    `generated`: made-up conversations (the demo's backfill), marked so they are never taken for real ones."""
    parsed, errors = parse_lines(lines)
    directory = _Directory(conn, tenant_slug)
    for number, conversation in parsed:
        errors.extend(f"line {number}: {problem}" for problem in directory.problems(conversation))
    if errors:
        raise HistoryImportError(sorted(errors, key=lambda text: int(text.split(":")[0].split()[1])))
    if not parsed:
        raise HistoryImportError(["the file has no conversations"])
    report = ImportReport()
    done = _already_imported(conn, directory.tenant_id)
    for _, conversation in parsed:
        if conversation.external_id in done:
            report.skipped.append(conversation.external_id)
            continue
        report.messages += _write(conn, directory, conversation, source, generated)
        report.imported += 1
    return report


def import_history_file(engine, tenant_slug: str, path: Path) -> ImportReport:
    """The whole file in one transaction."""
    with open(path, encoding="utf-8") as lines, engine.begin() as conn:
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"niochat.import.{tenant_slug}"))))
        return import_history(conn, tenant_slug, lines, source=Path(path).name)
