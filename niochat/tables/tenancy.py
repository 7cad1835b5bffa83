from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, REAL, UUID

from niochat.tables.base import id_column, metadata, tenant_column, timestamps, ts

tenants = Table(
    "tenants",
    metadata,
    id_column(),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default="America/Sao_Paulo"),
    Column("settings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(),
    # An operator's permission (never the tenant's): its SGP may be on a private network (niochat.egress).
    Column("sgp_private_network", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'"),
)

teams = Table(
    "teams",
    metadata,
    id_column(),
    tenant_column(),
    Column("slug", Text, nullable=False),
    Column("name", Text, nullable=False),
    *timestamps(),
    # conversations entering this team's queue go to its least-loaded online member (0017); off: agents take them
    Column("auto_assign", Boolean, nullable=False, server_default=text("false")),
    UniqueConstraint("tenant_id", "slug"),
    UniqueConstraint("tenant_id", "id"),
)

users = Table(
    "users",
    metadata,
    id_column(),
    tenant_column(),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    ts("last_login_at"),
    *timestamps(),
    # raised (by a trigger) on a password, activity or role change, or a logout everywhere: older tokens die
    Column("token_version", Integer, nullable=False, server_default=text("0")),
    # open conversations auto-assignment gives this user at most, and when it last gave them one (0017)
    Column("capacity", Integer, nullable=False, server_default=text("5")),
    ts("last_assigned_at"),
    CheckConstraint("capacity BETWEEN 0 AND 100", name="users_capacity_check"),
    UniqueConstraint("tenant_id", "id"),
    Index("users_email_key", func.lower(text("email")), unique=True),
)

team_members = Table(
    "team_members",
    metadata,
    tenant_column(),
    Column("team_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    *timestamps(),
    ForeignKeyConstraint(["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"], ondelete="CASCADE"),
    ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"),
)

channels = Table(
    "channels",
    metadata,
    id_column(),
    tenant_column(),
    Column("provider", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("base_url", Text, nullable=False),
    Column("instance", Text, nullable=False),
    Column("token_encrypted", Text, nullable=False),  # the key NioChat calls the provider with
    # the webhook URL's key, as a hex SHA-256 (niochat.channel_keys): the key is shown once, never stored
    Column("webhook_key_sha256", Text, nullable=False, unique=True),
    Column("connection_status", Text, nullable=False, server_default="unknown"),
    ts("connection_changed_at"),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(),
    # what the provider's webhooks carry, when not token_encrypted: Evolution's instance token for a channel that
    # calls with the server's global key (migration 0008)
    Column("webhook_token_encrypted", Text),
    Column("webhook_key_hint", Text, nullable=False),  # the key's last characters, to recognise a URL by (0014)
    UniqueConstraint("tenant_id", "provider", "instance"),
    UniqueConstraint("tenant_id", "id"),
)

sgp_configs = Table(
    "sgp_configs",
    metadata,
    id_column(),
    tenant_column(),
    Column("base_url", Text, nullable=False),
    Column("app", Text, nullable=False),
    Column("token_encrypted", Text, nullable=False),
    Column("timeout_seconds", REAL, nullable=False, server_default=text("8")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(),
    # the operator's ticket kind -> SGP occurrence type id ({"sem_conexao": 2301}); null: matched by name
    Column("occurrence_types", JSONB(none_as_null=True)),
    UniqueConstraint("tenant_id"),
)

ai_configs = Table(
    "ai_configs",
    metadata,
    id_column(),
    tenant_column(),
    Column("base_url", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("api_key_encrypted", Text),
    Column("timeout_seconds", REAL, nullable=False, server_default=text("8")),
    Column("temperature", REAL, nullable=False, server_default=text("0.2")),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(),
    Column("transcription_model", Text, server_default="whisper-1"),  # voice notes; null: not transcribed
    UniqueConstraint("tenant_id"),
)
