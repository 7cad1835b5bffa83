"""The dbt project on real PostgreSQL: data produced by the conversation engine's own code paths (webhook ->
worker -> WhatsApp sandbox, agents through the REST API) plus a small dataset whose every metric is computed by
hand below, loaded by ingest/ and built with `dbt build` (data tests, unit tests, contracts, RLS).

The module works in its own operational database so other tests' rows cannot change the numbers.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, insert, select

from api.security import issue_token
from ingest.dbt_command import dbt_project_dir, run_dbt
from ingest.sync import sync
from niochat import accounts, migrate
from niochat.database import drop_database, ensure_database, libpq_url, sync_engine
from niochat.secrets import Keyring
from niochat.tables import (
    channels,
    contacts,
    conversation_labels,
    conversations,
    csat_requests,
    csat_responses,
    labels,
    messages,
    tool_calls,
)
from tests.support.basics import TEST_SECRET, unique_slug
from tests.support.stack import start_stack

KEYRING = Keyring(TEST_SECRET)
MARTS = ("dim_tenants", "dim_contacts", "dim_users", "dim_labels", "fct_conversations", "fct_messages",
         "fct_csat_responses", "fct_tool_calls", "fct_conversation_labels", "agg_tenant_daily_kpis",
         "agg_agent_daily_kpis", "agg_tenant_daily_intents", "agg_tenant_daily_tool_outcomes",
         "agg_tenant_daily_handoff_reasons", "agg_tenant_hourly_volume", "agg_tenant_daily_labels")


@dataclass
class Known:
    """The hand-computed tenant: ids by name (k1..k4 conversations)."""

    slug: str
    tenant_id: uuid.UUID
    ids: dict


@dataclass
class Built:
    database_url: str
    warehouse_url: str
    known: Known
    engine_tenant: uuid.UUID
    build: object


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _known_tenant(engine) -> Known:
    """São Paulo (UTC-3) tenant, four conversations on Monday 2026-03-02 local time; see the expectations below.

    k1 09:00 local: bot answers in 5 s, closed by the bot after 10 min, CSAT 5. Asked for a second copy.
    k2 10:00 local: bot in 3 s, handoff at +2 min (the customer asked), Ana replies 4 min after the handoff (6 min
       after creation), closed by her at +30 min, CSAT 2 about her; SGP tools (one timeout, a ticket, a refused
       unlock). Said the connection was down, then asked for a human.
    k3 23:30 local (02:30 UTC next day): bot in 10 s, handed off, still waiting. Asked for a second copy.
    k4 11:00 local: bot in 1 s, closed by the system at 01:00 local on March 3; survey sent then, never answered.
       Asked for a trust unlock.
    Agent Ana is in team Suporte. Labels: Financeiro on k1, k2 and k3; Urgente on k2.
    """
    slug = unique_slug("kpi")
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, "Provedor Conhecido", "America/Sao_Paulo")
        accounts.create_team(conn, slug, "suporte", "Suporte")
        agent_id = accounts.create_user(conn, slug, f"ana@{slug}.test", "Ana", "correct-horse-1", "agent",
                                     ("suporte",))
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", slug, "uazapi", "WhatsApp",
                                       "http://127.0.0.1:8100", slug, "tok-" + slug)
        ids = {"agent": agent_id, "channel": channel.id}

        def conversation(name, phone, created, **values):
            contact_id = conn.execute(insert(contacts).values(tenant_id=tenant_id, phone=phone, name=name)
                                      .returning(contacts.c.id)).scalar_one()
            ids[name] = conn.execute(insert(conversations).values(
                tenant_id=tenant_id, channel_id=channel.id, contact_id=contact_id, created_at=_ts(created),
                **{key: _ts(value) if key.endswith("_at") else value for key, value in values.items()},
            ).returning(conversations.c.id)).scalar_one()
            ids[f"{name}_contact"] = contact_id

        def message(conv, at, direction, sender_kind, **values):
            conn.execute(insert(messages).values(
                tenant_id=tenant_id, conversation_id=ids[conv], channel_id=channel.id, direction=direction,
                sender_kind=sender_kind, status="processed" if direction == "inbound" else "delivered",
                text="...", created_at=_ts(at), **values,
            ))

        def tool(conv, at, name, outcome, error=None):
            conn.execute(insert(tool_calls).values(tenant_id=tenant_id, conversation_id=ids[conv], brain="rules",
                                                   tool=name, outcome=outcome, error=error, created_at=_ts(at)))

        def survey(conv, sent_at, rating=None, answered_at=None, agent=None):
            request_id = conn.execute(insert(csat_requests).values(
                tenant_id=tenant_id, conversation_id=ids[conv], contact_id=ids[f"{conv}_contact"], agent_id=agent,
                status="answered" if rating else "expired", scheduled_for=_ts(sent_at), sent_at=_ts(sent_at),
                answered_at=_ts(answered_at) if answered_at else None,
            ).returning(csat_requests.c.id)).scalar_one()
            if rating:
                conn.execute(insert(csat_responses).values(
                    tenant_id=tenant_id, csat_request_id=request_id, conversation_id=ids[conv], rating=rating,
                    created_at=_ts(answered_at),
                ))

        conversation("k1", "5511900000001", "2026-03-02T12:00:00Z", status="closed", closed_by="bot",
                     first_bot_reply_at="2026-03-02T12:00:05Z", closed_at="2026-03-02T12:10:00Z")
        message("k1", "2026-03-02T12:00:00Z", "inbound", "customer", intent="second_copy")
        message("k1", "2026-03-02T12:00:05Z", "outbound", "bot")
        message("k1", "2026-03-02T12:09:00Z", "outbound", "bot")
        tool("k1", "2026-03-02T12:00:04Z", "second_copy", "sent")
        survey("k1", "2026-03-02T12:11:30Z", 5, "2026-03-02T12:12:00Z")

        conversation("k2", "5511900000002", "2026-03-02T13:00:00Z", status="closed", closed_by="agent",
                     first_bot_reply_at="2026-03-02T13:00:03Z", handoff_at="2026-03-02T13:02:00Z",
                     first_human_reply_at="2026-03-02T13:06:00Z", closed_at="2026-03-02T13:30:00Z",
                     assignee_id=agent_id, handoff_reason="customer_request")
        message("k2", "2026-03-02T13:00:00Z", "inbound", "customer", intent="connection_down")
        message("k2", "2026-03-02T13:00:03Z", "outbound", "bot")
        message("k2", "2026-03-02T13:01:50Z", "inbound", "customer", intent="human")
        message("k2", "2026-03-02T13:06:00Z", "outbound", "agent", sender_user_id=agent_id)
        tool("k2", "2026-03-02T13:00:02Z", "identify_customer", "found")
        tool("k2", "2026-03-02T13:00:30Z", "connection_status", "sgp_unavailable", "timeout after 8s")
        tool("k2", "2026-03-02T13:01:00Z", "open_ticket", "opened")
        tool("k2", "2026-03-02T13:01:30Z", "trust_unlock", "refused")
        survey("k2", "2026-03-02T13:31:30Z", 2, "2026-03-02T13:40:00Z", agent=agent_id)

        conversation("k3", "5511900000003", "2026-03-03T02:30:00Z", status="waiting",
                     first_bot_reply_at="2026-03-03T02:30:10Z", handoff_at="2026-03-03T02:31:00Z")
        message("k3", "2026-03-03T02:30:00Z", "inbound", "customer", intent="second_copy")
        message("k3", "2026-03-03T02:30:10Z", "outbound", "bot")

        conversation("k4", "5511900000004", "2026-03-02T14:00:00Z", status="closed", closed_by="system",
                     first_bot_reply_at="2026-03-02T14:00:01Z", closed_at="2026-03-03T04:00:00Z")
        message("k4", "2026-03-02T14:00:00Z", "inbound", "customer", intent="trust_unlock")
        message("k4", "2026-03-02T14:00:01Z", "outbound", "bot")
        tool("k4", "2026-03-02T14:00:01Z", "trust_unlock", "granted")
        survey("k4", "2026-03-03T04:01:30Z")

        for label, color, talks in (("Financeiro", "#16a34a", ("k1", "k2", "k3")), ("Urgente", "#dc2626", ("k2",))):
            ids[label] = conn.execute(insert(labels).values(tenant_id=tenant_id, name=label, color=color)
                                      .returning(labels.c.id)).scalar_one()
            for conv in talks:
                conn.execute(insert(conversation_labels).values(tenant_id=tenant_id, conversation_id=ids[conv],
                                                                label_id=ids[label], added_by_user_id=agent_id))
    return Known(slug, tenant_id, ids)


def _wait(condition, timeout: float = 20.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def _engine_conversations(tmp_path: Path, database_url: str, redis_url: str, engine) -> uuid.UUID:
    """Customers writing through the WhatsApp sandbox, the worker answering, an agent taking over by the API."""
    with ExitStack() as exits:
        stack = start_stack(exits, tmp_path=tmp_path, database_url=database_url, redis_url=redis_url, engine=engine,
                            csat_delay_seconds=0.5)
        stack.start_worker()
        with engine.begin() as conn:
            # a manager: agents only see their own and their teams' queues
            agent_id = accounts.create_user(conn, stack.tenant_slug, f"gerente@{stack.tenant_slug}.test", "Agente",
                                         "correct-horse-1", "manager")
        api = exits.enter_context(httpx.Client(
            base_url=f"{stack.api_url}/api/v1", timeout=20,
            headers={"Authorization": f"Bearer {issue_token(KEYRING, agent_id, stack.tenant_id, 60)}"},
        ))
        phones = [f"55119{random.randint(10_000_000, 99_999_999)}" for _ in range(4)]

        def conversation_of(phone: str):
            with engine.connect() as conn:
                return conn.execute(
                    select(conversations).join(contacts, contacts.c.id == conversations.c.contact_id)
                    .where(contacts.c.phone == phone).order_by(conversations.c.created_at.desc())
                ).first()

        for phone, provider in zip(phones, ("uazapi", "evolution", "uazapi", "evolution"), strict=True):
            stack.customer_writes(phone, "oi, boa tarde", provider=provider)
        for phone in phones:
            assert stack.wait_for_replies(phone, 1), stack.worker_logs()
        # the second customer asks for a person: handoff by the bot, then an agent replies and closes
        stack.customer_writes(phones[1], "quero falar com um atendente", provider="evolution")
        handed = _wait(lambda: (conv := conversation_of(phones[1])) is not None and conv.handoff_at is not None)
        conv = conversation_of(phones[1])
        if not handed:  # whatever the brain decided, the agent takes it over through the API
            api.post(f"/conversations/{conv.id}/transfer", json={"reason": "test"}).raise_for_status()
        api.post(f"/conversations/{conv.id}/reply", json={"text": "Olá, sou a Agente. Como posso ajudar?"}
                 ).raise_for_status()
        _wait(lambda: any("Agente" in m.get("text", "") for m in stack.sent_to(phones[1])))
        api.post(f"/conversations/{conv.id}/close", json={"reason": "resolved"}).raise_for_status()
        # the third is closed by the agent without a word: an AI resolution by the definition
        api.post(f"/conversations/{conversation_of(phones[2]).id}/close").raise_for_status()
        # a customer answers the satisfaction survey if it comes
        if _wait(lambda: any("🤩" in m.get("text", "") for m in stack.sent_to(phones[1])), timeout=10):
            stack.customer_writes(phones[1], "5", provider="evolution")
            def answered() -> int:
                with engine.connect() as conn:
                    return conn.execute(select(func.count()).select_from(csat_responses).where(
                        csat_responses.c.conversation_id == conv.id)).scalar()

            _wait(answered, timeout=8)
        stack.stop_workers()
        return stack.tenant_id


@pytest.fixture(scope="module")
def built(tmp_path_factory, pg_server_url, redis_url) -> Built:
    op_name, wh_name = f"niochat_dbt_op_{uuid.uuid4().hex[:8]}", f"niochat_dbt_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    try:
        migrate.upgrade(database_url)
        known = _known_tenant(engine)
        engine_tenant = _engine_conversations(tmp_path_factory.mktemp("engine"), database_url, redis_url, engine)
        sync(database_url, warehouse_url)
        build = run_dbt(warehouse_url, "build")
        yield Built(database_url, warehouse_url, known, engine_tenant, build)
    finally:
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


def _query(url: str, query: str, params=()) -> list[dict]:
    with psycopg.connect(libpq_url(url), row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(query, params).fetchall()


def _run_results() -> dict:
    return json.loads((dbt_project_dir() / "target" / "run_results.json").read_text())


# --- the build ------------------------------------------------------------------------------------------------


def test_dbt_build_passes_every_data_and_unit_test_on_engine_data(built):
    assert built.build.returncode == 0, built.build.stdout[-6000:]
    results = _run_results()["results"]
    by_kind = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        by_kind.setdefault(kind, []).append(result["status"])
    assert set(by_kind["model"]) == {"success"} and len(by_kind["model"]) >= 22
    assert set(by_kind["test"]) == {"pass"} and len(by_kind["test"]) >= 60
    assert set(by_kind["unit_test"]) == {"pass"} and len(by_kind["unit_test"]) >= 8


def test_marts_agree_with_the_operational_database_for_the_engine_tenant(built):
    tenant = built.engine_tenant
    source = _query(built.database_url, """
        select
            (select count(*) from conversations where tenant_id = %(t)s) as conversations,
            (select count(*) from conversations where tenant_id = %(t)s and handoff_at is not null) as handed_off,
            (select count(*) from conversations where tenant_id = %(t)s and status = 'closed') as closed,
            (select count(*) from conversations where tenant_id = %(t)s and first_bot_reply_at is not null) as bot,
            (select count(*) from messages where tenant_id = %(t)s and direction = 'inbound') as inbound,
            (select count(*) from messages where tenant_id = %(t)s and direction = 'outbound') as outbound,
            (select count(*) from csat_responses where tenant_id = %(t)s) as csat
    """, {"t": tenant})[0]
    marts = _query(built.warehouse_url, """
        select
            sum(conversations_started) as conversations, sum(conversations_handed_off) as handed_off,
            sum(conversations_closed) as closed, sum(bot_first_responses) as bot,
            sum(inbound_messages) as inbound, sum(outbound_messages) as outbound, sum(csat_responses) as csat
        from marts.agg_tenant_daily_kpis where tenant_id = %(t)s
    """, {"t": tenant})[0]
    assert {key: int(value or 0) for key, value in marts.items()} == source
    assert source["conversations"] >= 4 and source["handed_off"] >= 1 and source["closed"] >= 2
    assert source["bot"] >= 4 and source["outbound"] >= 5
    # the worker's rules brain recorded what it answered ("oi, boa tarde", "quero falar com um atendente")
    source_intents = _query(built.database_url, """
        select intent, count(*) as messages from messages
        where tenant_id = %s and direction = 'inbound' and intent is not null group by 1 order by 1
    """, (tenant,))
    mart_intents = _query(built.warehouse_url, """
        select intent, sum(inbound_messages) as messages from marts.agg_tenant_daily_intents
        where tenant_id = %s group by 1 order by 1
    """, (tenant,))
    assert mart_intents == source_intents
    source_agents = _query(built.database_url, """
        select
            (select count(*) from conversations where tenant_id = %(t)s and assignee_id is not null) as handled,
            (select count(*) from messages where tenant_id = %(t)s and sender_kind = 'agent'
                                             and sender_user_id is not null) as agent_messages
    """, {"t": tenant})[0]
    mart_agents = _query(built.warehouse_url, """
        select sum(conversations_handled) as handled, sum(agent_messages) as agent_messages
        from marts.agg_agent_daily_kpis where tenant_id = %(t)s
    """, {"t": tenant})[0]
    assert {key: int(value or 0) for key, value in mart_agents.items()} == source_agents
    assert source_agents["handled"] >= 1 and source_agents["agent_messages"] >= 1
    assert {"greeting", "human"} <= {row["intent"] for row in source_intents}, source_intents
    agent_replied = _query(built.warehouse_url, """
        select is_resolved_by_ai, agent_messages, human_first_response_seconds from marts.fct_conversations
        where tenant_id = %s and agent_messages > 0
    """, (tenant,))
    assert len(agent_replied) == 1 and not agent_replied[0]["is_resolved_by_ai"]
    assert agent_replied[0]["human_first_response_seconds"] >= 0
    if source["csat"]:  # the survey after the agent closed, answered "5" through WhatsApp
        ratings = _query(built.warehouse_url, "select rating, is_satisfied from marts.fct_csat_responses "
                                              "where tenant_id = %s", (tenant,))
        assert ratings == [{"rating": 5, "is_satisfied": True}]


# --- every metric against the hand-computed dataset ----------------------------------------------------------


def test_per_conversation_measures(built):
    rows = {row["conversation_id"]: row for row in _query(built.warehouse_url, """
        select conversation_id, bot_first_response_seconds, human_first_response_seconds, resolution_seconds,
               is_resolved_by_ai, is_handed_off, inbound_messages, outbound_messages, agent_messages, tool_calls,
               sgp_errors, csat_rating
        from marts.fct_conversations where tenant_id = %s
    """, (built.known.tenant_id,))}
    ids = built.known.ids
    expected = {
        "k1": (Decimal(5), None, Decimal(600), True, False, 1, 2, 0, 1, 0, 5),
        # human first response from the handoff: 13:06 - 13:02 = 240 s (360 s from creation would be wrong)
        "k2": (Decimal(3), Decimal(240), Decimal(1800), False, True, 2, 2, 1, 4, 1, 2),
        "k3": (Decimal(10), None, None, False, True, 1, 1, 0, 0, 0, None),
        "k4": (Decimal(1), None, Decimal(50400), True, False, 1, 1, 0, 1, 0, None),
    }
    for name, values in expected.items():
        row = rows[ids[name]]
        assert tuple(row.values())[1:] == values, name


def test_daily_kpis_in_the_tenant_timezone(built):
    rows = {row.pop("activity_date"): row for row in _query(built.warehouse_url, """
        select * from marts.agg_tenant_daily_kpis where tenant_id = %s order by activity_date
    """, (built.known.tenant_id,))}
    assert set(rows) == {date(2026, 3, 2), date(2026, 3, 3)}
    march_2, march_3 = rows[date(2026, 3, 2)], rows[date(2026, 3, 3)]
    # k3 started at 02:30 UTC on March 3, which is 23:30 on March 2 in São Paulo
    assert march_2["conversations_started"] == 4 and march_3["conversations_started"] == 0
    assert (march_2["conversations_handed_off"], march_2["handoff_rate_pct"]) == (2, Decimal("50.00"))
    assert march_3["handoff_rate_pct"] is None
    # closed on March 2: k1 (bot, no agent message) and k2 (agent); k4 closed at 01:00 local on March 3
    assert (march_2["conversations_closed"], march_2["ai_resolved_conversations"]) == (2, 1)
    assert march_2["ai_resolution_rate_pct"] == Decimal("50.00")
    assert (march_3["conversations_closed"], march_3["ai_resolution_rate_pct"]) == (1, Decimal("100.00"))
    assert march_2["resolution_seconds_avg"] == Decimal("1200.000")  # (600 + 1800) / 2
    assert march_3["resolution_seconds_avg"] == Decimal("50400.000")
    assert march_2["bot_first_responses"] == 4
    assert march_2["bot_first_response_seconds_avg"] == Decimal("4.750")  # (5 + 3 + 10 + 1) / 4
    assert (march_2["human_first_responses"], march_2["human_first_response_seconds_avg"]) == (1, Decimal("240.000"))
    assert (march_2["inbound_messages"], march_2["outbound_messages"]) == (5, 6)
    # CSAT: answers 5 and 2 -> score 50 %, average 3.5; both surveys of March 2 answered, March 3's not
    assert (march_2["csat_responses"], march_2["csat_satisfied_responses"]) == (2, 1)
    assert march_2["csat_score_pct"] == Decimal("50.00") and march_2["csat_average"] == Decimal("3.50")
    assert (march_2["csat_surveys_sent"], march_2["csat_response_rate_pct"]) == (2, Decimal("100.00"))
    assert (march_3["csat_surveys_sent"], march_3["csat_response_rate_pct"]) == (1, Decimal("0.00"))
    assert march_3["csat_score_pct"] is None
    assert [march_2[f"csat_responses_rated_{rating}"] for rating in range(1, 6)] == [0, 1, 0, 0, 1]
    # tools: one invoice sent, one ticket, one unlock granted (the refused one does not count), one SGP error
    assert {key: march_2[key] for key in ("tool_calls", "invoices_sent", "tickets_opened", "unlocks_granted",
                                           "sgp_errors")} == {"tool_calls": 6, "invoices_sent": 1,
                                                              "tickets_opened": 1, "unlocks_granted": 1,
                                                              "sgp_errors": 1}


def test_daily_intents_count_each_conversation_once_with_its_outcome(built):
    rows = _query(built.warehouse_url, """
        select activity_date, intent, inbound_messages, conversations, conversations_closed,
               conversations_resolved_by_ai, conversations_handed_off
        from marts.agg_tenant_daily_intents where tenant_id = %s order by intent
    """, (built.known.tenant_id,))
    march_2 = date(2026, 3, 2)  # k3's 02:30 UTC on March 3 is 23:30 on March 2 in São Paulo
    assert [tuple(row.values()) for row in rows] == [
        (march_2, "connection_down", 1, 1, 1, 0, 1),  # k2: handed off, an agent replied
        (march_2, "human", 1, 1, 1, 0, 1),  # k2's second message
        (march_2, "second_copy", 2, 2, 1, 1, 1),  # k1 resolved by the bot; k3 handed off, still waiting
        (march_2, "trust_unlock", 1, 1, 1, 1, 0),  # k4, closed by the system the next day without an agent
    ]
    intents = _query(built.warehouse_url, "select intent from marts.fct_messages where tenant_id = %s "
                                          "and direction = 'outbound'", (built.known.tenant_id,))
    assert {row["intent"] for row in intents} == {None}


def test_agent_daily_kpis_are_the_assignees_in_the_tenant_day(built):
    rows = _query(built.warehouse_url, """
        select agent_user_id, activity_date, conversations_handled, conversations_closed, resolution_seconds_avg,
               human_first_responses, human_first_response_seconds_avg, agent_messages, csat_responses,
               csat_score_pct, csat_average, csat_responses_rated_2, csat_surveys_sent, csat_surveys_answered,
               csat_response_rate_pct
        from marts.agg_agent_daily_kpis where tenant_id = %s order by activity_date
    """, (built.known.tenant_id,))
    # Ana: k2 (k3 waits in the queue, nobody's yet): handled, replied to 240 s after the handoff, closed after
    # 1800 s, her one message, the survey about her sent and answered 2.
    assert [tuple(row.values()) for row in rows] == [
        (built.known.ids["agent"], date(2026, 3, 2), 1, 1, Decimal("1800.000"), 1, Decimal("240.000"), 1, 1,
         Decimal("0.00"), Decimal("2.00"), 1, 1, 1, Decimal("100.00")),
    ]


def test_tool_outcomes_and_handoff_reasons_per_day(built):
    tools = _query(built.warehouse_url, """
        select activity_date, tool_category, tool, outcome, tool_calls, successful_calls, calls_without_effect,
               failed_calls, latency_measured_calls, latency_ms_avg
        from marts.agg_tenant_daily_tool_outcomes where tenant_id = %s order by tool, outcome
    """, (built.known.tenant_id,))
    march_2 = date(2026, 3, 2)
    # tool_calls.latency_ms defaults to 0 (none of these set it): one measured call each, 0 ms on average
    assert [tuple(row.values()) for row in tools] == [
        (march_2, "connection", "connection_status", "sgp_unavailable", 1, 0, 0, 1, 1, Decimal(0)),
        (march_2, "identify", "identify_customer", "found", 1, 1, 0, 0, 1, Decimal(0)),
        (march_2, "ticket", "open_ticket", "opened", 1, 1, 0, 0, 1, Decimal(0)),
        (march_2, "invoice", "second_copy", "sent", 1, 1, 0, 0, 1, Decimal(0)),
        (march_2, "unlock", "trust_unlock", "granted", 1, 1, 0, 0, 1, Decimal(0)),  # k4, the day before its close
        (march_2, "unlock", "trust_unlock", "refused", 1, 0, 1, 0, 1, Decimal(0)),
    ]
    reasons = _query(built.warehouse_url, """
        select activity_date, handoff_reason, handoffs from marts.agg_tenant_daily_handoff_reasons
        where tenant_id = %s order by handoff_reason nulls last
    """, (built.known.tenant_id,))
    # k3's handoff at 02:31 UTC on March 3 is 23:31 on March 2 in São Paulo; it has no reason recorded
    assert [tuple(row.values()) for row in reasons] == [(march_2, "customer_request", 1), (march_2, None, 1)]


def test_users_dimension_names_agents_without_contact_data(built):
    rows = _query(built.warehouse_url, "select * from marts.dim_users where tenant_id = %s",
                  (built.known.tenant_id,))
    assert rows == [{"tenant_id": built.known.tenant_id, "user_id": built.known.ids["agent"], "user_name": "Ana",
                     "role": "agent", "is_active": True, "team_names": "Suporte", "created_at": rows[0]["created_at"]}]


def test_labelled_conversations_per_day_in_the_tenant_timezone(built):
    """k3 started at 02:30 UTC on March 3, 23:30 on March 2 in São Paulo: all three Financeiro conversations
    count on March 2, on the channel they came in on."""
    ids = built.known.ids
    rows = _query(built.warehouse_url, """
        select activity_date, channel_id, label_id, label_name, label_color, conversations
        from marts.agg_tenant_daily_labels where tenant_id = %s order by label_name""", (built.known.tenant_id,))
    assert rows == [
        {"activity_date": date(2026, 3, 2), "channel_id": ids["channel"], "label_id": ids["Financeiro"],
         "label_name": "Financeiro", "label_color": "#16a34a", "conversations": 3},
        {"activity_date": date(2026, 3, 2), "channel_id": ids["channel"], "label_id": ids["Urgente"],
         "label_name": "Urgente", "label_color": "#dc2626", "conversations": 1},
    ]
    bridge = _query(built.warehouse_url, """
        select conversation_id, label_id, added_by_user_id from marts.fct_conversation_labels
        where tenant_id = %s""", (built.known.tenant_id,))
    assert {(row["conversation_id"], row["label_id"]) for row in bridge} == {
        (ids["k1"], ids["Financeiro"]), (ids["k2"], ids["Financeiro"]), (ids["k3"], ids["Financeiro"]),
        (ids["k2"], ids["Urgente"])}
    assert {row["added_by_user_id"] for row in bridge} == {ids["agent"]}


def test_hourly_volume_in_the_tenant_timezone(built):
    rows = _query(built.warehouse_url, """
        select hour_start_local, hour_of_day, day_of_week, inbound_messages, outbound_messages,
               conversations_started, handoffs
        from marts.agg_tenant_hourly_volume where tenant_id = %s order by hour_start_local
    """, (built.known.tenant_id,))
    assert [tuple(row.values()) for row in rows] == [
        (datetime(2026, 3, 2, 9), 9, 1, 1, 2, 1, 0),
        (datetime(2026, 3, 2, 10), 10, 1, 2, 2, 1, 1),
        (datetime(2026, 3, 2, 11), 11, 1, 1, 1, 1, 0),
        (datetime(2026, 3, 2, 23), 23, 1, 1, 1, 1, 1),
    ]


# --- contracts and row-level security ------------------------------------------------------------------------


def test_marts_have_their_contracted_types(built):
    types = {(row["table_name"], row["column_name"]): row["data_type"] for row in _query(built.warehouse_url, """
        select table_name, column_name, format_type(a.atttypid, a.atttypmod) as data_type
        from information_schema.columns c
        join pg_attribute a on a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass
                           and a.attname = c.column_name
        where c.table_schema = 'marts'
    """)}
    assert types[("fct_conversations", "created_at")] == "timestamp with time zone"
    assert types[("fct_conversations", "human_first_response_seconds")] == "numeric(14,3)"
    assert types[("agg_tenant_daily_kpis", "csat_score_pct")] == "numeric(5,2)"
    assert types[("agg_tenant_daily_kpis", "activity_date")] == "date"
    assert {table for table, _ in types} == set(MARTS)


def test_the_dashboard_role_sees_only_its_tenant(built):
    with psycopg.connect(libpq_url(built.warehouse_url)) as conn:
        conn.execute("set role niochat_dash")
        for table in MARTS:
            assert conn.execute(f"select count(*) from marts.{table}").fetchone()[0] == 0, f"{table} without tenant"
        conn.execute("select set_config('niochat.tenant_id', %s, false)", (str(built.known.tenant_id),))
        for table in MARTS:
            tenants = {row[0] for row in conn.execute(f"select distinct tenant_id from marts.{table}")}
            assert tenants == {built.known.tenant_id}, table
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from raw.messages")


# --- incremental runs --------------------------------------------------------------------------------------


def test_incremental_run_applies_changes_and_equals_a_full_rebuild(built, tmp_path):
    engine = sync_engine(built.database_url)
    ids = built.known.ids
    try:
        with engine.begin() as conn:  # an agent picks k3 up and answers; a new customer writes
            conn.execute(insert(messages).values(
                tenant_id=built.known.tenant_id, conversation_id=ids["k3"], channel_id=ids["channel"],
                direction="outbound", sender_kind="agent", sender_user_id=ids["agent"], status="sent", text="oi",
                created_at=_ts("2026-03-03T02:35:00Z"),
            ))
            conn.execute(conversations.update().where(conversations.c.id == ids["k3"]).values(
                status="open", assignee_id=ids["agent"], first_human_reply_at=_ts("2026-03-03T02:35:00Z")))
            channel_count = conn.execute(select(func.count()).select_from(channels)).scalar()
    finally:
        engine.dispose()
    assert channel_count >= 1
    sync(built.database_url, built.warehouse_url)
    incremental = run_dbt(built.warehouse_url, "run", "--select", "marts")
    assert incremental.returncode == 0, incremental.stdout[-4000:]
    k3 = _query(built.warehouse_url, "select * from marts.fct_conversations where conversation_id = %s",
                (ids["k3"],))
    assert len(k3) == 1 and k3[0]["human_first_response_seconds"] == Decimal(240)  # 02:35 - 02:31
    assert k3[0]["agent_messages"] == 1 and k3[0]["status"] == "open"

    def snapshot() -> dict:
        return {table: _query(built.warehouse_url, f"select * from marts.{table} order by 1, 2") for table in
                ("fct_conversations", "fct_messages", "agg_tenant_daily_kpis")}

    after_incremental = snapshot()
    full = run_dbt(built.warehouse_url, "run", "--select", "marts", "--full-refresh")
    assert full.returncode == 0, full.stdout[-4000:]
    assert snapshot() == after_incremental
