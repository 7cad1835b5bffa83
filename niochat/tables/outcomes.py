"""What conversations produce: tool calls, CSAT, audit entries."""

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from niochat.tables.base import id_column, metadata, tenant_column, tenant_fk, timestamps, ts

tool_calls = Table(
    "tool_calls",
    metadata,
    id_column(),
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("message_id", UUID(as_uuid=True)),
    Column("brain", Text, nullable=False),
    Column("tool", Text, nullable=False),
    Column("arguments", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("outcome", Text, nullable=False),
    Column("error", Text),
    Column("latency_ms", Integer, nullable=False, server_default=text("0")),
    *timestamps(),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    tenant_fk("message_id", "messages"),
    Index("tool_calls_conversation_idx", "tenant_id", "conversation_id", "created_at"),
    Index("tool_calls_sync_idx", "updated_at", "id"),
)

csat_requests = Table(
    "csat_requests",
    metadata,
    id_column(),
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("contact_id", UUID(as_uuid=True), nullable=False),
    Column("agent_id", UUID(as_uuid=True)),
    Column("status", Text, nullable=False, server_default="scheduled"),
    Column("scheduled_for", DateTime(timezone=True), nullable=False),
    ts("sent_at"),
    ts("answered_at"),
    ts("expires_at"),
    *timestamps(),
    UniqueConstraint("tenant_id", "id"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    tenant_fk("contact_id", "contacts"),
    tenant_fk("agent_id", "users"),
    Index("csat_requests_due_idx", "status", "scheduled_for"),
    Index("csat_requests_contact_idx", "tenant_id", "contact_id", "status"),
    Index("csat_requests_sync_idx", "updated_at", "id"),
)

csat_responses = Table(
    "csat_responses",
    metadata,
    id_column(),
    tenant_column(),
    Column("csat_request_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("rating", SmallInteger, nullable=False),
    Column("sentiment", Text),
    Column("comment", Text),
    Column("raw_text", Text),
    Column("understood_by", Text),
    *timestamps(),
    tenant_fk("csat_request_id", "csat_requests", "CASCADE"),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    Index("csat_responses_created_idx", "tenant_id", "created_at"),
    Index("csat_responses_sync_idx", "updated_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    id_column(),
    tenant_column(),
    Column("actor_kind", Text, nullable=False),
    Column("actor_user_id", UUID(as_uuid=True)),
    Column("action", Text, nullable=False),
    Column("entity_type", Text),
    Column("entity_id", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    *timestamps(),
    tenant_fk("actor_user_id", "users"),
    Index("audit_log_tenant_idx", "tenant_id", text("created_at DESC")),
    Index("audit_log_entity_idx", "tenant_id", "entity_type", "entity_id", "created_at"),  # migration 0022
    Index("audit_log_sync_idx", "updated_at", "id"),
)

ai_usage = Table(
    "ai_usage",
    metadata,
    id_column(),
    tenant_column(),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("model", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False, server_default=text("0")),
    Column("completion_tokens", Integer, nullable=False, server_default=text("0")),
    Column("latency_ms", Integer, nullable=False, server_default=text("0")),
    Column("outcome", Text, nullable=False),
    *timestamps(),
    tenant_fk("conversation_id", "conversations", "CASCADE"),
    Index("ai_usage_conversation_idx", "tenant_id", "conversation_id", "created_at"),
    Index("ai_usage_sync_idx", "updated_at", "id"),
)
