"""SQLAlchemy Core tables of the operational schema. The migrations own the DDL; a test keeps these equal."""

from niochat.tables.base import metadata
from niochat.tables.conversations import contacts, conversation_notes, conversations, messages
from niochat.tables.follow_ups import follow_ups
from niochat.tables.knowledge import knowledge_entries
from niochat.tables.outcomes import ai_usage, audit_log, csat_requests, csat_responses, tool_calls
from niochat.tables.privacy import deleted_rows
from niochat.tables.tenancy import ai_configs, channels, sgp_configs, team_members, teams, tenants, users
from niochat.tables.workspace import conversation_labels, conversation_reads, labels, quick_replies

__all__ = [
    "metadata",
    "tenants",
    "users",
    "teams",
    "team_members",
    "channels",
    "sgp_configs",
    "ai_configs",
    "contacts",
    "conversations",
    "messages",
    "conversation_notes",
    "tool_calls",
    "csat_requests",
    "csat_responses",
    "audit_log",
    "ai_usage",
    "deleted_rows",
    "labels",
    "conversation_labels",
    "quick_replies",
    "conversation_reads",
    "knowledge_entries",
    "follow_ups",
]
