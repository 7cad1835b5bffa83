"""`niochat simulate` against a real stack: every simulated customer gets answers, agents take handoffs,
surveys get answered — counted from what the sandboxes and the database saw."""

import asyncio
import json
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from api.brain import replies
from cli import app as niochat_app
from cli.simulate import DEFAULT_MIX, customers_from_dataset, parse_mix
from ingest.history import import_history, parse_lines
from niochat import accounts
from niochat.tables import audit_log, contacts, conversations, csat_responses, messages, teams, tenants, tool_calls
from niochat.vocabulary import INTENTS, TOOL_OUTCOMES, TOOLS
from sandbox.sgp import create_app as create_sgp
from sandbox.simulator import DEFAULT_MIX as SIMULATOR_MIX, Customer, SimulationConfig, phrasing, simulate
from sandbox.simulator.backfill import BackfillPlan, day_of_history
from sandbox.whatsapp import create_app as create_whatsapp
from tests.support.basics import SGP_DATASET
from tests.support.factories import PASSWORD, full_tenant
from tests.support.servers import serving
from tests.support.stack import configure_sgp, start_stack

DATASET = SGP_DATASET


def _answers(engine, tenant_id) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(csat_responses).where(csat_responses.c.tenant_id == tenant_id)
        )


@pytest.mark.slow
def test_simulated_customers_and_agent_complete_their_conversations(tmp_path, database_url, redis_url, engine):
    dataset = json.loads(DATASET.read_text())
    with ExitStack() as exits:
        sgp_url = exits.enter_context(serving(create_sgp(dataset_path=DATASET)))
        stack = start_stack(
            exits,
            tmp_path=tmp_path,
            database_url=database_url,
            redis_url=redis_url,
            engine=engine,
            csat_delay_seconds=1,
            sweep_interval_seconds=1,
        )
        configure_sgp(engine, stack.tenant_id, sgp_url, dataset["app"], dataset["token"])
        agent = f"agente@{stack.tenant_slug}.test"
        with engine.begin() as conn:
            accounts.create_user(conn, stack.tenant_slug, agent, "Carla Souza", PASSWORD, "manager")
        stack.start_worker()
        config = SimulationConfig(
            sandbox_url=stack.sandbox_url,
            instances=list(stack.instances.values()),
            customers=customers_from_dataset(DATASET),
            count=5,
            rate_per_minute=600,
            mix=parse_mix("invoice=1,human=1,billing=1"),
            api_url=stack.api_url,
            agent_email=agent,
            agent_password=PASSWORD,
            think_seconds=(0.05, 0.1),
            csat_wait=20,
            seed=7,
        )
        report = asyncio.run(simulate(config))
        deadline = time.monotonic() + 15
        while _answers(engine, stack.tenant_id) < report.csat_answers and time.monotonic() < deadline:
            time.sleep(0.2)  # the last answer is still being read by the worker
    assert (report.started, report.completed, report.no_reply) == (5, 5, 0), report.as_dict()
    assert report.csat_answers == 5
    handed = report.intents["human"] + report.intents["billing"]  # billing disputes go to financeiro at once
    assert report.intents["billing"] and report.agent_replies == handed
    answered = _answers(engine, stack.tenant_id)
    with engine.connect() as conn:
        agent_messages = conn.scalar(
            select(func.count())
            .select_from(messages)
            .where(messages.c.tenant_id == stack.tenant_id, messages.c.sender_kind == "agent")
        )
        disputes = conn.scalar(select(func.count()).select_from(conversations).where(
            conversations.c.tenant_id == stack.tenant_id, conversations.c.handoff_reason == "billing_issue"))
    assert answered == 5 and agent_messages == 2 * handed and disputes == report.intents["billing"]


# customers who send media: payment receipts, voice notes --------------------------------------------------------------


def _conversations_of(engine, tenant_id, customers: list[Customer]) -> list:
    phones = [customer.phone for customer in customers]
    with engine.connect() as conn:
        return conn.execute(
            select(conversations, contacts.c.phone, teams.c.slug.label("team"))
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .outerjoin(teams, teams.c.id == conversations.c.team_id)
            .where(conversations.c.tenant_id == tenant_id, contacts.c.phone.in_(phones))
        ).all()


def _messages_of(engine, conversation_id) -> list:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.conversation_id == conversation_id)
                            .order_by(messages.c.created_at)).all()


def _tools_of(engine, conversation_id) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(tool_calls.c.tool).where(tool_calls.c.conversation_id == conversation_id)))


@pytest.mark.slow
def test_receipts_go_to_the_financial_team_and_voice_notes_are_typed_again(tmp_path, database_url, redis_url, engine):
    """No transcription model: a voice note gets "pode escrever", the customer types it and is served."""
    dataset = json.loads(DATASET.read_text())
    payers = [Customer(f"55119876500{n:02d}", f"Pagador {n}", None) for n in range(4)]  # a receipt needs no CPF
    with ExitStack() as exits:
        sgp_url = exits.enter_context(serving(create_sgp(dataset_path=DATASET)))
        stack = start_stack(exits, tmp_path=tmp_path, database_url=database_url, redis_url=redis_url, engine=engine)
        configure_sgp(engine, stack.tenant_id, sgp_url, dataset["app"], dataset["token"])
        stack.start_worker()
        base = {"sandbox_url": stack.sandbox_url, "instances": list(stack.instances.values()),
                "rate_per_minute": 600, "think_seconds": (0.05, 0.1), "csat": False}
        receipts = asyncio.run(simulate(SimulationConfig(
            **base, customers=payers, count=len(payers), mix=parse_mix("receipt=1"), seed=3)))
        speakers = customers_from_dataset(DATASET)
        voices = asyncio.run(simulate(SimulationConfig(
            **base, customers=speakers, count=len(speakers), mix=parse_mix("voice=1"), seed=3)))
    assert (receipts.completed, receipts.no_reply, receipts.media_sent) == (4, 0, 4), receipts.as_dict()
    assert (voices.completed, voices.no_reply, voices.media_sent) == (3, 0, 3), voices.as_dict()

    handed = _conversations_of(engine, stack.tenant_id, payers)
    assert {(c.status, c.handoff_reason, c.team) for c in handed} == {("waiting", "payment_receipt", "financeiro")}
    assert len(handed) == 4
    files = [m for c in handed for m in _messages_of(engine, c.id) if m.content_type != "text"]
    assert sorted(m.content_type for m in files) == ["document", "document", "image", "image"], files
    assert all(m.media_url and m.media_mime in ("image/png", "application/pdf") for m in files)
    assert {m.media_file_name for m in files if m.content_type == "document"} <= set(phrasing.RECEIPT_FILES)
    for c in handed:
        said = [m.text for m in _messages_of(engine, c.id) if m.direction == "outbound"]
        assert any(replies.RECEIPT_RECEIVED in text for text in said), said

    served = _conversations_of(engine, stack.tenant_id, speakers)
    assert len(served) == 3
    for c in served:
        rows = _messages_of(engine, c.id)
        asked = next(i for i, m in enumerate(rows) if m.direction == "outbound")
        assert rows[0].content_type == "audio" and rows[asked].text.endswith(replies.AUDIO_NO_MODEL), rows
        assert any(m.direction == "inbound" and m.content_type == "text" for m in rows[asked:]), rows
        assert _tools_of(engine, c.id) & {"second_copy", "connection_status"}, rows


def test_the_commands_default_mix_is_the_simulator_s():
    assert parse_mix(DEFAULT_MIX) == SIMULATOR_MIX


# the traffic's shape: count, duration, mix ---------------------------------------------------------------------------


def _config(**overrides) -> SimulationConfig:
    values = {"sandbox_url": "http://127.0.0.1:9", "instances": ["loja"],
              "customers": customers_from_dataset(DATASET), **overrides}
    return SimulationConfig(**values)


@pytest.mark.parametrize("overrides, message", [
    ({"mix": {"invoice": 0}}, "at least one positive"),
    ({"mix": {"invoice": 3, "party": 1}}, "unknown intent"),
    ({"mix": {"invoice": 3, "human": -1}}, "zero or more"),
    ({"count": 0}, "a number of conversations, a duration"),
    ({"customers": []}, "at least one customer"),
    ({"rate_per_minute": 0}, "rate"),
])
def test_a_simulation_that_cannot_run_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _config(**overrides)


def test_the_command_says_what_is_wrong_with_the_mix():
    result = CliRunner().invoke(niochat_app, ["simulate", "--mix", "invoice=0,human=0"])
    assert result.exit_code == 1 and "at least one positive" in result.output
    result = CliRunner().invoke(niochat_app, ["simulate", "--count", "0"])
    assert result.exit_code == 1 and "--duration" in result.output


def test_a_duration_ends_a_run_without_a_count():
    """count=0: conversations keep starting at the rate until the duration is over (nobody answers here)."""
    with serving(create_whatsapp()) as sandbox:
        httpx.post(f"{sandbox}/sandbox/instances", json={"provider": "uazapi", "instance": "loja", "token": "tk"})
        httpx.post(f"{sandbox}/webhook", headers={"token": "tk"}, json={"url": f"{sandbox}/healthz"})
        config = _config(sandbox_url=sandbox, count=0, duration=1.0, rate_per_minute=600, reply_timeout=0.3,
                         think_seconds=(0, 0), csat=False, mix=parse_mix("outage=1"), seed=1)
        report = asyncio.run(simulate(config))
    # one start every 0.1 s for 1 s: the duration, not a count, stopped it
    assert 1 <= report.started <= 11 and report.no_reply == report.started
    assert report.intents == {"outage": report.started}


# generated history (`niochat demo --history-days`) -------------------------------------------------------------------


def _plan(slug: str, agent: str) -> BackfillPlan:
    return BackfillPlan(prefix=f"demo-backfill:{slug}", customers=customers_from_dataset(DATASET), instances=[slug],
                        agents=[agent], teams=["suporte"], per_day=12, seed=3)


def test_generated_days_are_valid_history_and_the_same_every_time():
    plan = _plan("loja", "agent@loja.test")
    day = date(2026, 3, 2)  # a Monday
    first = day_of_history(plan, day)
    assert first == day_of_history(plan, day)
    parsed, errors = parse_lines(json.dumps(conversation) for conversation in first)
    assert errors == [] and len(parsed) == len(first) >= 10
    assert {c["closed_by"] for c in first} == {"bot", "agent"} and any("csat" in c for c in first)
    assert all(c["messages"][0]["at"].startswith("2026-03-02") for c in first)
    sunday = day_of_history(plan, day - timedelta(days=1))
    assert len(sunday) < len(first)  # quieter weekends
    still_going = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12)
    assert len(day_of_history(plan, day, not_after=still_going)) < len(first)


def test_generated_days_carry_the_intents_and_tool_calls_of_live_traffic():
    plan = _plan("loja", "agent@loja.test")
    made = [c for n in range(7) for c in day_of_history(plan, date(2026, 3, 2) + timedelta(days=n))]
    assert all(c["messages"][0]["intent"] in INTENTS for c in made)
    said = {m["intent"] for c in made for m in c["messages"] if m["sender"] == "customer" and "intent" in m}
    assert said <= INTENTS and {"second_copy", "connection_down", "human", "thanks_bye"} <= said
    calls = [call for c in made for call in c.get("tool_calls", [])]
    # not generated: a contract choice, the sales lead's steps, and the worker's follow-ups (promise, re-check)
    unmade = {"choose_contract", "check_coverage", "create_lead", "promise_reminder", "connection_recheck"}
    assert {call["tool"] for call in calls} == TOOLS - unmade
    assert {call["outcome"] for call in calls} <= TOOL_OUTCOMES and all(call["latency_ms"] >= 0 for call in calls)
    failed = [c for c in made if any(call["outcome"] in ("not_found", "sgp_unavailable", "sgp_error")
                                     for call in c.get("tool_calls", []))]
    assert failed and all(c["closed_by"] == "agent" for c in failed)  # a lookup that fails goes to a person


def test_generated_handoffs_say_why_and_go_to_an_agent_of_the_team():
    from api.brain.nlu.intents import detect_intents

    plan = BackfillPlan(prefix="demo-backfill:loja", customers=customers_from_dataset(DATASET), instances=["loja"],
                        agents=["ana@loja.test", "bia@loja.test"], teams=["suporte", "financeiro"],
                        agent_teams={"ana@loja.test": ("suporte",), "bia@loja.test": ("financeiro",)},
                        per_day=16, seed=5)
    made = [c for n in range(14) for c in day_of_history(plan, date(2026, 3, 2) + timedelta(days=n))]
    handed = [c for c in made if "handoff_at" in c]
    # the rules brain's reasons: asked for a person, wrote from another number, was not understood twice, disputed
    # a charge, asked what the knowledge base does not hold
    assert {c["handoff_reason"] for c in handed} == {"customer_request", "identity_unverified", "not_understood",
                                                     "billing_issue", "knowledge_no_match"}
    assert not any("handoff_reason" in c for c in made if "handoff_at" not in c)
    assert {(c["agent"], c["team"]) for c in handed} == {("ana@loja.test", "suporte"), ("bia@loja.test", "financeiro")}
    confusing = {m["text"] for c in made for m in c["messages"] if m.get("intent") == "not_understood"}
    assert confusing and all(detect_intents(text) == [] for text in confusing)  # what live traffic would record
    questions = {m["text"] for c in made for m in c["messages"] if m.get("intent") == "knowledge"}
    assert questions and all(detect_intents(text) == [] for text in questions)  # not an action of the lexicon
    disputes = {m["text"] for c in made for m in c["messages"] if m.get("intent") == "billing_issue"}
    assert disputes and all(detect_intents(text) == ["billing_issue"] for text in disputes)
    first_replies = [datetime.fromisoformat(next(m["at"] for m in c["messages"] if m["sender"] == "bot"))
                     - datetime.fromisoformat(c["messages"][0]["at"]) for c in made]
    assert max(first_replies) < timedelta(seconds=5)  # the bot answers within a second or two


def test_generated_history_is_imported_marked_as_generated_once(engine):
    with engine.begin() as conn:
        rows = full_tenant(conn)
    plan = _plan(rows.slug, f"agent@{rows.slug}.test")
    days = [date(2026, 3, 2) + timedelta(days=n) for n in range(2)]
    try:
        with engine.begin() as conn:
            reports = [import_history(conn, rows.slug, (json.dumps(c) for c in day_of_history(plan, day)),
                                      source="demo", generated=True) for day in days]
        with engine.begin() as conn:
            again = import_history(conn, rows.slug, (json.dumps(c) for c in day_of_history(plan, days[0])),
                                   source="demo", generated=True)
        with engine.connect() as conn:
            made = conn.execute(select(conversations.c.is_generated, conversations.c.close_reason)
                                .where(conversations.c.tenant_id == rows.tenant_id,
                                       conversations.c.close_reason != None)).all()  # noqa: E711
            audited = conn.scalar(select(func.count()).select_from(audit_log).where(
                audit_log.c.tenant_id == rows.tenant_id, audit_log.c.details["generated"].as_boolean()))
            generated = select(conversations.c.id).where(conversations.c.tenant_id == rows.tenant_id,
                                                         conversations.c.is_generated)
            calls = conn.scalar(select(func.count()).where(tool_calls.c.conversation_id.in_(generated)))
            intents = conn.scalar(select(func.count()).where(messages.c.conversation_id.in_(generated),
                                                             messages.c.intent != None))  # noqa: E711
        lines = [c for day in days for c in day_of_history(plan, day)]
        assert calls == sum(len(c.get("tool_calls", [])) for c in lines) > 0
        assert intents == sum("intent" in m for c in lines for m in c["messages"]) > 0
        imported = sum(report.imported for report in reports)
        assert again.imported == 0 and len(again.skipped) == reports[0].imported
        assert len(made) == imported == audited and set(made) == {(True, "generated")}
    finally:
        with engine.begin() as conn:
            conn.execute(delete(tenants).where(tenants.c.id == rows.tenant_id))
