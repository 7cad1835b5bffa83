"""LGPD: one person's data, exported as JSON or erased; and the tenants' retention of old message content.

Everything here runs on a connection bound to one tenant (`tenant_transaction`), so row-level security keeps
every query inside that tenant whoever calls it: `niochat privacy` (CLI), `/api/v1/privacy` (tenant admins) and
the worker's retention job.

A person is found by phone or by CPF/CNPJ. By phone: the contact with that number (with and without the mobile
9 WhatsApp drops for older accounts), plus every contact with the same document on file. By document: the
contacts whose `document_hash` (a keyed HMAC of the digits, `Keyring.fingerprint`) matches, under every key of
`NIOCHAT_SECRET_KEY` (rotation). The full document is never stored, returned or logged.

Erasure anonymises in place rather than deleting (docs/operator-guide.md, "LGPD / privacy"): the contact loses
its phone, LID, name, document and SGP id; its messages lose their text, transcript and media references; tool
calls their arguments and errors; survey answers their words; audit entries about it their details. Agents'
notes and the labels on its conversations are deleted (judgements about the person). What the metrics count
stays: conversations with their times and statuses, messages as rows (direction, sender, kind, times, intent),
tool outcomes, ratings. Every other change is an UPDATE, so `updated_at` moves, and the labels leave tombstones
(notes never reach the warehouse): the next incremental pipeline run carries both to the warehouse, the marts and
the DuckDB files.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import and_, case, delete, func, literal, not_, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from validate_docbr import CNPJ, CPF

from niochat.masking import mask_document, mask_documents_in
from niochat.secrets import Keyring
from niochat.tables import (
    audit_log,
    channels,
    contacts,
    conversation_labels,
    conversation_notes,
    conversations,
    csat_requests,
    csat_responses,
    follow_ups,
    labels,
    messages,
    teams,
    tenants,
    tool_calls,
)

FORMAT = "niochat-privacy-export"
VERSION = 1
ERASED = "erased"  # close reason of the conversations an erasure closed; error of the sends it cancelled
PENDING_INBOUND = ("received",)
PENDING_OUTBOUND = ("queued", "sending")
PENDING_SURVEYS = ("scheduled", "sent", "clarifying")
RETENTION_BATCH = 5000
# A handoff reason that is a code (customer_request, billing_issue...) is kept; the model's own words are not.
_REASON_CODE = r"^[a-z][a-z0-9_]{0,59}$"


class PrivacyError(ValueError):
    """The request cannot be carried out as given (no such person, a malformed phone or document)."""


@dataclass(frozen=True)
class Lookup:
    """Who is asked about: the kind of key, and what it is compared with (phone variants or document hashes)."""

    kind: Literal["phone", "document"]
    phones: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()


def phone_variants(phone: str) -> tuple[str, ...]:
    """The WhatsApp numbers a phone may be stored as: its digits, with country code 55 added to what may be a
    Brazilian number given without it (10 or 11 digits), and Brazilian mobiles with and without the 9 after the
    area code (WhatsApp keeps older accounts without it)."""
    digits = re.sub(r"\D", "", phone)
    if not 8 <= len(digits) <= 15:
        raise PrivacyError("the phone must have 8 to 15 digits, with country and area code (e.g. 5511912340001)")
    found = [digits]
    if len(digits) in (10, 11) and not digits.startswith("55"):
        found.append("55" + digits)
    for number in list(found):
        if number.startswith("55") and len(number) == 13 and number[4] == "9":
            found.append(number[:4] + number[5:])
        elif number.startswith("55") and len(number) == 12 and number[4] in "6789":
            found.append(number[:4] + "9" + number[4:])
    return tuple(dict.fromkeys(found))


def document_digits(document: str) -> str:
    digits = re.sub(r"\D", "", document)
    if len(digits) == 11:
        valid = CPF().validate(digits)
    elif len(digits) == 14:
        valid = CNPJ().validate(digits)
    else:
        raise PrivacyError("the document must be a CPF (11 digits) or a CNPJ (14 digits)")
    if not valid:
        raise PrivacyError(f"{mask_document(digits)} is not a valid CPF/CNPJ (check digits): check the number")
    return digits


def lookup(keyring: Keyring, *, phone: str | None = None, document: str | None = None) -> Lookup:
    given = [value for value in (phone, document) if value is not None and value.strip()]
    if len(given) != 1:
        raise PrivacyError("give exactly one of phone or document")
    if phone is not None and phone.strip():
        return Lookup("phone", phones=phone_variants(phone))
    return Lookup("document", fingerprints=keyring.fingerprints(document_digits(document)))


def mask_phone(value: str | None) -> str | None:
    """5511912340001 -> 5511*****0001: enough to recognise the number, not to dial it."""
    if not value:
        return value
    keep = 4 if len(value) > 8 else 2
    return value[:keep] + "*" * max(len(value) - keep - 4, 0) + value[-4:]


async def find_contacts(conn: AsyncConnection, who: Lookup) -> list[uuid.UUID]:
    """The person's contacts in the connection's tenant, oldest first (empty: nobody matches)."""
    if who.kind == "phone":
        first = (await conn.execute(
            select(contacts.c.id, contacts.c.document_hash).where(contacts.c.phone.in_(who.phones))
        )).all()
        hashes = [row.document_hash for row in first if row.document_hash]
        match = contacts.c.id.in_([row.id for row in first])
        if hashes:
            match = or_(match, contacts.c.document_hash.in_(hashes))
    else:
        match = contacts.c.document_hash.in_(who.fingerprints)
    rows = await conn.execute(select(contacts.c.id).where(match).order_by(contacts.c.created_at, contacts.c.id))
    return list(rows.scalars())


async def _conversation_ids(conn: AsyncConnection, contact_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    rows = await conn.execute(select(conversations.c.id).where(conversations.c.contact_id.in_(contact_ids))
                              .order_by(conversations.c.created_at, conversations.c.id))
    return list(rows.scalars())


def _about(contact_ids: list[uuid.UUID], conversation_ids: list[uuid.UUID]):
    """Audit entries whose subject is one of the person's contacts or conversations."""
    return or_(
        and_(audit_log.c.entity_type == "contact", audit_log.c.entity_id.in_([str(i) for i in contact_ids])),
        and_(audit_log.c.entity_type == "conversation",
             audit_log.c.entity_id.in_([str(i) for i in conversation_ids])),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(result) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row._mapping.items()} for row in result]


def _masked(value: Any) -> Any:
    """Free text and JSON with every CPF/CNPJ in it masked: the export never carries a full document."""
    if isinstance(value, str):
        return mask_documents_in(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


# What people wrote (or the bot and tools wrote about them): masked before it leaves.
_FREE_TEXT = ("text", "transcript", "arguments", "error", "comment", "raw_text", "details", "handoff_reason")


async def export(conn: AsyncConnection, who: Lookup) -> dict[str, Any] | None:
    """Everything the tenant holds about the person, as a JSON-ready dict (format `niochat-privacy-export`,
    version 1, described in docs/operator-guide.md); None when nobody matches."""
    contact_ids = await find_contacts(conn, who)
    if not contact_ids:
        return None
    conversation_ids = await _conversation_ids(conn, contact_ids)
    tenant = (await conn.execute(select(tenants.c.slug, tenants.c.name))).one()
    people = _rows(await conn.execute(
        select(contacts.c.id, contacts.c.phone, contacts.c.whatsapp_lid, contacts.c.name, contacts.c.document_masked,
               contacts.c.sgp_customer_id, contacts.c.created_at, contacts.c.updated_at, contacts.c.erased_at)
        .where(contacts.c.id.in_(contact_ids)).order_by(contacts.c.created_at, contacts.c.id)
    ))
    talks = _rows(await conn.execute(
        select(conversations.c.id, conversations.c.contact_id, channels.c.provider.label("channel_provider"),
               channels.c.instance.label("channel_instance"), channels.c.name.label("channel_name"),
               conversations.c.status, conversations.c.created_at, conversations.c.first_bot_reply_at,
               conversations.c.handoff_at, conversations.c.handoff_reason, teams.c.slug.label("team"),
               conversations.c.first_human_reply_at, conversations.c.closed_at, conversations.c.closed_by,
               conversations.c.close_reason, conversations.c.sgp_customer_id, conversations.c.sgp_contract_id)
        .join(channels, channels.c.id == conversations.c.channel_id)
        .outerjoin(teams, teams.c.id == conversations.c.team_id)
        .where(conversations.c.id.in_(conversation_ids))
        .order_by(conversations.c.created_at, conversations.c.id)
    ))
    said = _rows(await conn.execute(
        select(messages.c.id, messages.c.conversation_id, messages.c.created_at, messages.c.provider_timestamp,
               messages.c.direction, messages.c.sender_kind, messages.c.content_type, messages.c.text,
               messages.c.transcript, messages.c.media_url, messages.c.media_mime, messages.c.media_file_name,
               messages.c.media_size, messages.c.media_seconds, messages.c.choice_id, messages.c.intent,
               messages.c.status, messages.c.sent_at, messages.c.edited_at, messages.c.redacted_at)
        .where(messages.c.conversation_id.in_(conversation_ids))
        .order_by(messages.c.created_at, messages.c.id)
    ))
    done = _rows(await conn.execute(
        select(tool_calls.c.id, tool_calls.c.conversation_id, tool_calls.c.created_at, tool_calls.c.brain,
               tool_calls.c.tool, tool_calls.c.arguments, tool_calls.c.outcome, tool_calls.c.error)
        .where(tool_calls.c.conversation_id.in_(conversation_ids))
        .order_by(tool_calls.c.created_at, tool_calls.c.id)
    ))
    surveys = _rows(await conn.execute(
        select(csat_requests.c.id, csat_requests.c.conversation_id, csat_requests.c.status,
               csat_requests.c.scheduled_for, csat_requests.c.sent_at, csat_requests.c.answered_at,
               csat_responses.c.rating, csat_responses.c.sentiment, csat_responses.c.comment,
               csat_responses.c.raw_text, csat_responses.c.created_at.label("responded_at"))
        .outerjoin(csat_responses, csat_responses.c.csat_request_id == csat_requests.c.id)
        .where(csat_requests.c.conversation_id.in_(conversation_ids))
    ))
    notes = _rows(await conn.execute(
        select(conversation_notes.c.id, conversation_notes.c.conversation_id, conversation_notes.c.created_at,
               conversation_notes.c.text)
        .where(conversation_notes.c.conversation_id.in_(conversation_ids))
        .order_by(conversation_notes.c.created_at, conversation_notes.c.id)
    ))
    owed = _rows(await conn.execute(  # reminders and re-checks: the promise date is the person's
        select(follow_ups.c.id, follow_ups.c.conversation_id, follow_ups.c.kind, follow_ups.c.due_at,
               follow_ups.c.status, follow_ups.c.reason, follow_ups.c.sent_at, follow_ups.c.payload)
        .where(follow_ups.c.conversation_id.in_(conversation_ids))
        .order_by(follow_ups.c.due_at, follow_ups.c.id)
    ))
    tagged = (await conn.execute(
        select(conversation_labels.c.conversation_id, labels.c.name)
        .join(labels, labels.c.id == conversation_labels.c.label_id)
        .where(conversation_labels.c.conversation_id.in_(conversation_ids))
        .order_by(labels.c.name)
    )).all()
    audit = _rows(await conn.execute(
        select(audit_log.c.id, audit_log.c.created_at, audit_log.c.action, audit_log.c.actor_kind,
               audit_log.c.entity_type, audit_log.c.entity_id, audit_log.c.details)
        .where(_about(contact_ids, conversation_ids))
        .order_by(audit_log.c.created_at, audit_log.c.id)
    ))
    for row in (*talks, *said, *done, *surveys, *notes, *audit):
        for key in _FREE_TEXT:
            if key in row:
                row[key] = _masked(row[key])
    by_conversation: dict[str, dict[str, Any]] = {}
    for talk in talks:
        talk["channel"] = {"provider": talk.pop("channel_provider"), "instance": talk.pop("channel_instance"),
                           "name": talk.pop("channel_name")}
        talk.update(messages=[], tool_calls=[], csat=None, notes=[], labels=[], follow_ups=[])
        by_conversation[talk["id"]] = talk
    for label in tagged:  # how the provider's agents classified the conversation (label names)
        by_conversation[str(label.conversation_id)]["labels"].append(label.name)
    for message in said:
        media = {key: message.pop(f"media_{key}") for key in ("url", "mime", "file_name", "size", "seconds")}
        message["media"] = media if any(value is not None for value in media.values()) else None
        by_conversation[message.pop("conversation_id")]["messages"].append(message)
    for call in done:
        by_conversation[call.pop("conversation_id")]["tool_calls"].append(call)
    for note in notes:  # what the provider's agents wrote about the person, among themselves
        by_conversation[note.pop("conversation_id")]["notes"].append(note)
    for owed_one in owed:
        by_conversation[owed_one.pop("conversation_id")]["follow_ups"].append(owed_one)
    for survey in surveys:
        answer = {key: survey.pop(key) for key in ("rating", "sentiment", "comment", "raw_text", "responded_at")}
        survey["response"] = answer if answer["rating"] is not None else None
        by_conversation[survey.pop("conversation_id")]["csat"] = survey
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": datetime.now(UTC).isoformat(),
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "lookup": who.kind,
        "contacts": people,
        "conversations": talks,
        "audit_log": audit,
    }


def export_summary(document: dict[str, Any]) -> dict[str, int]:
    talks = document["conversations"]
    return {"contacts": len(document["contacts"]), "conversations": len(talks),
            "messages": sum(len(talk["messages"]) for talk in talks)}


@dataclass
class Erasure:
    """What an erasure touches (the preview shown before confirming) and, once done, what it changed."""

    contacts: list[dict[str, Any]]  # id, masked phone and LID, name, masked document: to recognise the person
    conversation_ids: list[uuid.UUID]
    counts: dict[str, int] = field(default_factory=dict)
    closed_conversation_ids: list[uuid.UUID] = field(default_factory=list)
    erased: bool = False

    @property
    def contact_ids(self) -> list[uuid.UUID]:
        return [row["id"] for row in self.contacts]


async def plan_erasure(conn: AsyncConnection, who: Lookup, *, lock: bool = False) -> Erasure | None:
    contact_ids = await find_contacts(conn, who)
    if not contact_ids:
        return None
    query = (select(contacts.c.id, contacts.c.phone, contacts.c.whatsapp_lid, contacts.c.name,
                    contacts.c.document_masked)
             .where(contacts.c.id.in_(contact_ids)).order_by(contacts.c.created_at, contacts.c.id))
    if lock:
        query = query.with_for_update()
    people = [{"id": row.id, "phone": mask_phone(row.phone), "whatsapp_lid": mask_phone(row.whatsapp_lid),
               "name": row.name, "document_masked": row.document_masked}
              for row in await conn.execute(query)]
    conversation_ids = await _conversation_ids(conn, contact_ids)
    plan = Erasure(people, conversation_ids)
    in_talks = messages.c.conversation_id.in_(conversation_ids)
    plan.counts = {
        "contacts": len(people),
        "conversations": len(conversation_ids),
        "open_conversations": await _count(conversations, conversations.c.id.in_(conversation_ids),
                                           conversations.c.status != "closed", conn=conn),
        "messages": await _count(messages, in_talks, messages.c.redacted_at.is_(None), conn=conn),
        "media": await _count(messages, in_talks, or_(messages.c.media_url.isnot(None),
                                                      messages.c.media_file_name.isnot(None)), conn=conn),
        "transcripts": await _count(messages, in_talks, messages.c.transcript.isnot(None), conn=conn),
        "tool_calls": await _count(tool_calls, tool_calls.c.conversation_id.in_(conversation_ids), conn=conn),
        "csat_answers": await _count(csat_responses, csat_responses.c.conversation_id.in_(conversation_ids),
                                     conn=conn),
        "notes": await _count(conversation_notes, conversation_notes.c.conversation_id.in_(conversation_ids),
                              conn=conn),
        "labels": await _count(conversation_labels, conversation_labels.c.conversation_id.in_(conversation_ids),
                               conn=conn),
        "audit_entries": await _count(audit_log, _about(contact_ids, conversation_ids),
                                      not_(audit_log.c.action.like("privacy.%")), conn=conn),
    }
    return plan


async def _count(table, *where, conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(table).where(*where)))


async def erase(conn: AsyncConnection, who: Lookup, *, actor_kind: str, actor_user_id: uuid.UUID | None = None,
                via: str, operator: str | None = None) -> Erasure | None:
    """Anonymise the person everywhere in the operational database, in the connection's transaction, and
    audit it (who, how many; never what was erased). None when nobody matches."""
    plan = await plan_erasure(conn, who, lock=True)
    if plan is None:
        return None
    contact_ids, conversation_ids = plan.contact_ids, plan.conversation_ids
    if conversation_ids:
        await conn.execute(text("set local lock_timeout = '20s'"))
        active = conversations.c.status != "closed"
        closed = await conn.execute(
            update(conversations).where(conversations.c.id.in_(conversation_ids), active)
            .values(status="closed", closed_at=func.now(), closed_by="system", close_reason=ERASED,
                    phone_agent_at=None)
            .returning(conversations.c.id)
        )
        plan.closed_conversation_ids = list(closed.scalars())
        await conn.execute(
            update(conversations).where(conversations.c.id.in_(conversation_ids)).values(
                sgp_customer_id=None, sgp_contract_id=None, bot_state=literal({}, JSONB),
                handoff_reason=case((conversations.c.handoff_reason.regexp_match(_REASON_CODE),
                                     conversations.c.handoff_reason),
                                    (conversations.c.handoff_reason.is_(None), None), else_=ERASED),
            )
        )
        pending = messages.c.status.in_(PENDING_INBOUND + PENDING_OUTBOUND)
        await conn.execute(
            update(messages).where(messages.c.conversation_id.in_(conversation_ids)).values(
                text=None, transcript=None, media_url=None, media_file_name=None, fallback_text=None,
                quoted_provider_id=None, provider_message_id=None, choice_id=None,
                error=case((pending, ERASED), else_=None),
                status=case((messages.c.status.in_(PENDING_INBOUND), "ignored"),
                            (messages.c.status.in_(PENDING_OUTBOUND), "failed"), else_=messages.c.status),
                next_attempt_at=None, sending_since=None,
                redacted_at=func.coalesce(messages.c.redacted_at, func.now()),
            )
        )
        await conn.execute(update(tool_calls).where(tool_calls.c.conversation_id.in_(conversation_ids))
                           .values(arguments=literal({}, JSONB), error=None))
        await conn.execute(update(csat_requests).where(csat_requests.c.conversation_id.in_(conversation_ids),
                                                       csat_requests.c.status.in_(PENDING_SURVEYS))
                           .values(status="expired"))
        await conn.execute(update(csat_responses).where(csat_responses.c.conversation_id.in_(conversation_ids))
                           .values(comment=None, raw_text=None))
        # the promise dates and re-checks owed to the person: nothing more is sent, and the dates go
        await conn.execute(delete(follow_ups).where(follow_ups.c.conversation_id.in_(conversation_ids)))
        # agents' notes are about the person and counted by no metric: they go
        await conn.execute(delete(conversation_notes).where(
            conversation_notes.c.conversation_id.in_(conversation_ids)))
        # so do the labels agents put on them ("inadimplente", "reclamou na Anatel"...): judgements about the
        # person. Deleted, they leave tombstones, so the warehouse and the label marts lose them at the next run
        await conn.execute(delete(conversation_labels).where(
            conversation_labels.c.conversation_id.in_(conversation_ids)))
    await conn.execute(update(audit_log).where(_about(contact_ids, conversation_ids),
                                               not_(audit_log.c.action.like("privacy.%")))
                       .values(details=literal({}, JSONB)))
    await conn.execute(update(contacts).where(contacts.c.id.in_(contact_ids)).values(
        phone=None, whatsapp_lid=None, name=None, document_encrypted=None, document_hash=None,
        document_masked=None, sgp_customer_id=None, erased_at=func.now(),
    ))
    await record(conn, "privacy.erase", who, contact_ids, actor_kind=actor_kind, actor_user_id=actor_user_id,
                 via=via, operator=operator, **plan.counts)
    plan.erased = True
    return plan


async def record(conn: AsyncConnection, action: str, who: Lookup, contact_ids: list[uuid.UUID], *,
                 actor_kind: str, actor_user_id: uuid.UUID | None, via: str, operator: str | None = None,
                 **counts: int) -> None:
    """The audit entry of an export or erasure: who asked, how, about which (pseudonymous) contact ids, how
    many rows. Never the phone, the document or any of the data."""
    details: dict[str, Any] = {"lookup": who.kind, "via": via, "contact_ids": ",".join(map(str, contact_ids)),
                               **counts}
    if operator:
        details["operator"] = operator
    await conn.execute(audit_log.insert().values(
        tenant_id=func.niochat_current_tenant(), actor_kind=actor_kind, actor_user_id=actor_user_id, action=action,
        entity_type="contact", entity_id=str(contact_ids[0]), details=details,
    ))


# Retention --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Retention:
    """A tenant's `settings.retention`: message content and media references older than that many days are
    removed (None: kept)."""

    messages_days: float | None = None
    media_days: float | None = None

    @classmethod
    def of(cls, settings: dict | None) -> Retention:
        stored = (settings or {}).get("retention") or {}
        return cls(stored.get("messages_days"), stored.get("media_days"))


async def remove_old_media(conn: AsyncConnection, tenant_id: uuid.UUID, days: float,
                           limit: int = RETENTION_BATCH) -> int:
    """One batch: media references (provider link, file name) of messages older than `days`."""
    cutoff = func.now() - timedelta(days=float(days))
    doomed = (select(messages.c.id).where(messages.c.tenant_id == tenant_id, messages.c.media_url.isnot(None),
                                          messages.c.created_at < cutoff,
                                          messages.c.status.notin_(PENDING_INBOUND + PENDING_OUTBOUND))
              .limit(limit).with_for_update(skip_locked=True).cte("doomed"))
    result = await conn.execute(update(messages).where(messages.c.id == doomed.c.id)
                                .values(media_url=None, media_file_name=None))
    return result.rowcount


async def remove_old_content(conn: AsyncConnection, tenant_id: uuid.UUID, days: float,
                             limit: int = RETENTION_BATCH) -> tuple[int, int]:
    """One batch: the content of messages older than `days` (text, transcript, media references, the text
    sent instead of a refused file). Returns (messages, of which media)."""
    cutoff = func.now() - timedelta(days=float(days))
    doomed = (select(messages.c.id, (messages.c.media_url.isnot(None)
                                     | messages.c.media_file_name.isnot(None)).label("had_media"))
              .where(messages.c.tenant_id == tenant_id, messages.c.redacted_at.is_(None),
                     messages.c.created_at < cutoff,
                     messages.c.status.notin_(PENDING_INBOUND + PENDING_OUTBOUND))
              .limit(limit).with_for_update(skip_locked=True).cte("doomed"))
    rows = (await conn.execute(
        update(messages).where(messages.c.id == doomed.c.id)
        .values(text=None, transcript=None, media_url=None, media_file_name=None, fallback_text=None,
                quoted_provider_id=None, choice_id=None, redacted_at=func.now())
        .returning(doomed.c.had_media)
    )).scalars().all()
    return len(rows), sum(1 for had_media in rows if had_media)


async def remove_old_answers(conn: AsyncConnection, tenant_id: uuid.UUID, days: float) -> tuple[int, int]:
    """What customers wrote in survey answers, and the bot's dialog state (it holds the customer's encrypted
    document) of conversations closed, older than `days`. Returns (answers, conversations)."""
    cutoff = func.now() - timedelta(days=float(days))
    answers = await conn.execute(
        update(csat_responses).where(csat_responses.c.tenant_id == tenant_id, csat_responses.c.created_at < cutoff,
                                     or_(csat_responses.c.comment.isnot(None), csat_responses.c.raw_text.isnot(None)))
        .values(comment=None, raw_text=None)
    )
    states = await conn.execute(
        update(conversations).where(conversations.c.tenant_id == tenant_id, conversations.c.status == "closed",
                                    conversations.c.closed_at < cutoff,
                                    conversations.c.bot_state != literal({}, JSONB))
        .values(bot_state=literal({}, JSONB))
    )
    return answers.rowcount, states.rowcount
