from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from niochat.tables.base import id_column, metadata, tenant_column, tenant_fk, timestamps, ts

contacts = Table(
    "contacts",
    metadata,
    id_column(),
    tenant_column(),
    Column("phone", Text),  # empty while WhatsApp shows the customer only by LID
    Column("whatsapp_lid", Text),
    Column("name", Text),
    Column("document_encrypted", Text),
    Column("document_hash", Text),
    Column("document_masked", Text),
    Column("sgp_customer_id", Text),
    *timestamps(),
    ts("erased_at"),  # anonymised by an erasure request (LGPD): no phone, LID, name or document left
    UniqueConstraint("tenant_id", "phone"),
    UniqueConstraint("tenant_id", "id"),
    Index("contacts_document_hash_idx", "tenant_id", "document_hash"),
    Index("contacts_tenant_lid_key", "tenant_id", "whatsapp_lid", unique=True,
          postgresql_where=text("whatsapp_lid IS NOT NULL")),
    CheckConstraint("phone IS NOT NULL OR whatsapp_lid IS NOT NULL OR erased_at IS NOT NULL",
                    name="contacts_phone_or_lid"),
)

conversations = Table(
    "conversations",
    metadata,
    id_column(),
    tenant_column(),
    Column("channel_id", UUID(as_uuid=True), nullable=False),
    Column("contact_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False, server_default="bot"),
    Column("assignee_id", UUID(as_uuid=True)),
    Column("team_id", UUID(as_uuid=True)),
    Column("sgp_customer_id", Text),
    Column("sgp_contract_id", Text),
    Column("handoff_reason", Text),
    Column("close_reason", Text),
    Column("closed_by", Text),
    Column("closed_by_user_id", UUID(as_uuid=True)),
    ts("last_message_at"),
    ts("last_inbound_at"),
    ts("first_bot_reply_at"),
    ts("first_human_reply_at"),
    ts("handoff_at"),
    ts("assigned_at"),
    ts("closed_at"),
    Column("is_generated", Boolean, nullable=False, server_default=text("false")),
    Column("bot_state", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    *timestamps(),
    ts("phone_agent_at"),  # a person last wrote from the instance's own phone; the bot waits
    UniqueConstraint("tenant_id", "id"),
    tenant_fk("channel_id", "channels"),
    tenant_fk("contact_id", "contacts"),
    tenant_fk("assignee_id", "users"),
    tenant_fk("team_id", "teams"),
    tenant_fk("closed_by_user_id", "users"),
    Index("conversations_status_idx", "tenant_id", "status", text("last_message_at DESC")),
    Index("conversations_contact_idx", "tenant_id", "contact_id", text("created_at DESC")),
    Index("conversations_assignee_idx", "tenant_id", "assignee_id", postgresql_where=text("assignee_id IS NOT NULL")),
    Index("conversations_team_idx", "tenant_id", "team_id", "status"),
    Index("conversations_sync_idx", "updated_at", "id"),
    Index("conversations_one_active_key", "channel_id", "contact_id", unique=True,
          postgresql_where=text("status <> 'closed'::text")),
)

messages = Table(
    "messages",
    metadata,
    id_column(),
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("channel_id", UUID(as_uuid=True), nullable=False),
    Column("direction", Text, nullable=False),
    Column("sender_kind", Text, nullable=False),
    Column("sender_user_id", UUID(as_uuid=True)),
    Column("provider_message_id", Text),
    Column("idempotency_key", Text),
    Column("content_type", Text, nullable=False, server_default="text"),
    Column("text", Text),
    Column("media_url", Text),
    Column("media_mime", Text),
    Column("quoted_provider_id", Text),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    ts("provider_timestamp"),
    ts("processed_at"),
    ts("sent_at"),
    ts("next_attempt_at"),
    *timestamps(),
    ts("sending_since"),
    Column("intent", Text),
    Column("media_file_name", Text),
    Column("media_size", BigInteger),  # bytes, as the provider reported them
    Column("media_seconds", Integer),  # length of a voice note or video
    Column("transcript", Text),  # what a voice note says, read by the tenant's transcription model
    Column("fallback_text", Text),  # sent instead of an outbound media the provider refused
    ts("edited_at"),  # the customer (or the phone attendant) edited this message on WhatsApp
    Column("choice_id", Text),  # the id of the list row or button the customer picked
    ts("redacted_at"),  # content removed (erasure or retention); the row stays for the metrics
    UniqueConstraint("tenant_id", "id"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    tenant_fk("channel_id", "channels"),
    tenant_fk("sender_user_id", "users"),
    Index(
        "messages_provider_id_key",
        "channel_id",
        "provider_message_id",
        unique=True,
        postgresql_where=text("provider_message_id IS NOT NULL"),
    ),
    Index(
        "messages_idempotency_key",
        "tenant_id",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key IS NOT NULL"),
    ),
    Index("messages_conversation_idx", "tenant_id", "conversation_id", "created_at"),
    Index(
        "messages_pending_idx",
        "status",
        "created_at",
        postgresql_where=text("status = ANY (ARRAY['received'::text, 'queued'::text, 'sending'::text])"),
    ),
    Index("messages_sync_idx", "updated_at", "id"),
    Index("messages_retention_idx", "tenant_id", "created_at", postgresql_where=text("redacted_at IS NULL")),
    Index("messages_media_retention_idx", "tenant_id", "created_at", postgresql_where=text("media_url IS NOT NULL")),
    # full-text search (migration 0016): api.routes.search repeats this expression to use it
    Index("messages_search_idx", text("to_tsvector('portuguese'::regconfig, niochat_unaccent_pt(text))"),
          postgresql_using="gin"),
)

# Agents' internal notes (migration 0015): a table of its own, which nothing that sends ever reads.
conversation_notes = Table(
    "conversation_notes",
    metadata,
    id_column(),
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("author_user_id", UUID(as_uuid=True)),
    Column("text", Text, nullable=False),
    *timestamps(),
    CheckConstraint("length(text) >= 1 AND length(text) <= 4000"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    tenant_fk("author_user_id", "users"),
    Index("conversation_notes_conversation_idx", "tenant_id", "conversation_id", "created_at"),
)
