"""The agents' workspace (migrations 0016, 0018, 0019): labels put on conversations, quick replies, read marks."""

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Table, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import UUID

from niochat.tables.base import id_column, metadata, tenant_column, tenant_fk, timestamps

labels = Table(
    "labels",
    metadata,
    id_column(),
    tenant_column(),
    Column("name", Text, nullable=False),
    Column("color", Text, nullable=False),  # "#rrggbb", lower case
    *timestamps(),
    CheckConstraint("length(name) >= 1 AND length(name) <= 50"),
    CheckConstraint("color ~ '^#[0-9a-f]{6}$'::text"),
    UniqueConstraint("tenant_id", "id"),
    Index("labels_name_key", "tenant_id", func.lower(text("name")), unique=True),
)

conversation_labels = Table(
    "conversation_labels",
    metadata,
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("label_id", UUID(as_uuid=True), primary_key=True),
    Column("added_by_user_id", UUID(as_uuid=True)),
    *timestamps(),
    # the warehouse's key for the row's tombstone when it is removed (migration 0019)
    Column("id", UUID(as_uuid=True), nullable=False, server_default=text("gen_random_uuid()")),
    UniqueConstraint("id", name="conversation_labels_id_key"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    tenant_fk("label_id", "labels", "CASCADE"),
    tenant_fk("added_by_user_id", "users"),
    Index("conversation_labels_label_idx", "tenant_id", "label_id"),
)

SHORTCUT = r"^[a-z0-9]+(-[a-z0-9]+)*$"

quick_replies = Table(
    "quick_replies",
    metadata,
    id_column(),
    tenant_column(),
    Column("team_id", UUID(as_uuid=True)),  # null: for the whole tenant
    Column("shortcut", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("media_url", Text),
    *timestamps(),
    CheckConstraint(f"shortcut ~ '{SHORTCUT}'::text AND length(shortcut) <= 40"),
    CheckConstraint("length(text) >= 1 AND length(text) <= 4096"),
    UniqueConstraint("tenant_id", "shortcut"),
    tenant_fk("team_id", "teams", "CASCADE"),
)

# How far each user has read each conversation: the inbox's unread counts (customer messages newer than this)
conversation_reads = Table(
    "conversation_reads",
    metadata,
    tenant_column(),
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("conversation_id", UUID(as_uuid=True), primary_key=True),
    Column("last_read_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    *timestamps(),
    tenant_fk("user_id", "users", "CASCADE"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    Index("conversation_reads_conversation_idx", "tenant_id", "conversation_id"),
)
