"""Rows for tests, inserted as the database owner (the way the operator's commands do)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert
from sqlalchemy.engine import Connection

from niochat import accounts
from niochat.secrets import Keyring
from niochat.tables import (
    ai_configs,
    ai_usage,
    audit_log,
    contacts,
    conversation_labels,
    conversation_notes,
    conversation_reads,
    conversations,
    csat_requests,
    csat_responses,
    follow_ups,
    knowledge_entries,
    labels,
    messages,
    quick_replies,
    sgp_configs,
    team_members,
    tool_calls,
)
from tests.support.basics import TEST_SECRET, unique_slug

PASSWORD = "correct-horse-1"


@dataclass
class TenantRows:
    slug: str
    tenant_id: uuid.UUID
    ids: dict[str, list] = field(default_factory=dict)


def _add(conn: Connection, rows: TenantRows, table, **values) -> uuid.UUID:
    primary = list(table.primary_key.columns)
    returning = primary[0] if len(primary) == 1 else table.c.team_id
    row_id = conn.execute(insert(table).values(tenant_id=rows.tenant_id, **values).returning(returning)).scalar_one()
    rows.ids.setdefault(table.name, []).append(row_id)
    return row_id


def full_tenant(conn: Connection, public_url: str = "http://127.0.0.1:8000") -> TenantRows:
    """A tenant with at least one row in every tenant table."""
    slug = unique_slug()
    rows = TenantRows(slug, accounts.create_tenant(conn, slug, f"Provedor {slug}"))
    rows.ids["tenants"] = [rows.tenant_id]
    team_id = accounts.create_team(conn, slug, "suporte", "Suporte")
    rows.ids["teams"] = [team_id]
    user_id = accounts.create_user(conn, slug, f"agent@{slug}.test", "Agente", PASSWORD, "agent")
    rows.ids["users"] = [user_id]
    conn.execute(insert(team_members).values(tenant_id=rows.tenant_id, team_id=team_id, user_id=user_id))
    rows.ids["team_members"] = [team_id]
    keyring = Keyring(TEST_SECRET)
    channel = accounts.create_channel(
        conn, keyring, public_url, slug, "uazapi", "WhatsApp", "http://127.0.0.1:8100", slug, "tok-" + slug
    )
    rows.ids["channels"] = [channel.id]
    rows.ids["webhook_key"] = [channel.webhook_key]
    _add(
        conn, rows, sgp_configs, base_url="http://127.0.0.1:8200", app="niochat", token_encrypted=keyring.encrypt("sgp")
    )
    _add(conn, rows, ai_configs, base_url="http://127.0.0.1:9000/v1", model="gpt-test")
    contact_id = _add(conn, rows, contacts, phone="5511999990000", name="Cliente")
    conversation_id = _add(
        conn,
        rows,
        conversations,
        channel_id=channel.id,
        contact_id=contact_id,
        assignee_id=user_id,
        team_id=team_id,
        status="closed",
        last_inbound_at=func.now(),  # the customer wrote today: an agent may answer once it is reopened
    )
    message_id = _add(
        conn,
        rows,
        messages,
        conversation_id=conversation_id,
        channel_id=channel.id,
        direction="inbound",
        sender_kind="customer",
        provider_message_id=f"wamid-{slug}",
        text="oi",
        status="received",
    )
    _add(
        conn,
        rows,
        tool_calls,
        conversation_id=conversation_id,
        message_id=message_id,
        brain="rules",
        tool="second_copy",
        outcome="ok",
        latency_ms=12,
    )
    request_id = _add(
        conn,
        rows,
        csat_requests,
        conversation_id=conversation_id,
        contact_id=contact_id,
        scheduled_for="2026-01-01T00:00:00Z",
    )
    _add(conn, rows, csat_responses, csat_request_id=request_id, conversation_id=conversation_id, rating=5)
    _add(conn, rows, audit_log, actor_kind="system", action="test")
    _add(conn, rows, conversation_notes, conversation_id=conversation_id, author_user_id=user_id, text="nota")
    _add(conn, rows, ai_usage, conversation_id=conversation_id, model="gpt-test", outcome="ok")
    label_id = _add(conn, rows, labels, name="Financeiro", color="#16a34a")
    conn.execute(insert(conversation_labels).values(tenant_id=rows.tenant_id, conversation_id=conversation_id,
                                                    label_id=label_id, added_by_user_id=user_id))
    rows.ids["conversation_labels"] = [label_id]
    conn.execute(insert(conversation_reads).values(tenant_id=rows.tenant_id, user_id=user_id,
                                                   conversation_id=conversation_id))
    rows.ids["conversation_reads"] = [conversation_id]
    _add(conn, rows, quick_replies, shortcut="segunda-via", text="Olá {primeiro_nome}, segue a segunda via.")
    _add(conn, rows, knowledge_entries, category="planos", title="Plano 300 Mega", answer="R$ 99,90 por mês.")
    _add(conn, rows, follow_ups, conversation_id=conversation_id, contact_id=contact_id, kind="promise_reminder",
         due_at=func.now(), status="skipped", reason="outside_window", payload={"until": "2026-12-10"})
    # a row deleted at the source leaves a tombstone (deleted_rows) for the warehouse
    gone = conn.execute(insert(messages).values(
        tenant_id=rows.tenant_id, conversation_id=conversation_id, channel_id=channel.id, direction="inbound",
        sender_kind="customer", text="apagada", status="received").returning(messages.c.id)).scalar_one()
    conn.execute(delete(messages).where(messages.c.id == gone))
    rows.ids["deleted_rows"] = [gone]
    return rows


def clear_login_limits(redis_url: str) -> None:
    """Forget the login rate limits (per account and per address): tests that fail logins on purpose, or fuzz
    the login form from 127.0.0.1, must not lock the tests after them out."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in ("niochat:rl*login*", "niochat:login:*", "niochat:dash:login:*"):  # limits and lockouts
            for key in client.scan_iter(pattern):
                client.delete(key)
    finally:
        client.close()
