"""Who a customer is when WhatsApp shows a LID (`...@lid`) instead of, or beside, the phone number.

A customer first seen by LID alone is stored as a contact without a phone. As soon as any event pairs that LID
with a phone (a message carrying `senderPn`/`remoteJidAlt`/`sender_pn`, a contacts or chats update), the two
are one person: the LID-only contact is merged into the phone's contact. The conversation the customer is in
is not split: when both contacts have an open conversation on the same channel, the one written to last keeps
going and receives the other's messages, tool calls and model usage.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from niochat.logging import get_logger
from niochat.tables import ai_usage, audit_log, contacts, conversations, csat_requests, messages, tool_calls

log = get_logger(__name__)
_CONVERSATION_ROWS = (messages, tool_calls, ai_usage)  # what belongs to one conversation and moves with it
_KEPT_FIELDS = ("name", "document_encrypted", "document_hash", "document_masked", "sgp_customer_id")


async def reveal(conn: AsyncConnection, tenant_id: uuid.UUID, *, phone: str, lid: str,
                 name: str | None = None) -> str:
    """Record that `lid` is the WhatsApp account of `phone`. Returns what changed: "merged", "phone_added",
    "lid_added", "known" or "unknown" (no contact holds either yet)."""
    rows = (await conn.execute(
        select(contacts.c.id, contacts.c.phone, contacts.c.whatsapp_lid)
        .where(contacts.c.tenant_id == tenant_id, or_(contacts.c.phone == phone, contacts.c.whatsapp_lid == lid))
        .order_by(contacts.c.created_at, contacts.c.id)
        .with_for_update()
    )).all()
    by_phone = next((row for row in rows if row.phone == phone), None)
    by_lid = next((row for row in rows if row.whatsapp_lid == lid), None)
    if by_phone is None and by_lid is None:
        return "unknown"
    if by_phone is not None and by_lid is not None and by_phone.id == by_lid.id:
        return "known"
    if by_phone is None:
        if by_lid.phone is not None:  # the LID's account changed number: the LID follows the account
            log.info("contact.lid_number_changed", contact_id=str(by_lid.id))
        await conn.execute(update(contacts).where(contacts.c.id == by_lid.id).values(phone=phone))
        return "phone_added"
    if by_lid is None:
        await conn.execute(update(contacts).where(contacts.c.id == by_phone.id).values(whatsapp_lid=lid))
        return "lid_added"
    if by_lid.phone is not None and by_lid.phone != phone:
        # Another number's contact held this LID (the account moved numbers): the LID moves, nothing merges.
        await conn.execute(update(contacts).where(contacts.c.id == by_lid.id).values(whatsapp_lid=None))
        await conn.execute(update(contacts).where(contacts.c.id == by_phone.id).values(whatsapp_lid=lid))
        return "lid_added"
    await _merge(conn, tenant_id, keep=by_phone.id, gone=by_lid.id)
    await conn.execute(update(contacts).where(contacts.c.id == by_phone.id).values(whatsapp_lid=lid))
    if name:
        await conn.execute(update(contacts).where(contacts.c.id == by_phone.id, contacts.c.name.is_(None))
                           .values(name=name))
    return "merged"


async def _merge(conn: AsyncConnection, tenant_id: uuid.UUID, *, keep: uuid.UUID, gone: uuid.UUID) -> None:
    """Move everything of contact `gone` to contact `keep`, then delete `gone`."""
    open_pairs = (await conn.execute(
        select(conversations.c.id, conversations.c.channel_id, conversations.c.contact_id,
               conversations.c.last_message_at, conversations.c.created_at)
        .where(conversations.c.contact_id.in_([keep, gone]), conversations.c.status != "closed")
        .order_by(conversations.c.channel_id, func.coalesce(conversations.c.last_message_at,
                                                            conversations.c.created_at).desc())
        .with_for_update()
    )).all()
    survivors: dict[uuid.UUID, uuid.UUID] = {}
    for row in open_pairs:  # newest first per channel: the first one seen on a channel keeps going
        survivor = survivors.setdefault(row.channel_id, row.id)
        if survivor == row.id:
            continue
        for table in _CONVERSATION_ROWS:
            await conn.execute(update(table).where(table.c.conversation_id == row.id)
                               .values(conversation_id=survivor))
        await conn.execute(delete(conversations).where(conversations.c.id == row.id))
    await conn.execute(update(conversations).where(conversations.c.contact_id == gone).values(contact_id=keep))
    await conn.execute(update(csat_requests).where(csat_requests.c.contact_id == gone).values(contact_id=keep))
    gone_row = (await conn.execute(select(*(contacts.c[f] for f in _KEPT_FIELDS)).where(contacts.c.id == gone))).one()
    await conn.execute(delete(contacts).where(contacts.c.id == gone))
    await conn.execute(
        update(contacts).where(contacts.c.id == keep)
        .values(**{f: func.coalesce(contacts.c[f], getattr(gone_row, f)) for f in _KEPT_FIELDS})
    )
    await conn.execute(insert(audit_log).values(
        tenant_id=tenant_id, actor_kind="system", action="contact.merged", entity_type="contact",
        entity_id=str(keep), details={"merged_contact_id": str(gone), "reason": "whatsapp_lid_revealed"},
    ))
    log.info("contact.merged", contact_id=str(keep), merged_contact_id=str(gone))


def same_customer(phone: str | None, lid: str | None):
    """A WHERE clause for the contact a message is about: by phone when known, else by LID."""
    if phone:
        return contacts.c.phone == phone
    return and_(contacts.c.whatsapp_lid == lid, contacts.c.whatsapp_lid.isnot(None))
