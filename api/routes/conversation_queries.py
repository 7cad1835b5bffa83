"""Who may see which conversation, and the queries that turn rows into the API's shapes."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, func, literal_column, null, or_, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from api.deps import CurrentUser
from api.schemas.conversations import ContactBrief, ConversationOut, LastMessageBrief, MessageOut
from niochat.tables import (
    contacts,
    conversation_labels,
    conversation_reads,
    conversations,
    labels,
    messages,
    team_members,
    teams,
    users,
)


def sees_everything(user: CurrentUser) -> bool:
    """Managers, admins and superadmins see the whole tenant; only agents are scoped."""
    return user.role != "agent"


def visible_to(user: CurrentUser) -> ColumnElement[bool]:
    """Managers and admins see the whole tenant. An agent sees what is assigned to them (a closed conversation
    stays assigned to whoever held it last), plus the waiting queues of their teams and the waiting
    conversations no team owns."""
    if sees_everything(user):
        return true()
    my_teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    return or_(
        conversations.c.assignee_id == user.id,
        and_(
            conversations.c.status == "waiting",
            or_(conversations.c.team_id.is_(None), conversations.c.team_id.in_(my_teams)),
        ),
    )


def in_queues_of(user: CurrentUser) -> ColumnElement[bool]:
    """Conversations handed to people in a queue the user works (their teams' or no team's), whatever their state
    now: who lost a race to take one may be told who has it, although it is no longer theirs to see. What never
    left the bot stays out of an agent's sight."""
    if sees_everything(user):
        return true()
    my_teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    return and_(conversations.c.handoff_at.is_not(None),
                or_(conversations.c.team_id.is_(None), conversations.c.team_id.in_(my_teams)))


def contact_visible_to(user: CurrentUser) -> ColumnElement[bool]:
    """A contact is visible when one of its conversations is (visible_to): an agent may look up again the
    customers whose conversations they held last, closed ones included, but not those they transferred away."""
    if sees_everything(user):
        return true()
    return (
        select(conversations.c.id)
        .where(conversations.c.contact_id == contacts.c.id, visible_to(user))
        .correlate(contacts)
        .exists()
    )


PREVIEW_CHARS = 200


def _labels_of_conversation():
    """Its labels as a JSON array [{id, name, color}], by name: one correlated subquery per listed row."""
    entry = func.json_build_object(literal_column("'id'"), labels.c.id, literal_column("'name'"), labels.c.name,
                                   literal_column("'color'"), labels.c.color)
    return (
        select(func.coalesce(func.json_agg(aggregate_order_by(entry, labels.c.name)), literal_column("'[]'::json")))
        .select_from(conversation_labels.join(labels, labels.c.id == conversation_labels.c.label_id))
        .where(conversation_labels.c.conversation_id == conversations.c.id)
        .correlate(conversations)
        .scalar_subquery()
    )


UNREAD_CAP = 100  # counting stops here: a badge says "99+" and a long history costs no more than that


def _unread_for(reader: uuid.UUID):
    """The customer's messages newer than the reader's read mark (all of them before a first read), up to
    UNREAD_CAP: one probe of messages_conversation_idx per listed row, in the list's own query."""
    read_at = (select(conversation_reads.c.last_read_at)
               .where(conversation_reads.c.user_id == reader,
                      conversation_reads.c.conversation_id == conversations.c.id)
               .correlate(conversations).scalar_subquery())
    newer = (select(literal_column("1"))
             .where(messages.c.tenant_id == conversations.c.tenant_id,
                    messages.c.conversation_id == conversations.c.id, messages.c.sender_kind == "customer",
                    messages.c.created_at > func.coalesce(read_at, literal_column("'-infinity'::timestamptz")))
             .correlate(conversations).limit(UNREAD_CAP).subquery("newer"))
    return select(func.count()).select_from(newer).scalar_subquery()


def conversation_select(reader: uuid.UUID | None = None) -> Select:
    """The rows in ConversationOut's shape; with a reader, also its unread count for that user."""
    assignee = users.alias("assignee")
    # the newest message, for the inbox's preview: one index probe per row (messages_conversation_idx)
    last = (
        select(messages.c.sender_kind, messages.c.content_type, func.left(messages.c.text, PREVIEW_CHARS).label("text"),
               messages.c.created_at)
        .where(messages.c.tenant_id == conversations.c.tenant_id, messages.c.conversation_id == conversations.c.id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(1)
        .lateral("last_message")
    )
    unread = _unread_for(reader) if reader is not None else null()
    return (
        select(
            conversations,
            contacts.c.name.label("contact_name"),
            contacts.c.phone.label("contact_phone"),
            contacts.c.whatsapp_lid.label("contact_lid"),
            assignee.c.name.label("assignee_name"),
            teams.c.name.label("team_name"),
            last.c.sender_kind.label("last_sender_kind"),
            last.c.content_type.label("last_content_type"),
            last.c.text.label("last_text"),
            last.c.created_at.label("last_created_at"),
            _labels_of_conversation().label("labels"),
            unread.label("unread"),
        )
        .join(contacts, contacts.c.id == conversations.c.contact_id)
        .outerjoin(assignee, assignee.c.id == conversations.c.assignee_id)
        .outerjoin(teams, teams.c.id == conversations.c.team_id)
        .outerjoin(last, true())
    )


def conversation_out(row) -> ConversationOut:
    values = dict(row._mapping)
    contact = ContactBrief(id=values["contact_id"], name=values.pop("contact_name"), phone=values.pop("contact_phone"),
                           whatsapp_lid=values.pop("contact_lid"))
    last = {key: values.pop(f"last_{key}") for key in ("sender_kind", "content_type", "text", "created_at")}
    last_message = LastMessageBrief(**last) if last["created_at"] is not None else None
    return ConversationOut.model_validate({**values, "contact": contact, "last_message": last_message})


async def load_conversation(conn: AsyncConnection, conversation_id: uuid.UUID) -> ConversationOut:
    row = (await conn.execute(conversation_select().where(conversations.c.id == conversation_id))).one()
    return conversation_out(row)


MESSAGE_COLUMNS = [getattr(messages.c, name) for name in MessageOut.model_fields]


async def load_message(conn: AsyncConnection, message_id: uuid.UUID) -> MessageOut:
    row = (await conn.execute(select(*MESSAGE_COLUMNS).where(messages.c.id == message_id))).one()
    return MessageOut.model_validate(dict(row._mapping))
