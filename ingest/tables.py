"""What is copied from each operational table into `raw`: an allow-list of columns, never secrets.

Columns are listed explicitly (not "everything but the secrets") so that a column added by a future migration
stays out of the warehouse until someone decides it belongs there; `tests/integration/test_ingest_sync.py` fails when a
source column is neither copied nor deliberately excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TIMESTAMPS = ("created_at", "updated_at")


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...] = ("id",)
    # Free text where a customer may have typed a CPF/CNPJ: copied with every document masked.
    masked_text: tuple[str, ...] = ()
    # JSON documents whose string values are masked the same way.
    masked_json: tuple[str, ...] = ()
    # Source columns deliberately left behind, and why.
    excluded: dict[str, str] = field(default_factory=dict)
    # Columns the warehouse indexes for dbt's joins (besides the key and the load time).
    indexed: tuple[str, ...] = ()


def _cols(*names: str) -> tuple[str, ...]:
    return (*names, *TIMESTAMPS)


TABLES: tuple[RawTable, ...] = (
    RawTable(
        "tenants",
        _cols("id", "slug", "name", "timezone", "is_active"),
        excluded={"settings": "persona, business hours and integration details: operational, not analytical",
                  "sgp_private_network": "an operator's egress permission: operational, not analytical"},
    ),
    RawTable(
        "users",
        _cols("id", "tenant_id", "email", "name", "role", "is_active", "last_login_at"),
        excluded={"password_hash": "secret", "token_version": "authentication bookkeeping, not analytical",
                  "capacity": "auto-assignment's setting (operational), not analytical",
                  "last_assigned_at": "auto-assignment's tie-break bookkeeping, not analytical"},
    ),
    RawTable("teams", _cols("id", "tenant_id", "slug", "name"),
             excluded={"auto_assign": "auto-assignment's switch (operational), not analytical"}),
    RawTable("team_members", _cols("tenant_id", "team_id", "user_id"), key=("team_id", "user_id")),
    RawTable(
        "channels",
        _cols(
            "id", "tenant_id", "provider", "name", "base_url", "instance", "connection_status",
            "connection_changed_at", "is_active",
        ),
        excluded={"token_encrypted": "secret", "webhook_token_encrypted": "secret",
                  "webhook_key_sha256": "the hash of a secret (the key of the provider's webhook URL)",
                  "webhook_key_hint": "operational: recognises a webhook URL, nothing to analyse"},
    ),
    RawTable(
        "contacts",
        _cols(
            "id", "tenant_id", "phone", "whatsapp_lid", "name", "document_hash", "document_masked", "sgp_customer_id",
            "erased_at",
        ),
        excluded={"document_encrypted": "the full CPF/CNPJ: only its hash and masked form are copied"},
    ),
    RawTable(
        "conversations",
        _cols(
            "id", "tenant_id", "channel_id", "contact_id", "status", "assignee_id", "team_id", "sgp_customer_id",
            "sgp_contract_id", "handoff_reason", "close_reason", "closed_by", "closed_by_user_id",
            "last_message_at", "last_inbound_at", "first_bot_reply_at", "first_human_reply_at", "handoff_at",
            "assigned_at", "closed_at", "is_generated", "phone_agent_at",
        ),
        masked_text=("handoff_reason",),  # the model's own words may quote the customer
        excluded={"bot_state": "the bot's dialog state: holds the customer's encrypted document"},
        indexed=("contact_id",),
    ),
    # The agents' labels and which conversations carry them (after conversations: the same snapshot holds every
    # conversation a label row names). Keyed by the surrogate id, so removals travel by tombstone like the rest.
    RawTable("labels", _cols("id", "tenant_id", "name", "color")),
    RawTable(
        "conversation_labels",
        _cols("id", "tenant_id", "conversation_id", "label_id", "added_by_user_id"),
        indexed=("conversation_id", "label_id"),
    ),
    RawTable(
        "messages",
        _cols(
            "id", "tenant_id", "conversation_id", "channel_id", "direction", "sender_kind", "sender_user_id",
            "provider_message_id", "content_type", "text", "media_mime", "status", "error", "attempts",
            "provider_timestamp", "processed_at", "sent_at", "intent", "transcript", "media_size", "media_seconds",
            "edited_at", "choice_id", "redacted_at",
        ),
        masked_text=("text", "transcript"),
        excluded={
            "media_url": "provider media links can be fetched by whoever holds them",
            "media_file_name": "customers' file names often carry their names",
            "fallback_text": "engine plumbing (the text sent when a media send is refused)",
            "quoted_provider_id": "provider plumbing",
            "idempotency_key": "engine plumbing",
            "next_attempt_at": "engine plumbing",
            "sending_since": "engine plumbing (exactly-once sends)",
        },
        indexed=("conversation_id",),
    ),
    RawTable(
        "tool_calls",
        _cols(
            "id", "tenant_id", "conversation_id", "message_id", "brain", "tool", "arguments", "outcome", "error",
            "latency_ms",
        ),
        masked_text=("error",),
        masked_json=("arguments",),
        indexed=("conversation_id",),
    ),
    RawTable(
        "csat_requests",
        _cols(
            "id", "tenant_id", "conversation_id", "contact_id", "agent_id", "status", "scheduled_for", "sent_at",
            "answered_at", "expires_at",
        ),
        indexed=("conversation_id",),
    ),
    RawTable(
        "csat_responses",
        _cols(
            "id", "tenant_id", "csat_request_id", "conversation_id", "rating", "sentiment", "comment", "raw_text",
            "understood_by",
        ),
        masked_text=("comment", "raw_text"),
        indexed=("conversation_id",),
    ),
    RawTable(
        "audit_log",
        _cols("id", "tenant_id", "actor_kind", "actor_user_id", "action", "entity_type", "entity_id", "details"),
        masked_json=("details",),
    ),
    # Tombstones: which rows of the tables above were deleted at the source (ids only). Each incremental load
    # removes from raw the rows its table's tombstones name, and the incremental marts drop them too.
    RawTable("deleted_rows", _cols("id", "tenant_id", "table_name", "row_id"), indexed=("row_id",)),
)

BY_NAME = {table.name: table for table in TABLES}
# The tables whose deleted rows leave a tombstone in `deleted_rows` (the trigger of migrations 0011 and 0019).
TOMBSTONED = frozenset({"users", "teams", "channels", "contacts", "conversations", "labels", "conversation_labels",
                        "messages", "tool_calls", "csat_requests", "csat_responses", "audit_log"})


def select(names: list[str] | tuple[str, ...] | None) -> tuple[RawTable, ...]:
    """The tables named (in load order), or all of them; unknown names are an error."""
    if not names:
        return TABLES
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown raw tables: {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return tuple(table for table in TABLES if table.name in names)
