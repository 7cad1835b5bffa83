"""Follow-ups the bot owes a customer (migration 0024): the promise date's reminder and the connection re-check."""

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from niochat.tables.base import id_column, metadata, tenant_column, tenant_fk, timestamps, ts

FOLLOW_UP_KINDS = ("promise_reminder", "connection_recheck")
FOLLOW_UP_STATUSES = ("pending", "sent", "skipped", "cancelled")

follow_ups = Table(
    "follow_ups",
    metadata,
    id_column(),
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("contact_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("reason", Text),  # why it was skipped or cancelled (outside_window, ...)
    ts("sent_at"),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),  # contract, promise date
    *timestamps(),
    CheckConstraint("kind = ANY (ARRAY['promise_reminder'::text, 'connection_recheck'::text])"),
    CheckConstraint("status = ANY (ARRAY['pending'::text, 'sent'::text, 'skipped'::text, 'cancelled'::text])"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    tenant_fk("contact_id", "contacts", "CASCADE"),
    Index("follow_ups_due_idx", "due_at", postgresql_where=text("status = 'pending'::text")),
    Index("follow_ups_conversation_idx", "tenant_id", "conversation_id", "kind"),
)
