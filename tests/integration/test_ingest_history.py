"""JSONL import of historical conversations into the operational database: valid files land whole and count in
the analytics like live conversations; any bad line aborts everything with per-line errors."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from ingest.history import HistoryImportError, import_history, import_history_file
from niochat import accounts
from niochat.tables import audit_log, contacts, conversations, csat_responses, messages, tenants, tool_calls
from tests.support.basics import TEST_SECRET
from tests.support.factories import full_tenant

CPF_IN_REASON = "529.982.247-25"  # a reason typed by a person may carry a document: it is masked
README_LINE = {
    "external_id": "zendesk-48213", "contact": {"phone": "5511987654321", "name": "Maria Souza"},
    "closed_by": "agent", "handoff_at": "2025-10-01T09:05:00-03:00",
    "handoff_reason": f"customer_request {CPF_IN_REASON}", "team": "suporte",
    "messages": [
        {"at": "2025-10-01T09:00:00-03:00", "sender": "customer", "text": "quero a segunda via"},
        {"at": "2025-10-01T09:00:04-03:00", "sender": "bot", "text": "Claro! Me informe seu CPF."},
        {"at": "2025-10-01T09:07:00-03:00", "sender": "agent", "text": "Olá, Maria!"},
    ],
    "csat": {"rating": 5, "comment": "ótimo", "answered_at": "2025-10-01T09:43:00-03:00"},
}
CPF = "52998224725"
SERVED_BY_THE_BOT = {
    "external_id": "bot-7", "contact": {"phone": "5511900002222"}, "closed_by": "bot",
    "messages": [
        {"at": "2025-10-03T08:00:00-03:00", "sender": "customer", "text": "2 via", "intent": "second_copy"},
        {"at": "2025-10-03T08:00:03-03:00", "sender": "bot", "text": "Me informe o CPF do titular."},
        {"at": "2025-10-03T08:00:30-03:00", "sender": "customer", "text": CPF, "intent": "second_copy"},
        {"at": "2025-10-03T08:00:45-03:00", "sender": "bot", "text": "Nosso sistema está instável agora."},
    ],
    "tool_calls": [
        {"at": "2025-10-03T08:00:31.250-03:00", "tool": "identify_customer", "outcome": "found", "latency_ms": 420},
        {"at": "2025-10-03T08:00:31.700-03:00", "tool": "second_copy", "outcome": "sgp_unavailable",
         "latency_ms": 8100, "error": f"o SGP não respondeu a tempo ({CPF})"},
    ],
}


@pytest.fixture
def tenant(engine):
    with engine.begin() as conn:
        rows = full_tenant(conn)
        agent_email = f"agent@{rows.slug}.test"
    yield rows, agent_email
    with engine.begin() as conn:
        conn.execute(delete(tenants).where(tenants.c.id == rows.tenant_id))


def _line(**overrides) -> str:
    return json.dumps({**README_LINE, **overrides})


def _counts(engine, tenant_id) -> tuple[int, int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id))
                     .scalar() for table in (conversations, messages, csat_responses, tool_calls))


def test_a_valid_file_is_imported_with_derived_times_and_a_source(engine, tenant, tmp_path):
    rows, agent = tenant
    line = json.loads(_line(agent=agent))
    line["messages"][2]["agent"] = agent
    second = {**README_LINE, "external_id": "zendesk-2", "contact": {"phone": "5511900001111"}, "csat": None,
              "team": None, "handoff_at": None, "handoff_reason": None, "closed_by": "bot",
              "messages": [{"at": "2025-10-02T10:00:00Z", "sender": "customer", "text": "oi"},
                           {"at": "2025-10-02T10:00:02Z", "sender": "bot", "text": "Olá!"}]}
    path = tmp_path / "historico.jsonl"
    path.write_text(json.dumps(line) + "\n\n" + json.dumps(second) + "\n")
    before = _counts(engine, rows.tenant_id)
    report = import_history_file(engine, rows.slug, path)
    assert (report.imported, report.messages, report.skipped) == (2, 5, [])
    after = _counts(engine, rows.tenant_id)
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (2, 5, 1, 0)  # no intents, no tool calls
    with engine.connect() as conn:
        conv = conn.execute(
            select(conversations).join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone == "5511987654321", contacts.c.tenant_id == rows.tenant_id)).one()
        assert conv.status == "closed" and not conv.is_generated and conv.close_reason == "imported"
        assert conv.first_bot_reply_at.isoformat() == "2025-10-01T12:00:04+00:00"
        assert conv.first_human_reply_at.isoformat() == "2025-10-01T12:07:00+00:00"
        assert conv.closed_at == conv.last_message_at and conv.assignee_id is not None
        assert conv.handoff_reason.startswith("customer_request ") and CPF_IN_REASON not in conv.handoff_reason
        assert conn.execute(select(csat_responses.c.sentiment, csat_responses.c.rating)
                            .where(csat_responses.c.conversation_id == conv.id)).one() == ("positive", 5)
        audit = conn.execute(select(audit_log.c.details).where(audit_log.c.entity_id == str(conv.id))).scalar_one()
        assert audit == {"format": "niochat-history-v1", "source": "historico.jsonl", "external_id": "zendesk-48213"}
    again = import_history_file(engine, rows.slug, path)
    assert (again.imported, sorted(again.skipped)) == (0, ["zendesk-2", "zendesk-48213"])
    assert _counts(engine, rows.tenant_id) == after


def test_one_bad_line_imports_nothing_and_every_error_names_its_line(engine, tenant):
    rows, agent = tenant
    lines = [
        _line(external_id="ok-1"),
        "{not json",
        _line(external_id="bad-phone", contact={"phone": "11-9999"}),
        _line(external_id="naive", messages=[{"at": "2025-10-01T09:00:00", "sender": "customer", "text": "oi"}]),
        _line(external_id="order", messages=[
            {"at": "2025-10-01T10:00:00Z", "sender": "customer", "text": "b"},
            {"at": "2025-10-01T09:00:00Z", "sender": "bot", "text": "a"}]),
        _line(external_id="ok-1"),
        _line(external_id="team", team="vendas", agent="ninguem@example.com", extra=1),
        _line(external_id="rating", csat={"rating": 7, "answered_at": "2025-10-01T09:43:00-03:00"}),
        _line(external_id="reason", handoff_at=None),
    ]
    before = _counts(engine, rows.tenant_id)
    with pytest.raises(HistoryImportError) as raised, engine.begin() as conn:
        import_history(conn, rows.slug, lines)
    errors = "\n".join(raised.value.errors)
    assert "line 2: not valid JSON" in errors
    assert "line 3: contact.phone" in errors
    assert "line 4: messages.0.at: Input should have timezone info" in errors
    assert "line 5: " in errors and "chronological order" in errors
    assert "line 6: external_id 'ok-1' repeats line 1" in errors
    assert "line 7: extra: Extra inputs are not permitted" in errors
    assert "line 8: csat.rating" in errors
    assert "line 9: " in errors and "handoff_reason needs handoff_at" in errors
    assert "line 1:" not in errors
    assert _counts(engine, rows.tenant_id) == before

    with pytest.raises(HistoryImportError) as raised, engine.begin() as conn:
        import_history(conn, rows.slug, [_line(external_id="refs", team="vendas", agent="ninguem@example.com")])
    assert raised.value.errors == ["line 1: team: no team 'vendas'",
                                   "line 1: agent: no user 'ninguem@example.com' in this tenant"]
    with pytest.raises(HistoryImportError, match="does not exist"), engine.begin() as conn:
        import_history(conn, "no-such-tenant", [_line()])


def test_import_history_command(engine, tenant, tmp_path, database_url, redis_url):
    from cli import app

    rows, _ = tenant
    with engine.begin() as conn:
        accounts.create_team(conn, rows.slug, "financeiro", "Financeiro")
    env = {"NIOCHAT_DATABASE_URL": database_url, "NIOCHAT_REDIS_URL": redis_url,
           "NIOCHAT_SECRET_KEY": TEST_SECRET, "NIOCHAT_DATA_DIR": str(tmp_path)}
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(_line(team="financeiro") + "\n")
    bad.write_text(_line() + "\n" + _line(external_id="x", contact={"phone": "abc"}) + "\n")
    result = CliRunner().invoke(app, ["pipeline", "import-history", str(bad), "--tenant", rows.slug], env=env)
    assert result.exit_code == 1 and "line 2: contact.phone" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["pipeline", "import-history", str(good), "--tenant", rows.slug], env=env)
    assert result.exit_code == 0, result.output
    assert "imported 1 conversation(s), 3 message(s)" in result.output


def _bot_served(**overrides) -> str:
    return json.dumps({**SERVED_BY_THE_BOT, **overrides})


def test_intents_and_tool_calls_are_imported_like_live_ones(engine, tenant):
    rows, _ = tenant
    with engine.begin() as conn:
        import_history(conn, rows.slug, [_bot_served(), _line()])
    with engine.connect() as conn:
        conv, old_conv = (conn.execute(
            select(conversations.c.id).join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone == phone, contacts.c.tenant_id == rows.tenant_id)).scalar_one()
            for phone in ("5511900002222", "5511987654321"))
        intents, old_intents = (conn.scalars(select(messages.c.intent).where(messages.c.conversation_id == c)
                                             .order_by(messages.c.created_at)).all() for c in (conv, old_conv))
        calls = conn.execute(select(tool_calls).where(tool_calls.c.conversation_id == conv)
                             .order_by(tool_calls.c.created_at)).all()
        old_calls = conn.scalar(select(func.count()).where(tool_calls.c.conversation_id == old_conv))
    assert intents == ["second_copy", None, "second_copy", None]
    assert [(c.tenant_id, c.brain, c.tool, c.outcome, c.latency_ms, c.arguments) for c in calls] == [
        (rows.tenant_id, "rules", "identify_customer", "found", 420, {}),
        (rows.tenant_id, "rules", "second_copy", "sgp_unavailable", 8100, {}),
    ]
    assert [c.created_at.isoformat() for c in calls] == ["2025-10-03T11:00:31.250000+00:00",
                                                         "2025-10-03T11:00:31.700000+00:00"]
    assert CPF not in calls[1].error and calls[1].error.startswith("o SGP não respondeu a tempo")
    assert (old_intents, old_calls) == ([None, None, None], 0)  # a line without the new fields imports as before


def test_unknown_intents_tools_outcomes_or_a_call_outside_the_conversation_import_nothing(engine, tenant):
    rows, _ = tenant
    call = SERVED_BY_THE_BOT["tool_calls"][0]
    said = SERVED_BY_THE_BOT["messages"]
    lines = [
        _bot_served(),
        _bot_served(external_id="tool", tool_calls=[{**call, "tool": "weather"}]),
        _bot_served(external_id="outcome", tool_calls=[{**call, "outcome": "maybe"}]),
        _bot_served(external_id="intent", messages=[{**said[0], "intent": CPF}, *said[1:]]),
        _bot_served(external_id="late", tool_calls=[{**call, "at": "2025-10-03T09:00:00-03:00"}]),
        _bot_served(external_id="bot-intent", messages=[said[0], {**said[1], "intent": "greeting"}, *said[2:]]),
        _bot_served(external_id="latency", tool_calls=[{**call, "latency_ms": -1}]),
    ]
    before = _counts(engine, rows.tenant_id)
    with pytest.raises(HistoryImportError) as raised, engine.begin() as conn:
        import_history(conn, rows.slug, lines)
    errors = raised.value.errors
    assert [error.split(":")[0] for error in errors] == [f"line {n}" for n in range(2, 8)]
    assert errors[0].startswith("line 2: tool_calls.0.tool: Value error, not a known tool (known: ")
    assert "choose_contract, close_conversation" in errors[0]  # the vocabulary's tools, in order
    assert errors[1].startswith("line 3: tool_calls.0.outcome: Value error, not a known tool outcome")
    assert errors[2].startswith("line 4: messages.0.intent: Value error, not a known intent")
    assert "tool_calls.0.at is outside the conversation" in errors[3]
    assert "messages.1.intent is only for sender 'customer'" in errors[4]
    assert errors[5].startswith("line 7: tool_calls.0.latency_ms")
    assert CPF not in "\n".join(errors)
    assert _counts(engine, rows.tenant_id) == before
