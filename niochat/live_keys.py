"""The Redis keys of the live counters: the engine writes them (api/engine: the sweeper's hash, per-minute message
counters), the dashboards read them (dash_app/live.py). Built here once so the two cannot drift."""

from __future__ import annotations

import uuid

# The sweeper's hash per tenant: conversations per status now (assigned: those with an agent), and when it was
# refreshed (epoch seconds; the dashboards show the counters' age).
COUNTERS = ("bot", "waiting", "open", "assigned")
REFRESHED_AT = "refreshed_at"


def counters_key(tenant_id: uuid.UUID | str) -> str:
    return f"niochat:live:{tenant_id}"


def minute_key(tenant_id: uuid.UUID | str, direction: str, minute: int) -> str:
    """Messages of one direction (niochat.vocabulary.MESSAGE_DIRECTIONS) in one epoch minute."""
    return f"niochat:live:{tenant_id}:{direction}:{minute}"


# Presence (api/engine/presence.py): the status each user chose, per tenant (a hash user id -> online | away), and
# a heartbeat per user that expires when nothing refreshes it (the workspace's socket does, while it is open).
# A user is offline when either is missing. The set of tenants with someone present is what the sweeper visits.
PRESENCE_TENANTS = "niochat:presence:tenants"


def presence_key(tenant_id: uuid.UUID | str) -> str:
    return f"niochat:presence:{tenant_id}"


def heartbeat_key(tenant_id: uuid.UUID | str, user_id: uuid.UUID | str) -> str:
    return f"niochat:presence:{tenant_id}:{user_id}"
