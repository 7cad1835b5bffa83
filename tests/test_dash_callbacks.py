"""The dashboards' callbacks through Flask's test client with real sessions, on marts built by the real pipeline
(ingest.sync + dbt) from two tenants' data: a manager of tenant A never receives tenant B's numbers on any
callback (the callback map is enumerated, so a new callback is covered automatically), anonymous requests and
agents are refused.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import insert

from ingest.dbt_command import BUILD_WITHOUT_TESTS, run_dbt
from ingest.sync import sync
from niochat import accounts, migrate
from niochat.database import drop_database, ensure_database, sync_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import contacts, conversations, csat_requests, csat_responses, messages, tool_calls
from tests.conftest import TEST_SECRET, unique_slug
from tests.factories import clear_login_limits

PASSWORD = "correct-horse-1"
KEYRING = Keyring(TEST_SECRET)
INTENT_CYCLE = ["second_copy", "connection_down", "human", None, "not_understood"]


def intent_of(index: int) -> str | None:
    """The intent the bot read in conversation `index`'s first message (None: answered by no brain)."""
    return INTENT_CYCLE[index % len(INTENT_CYCLE)]


@dataclass
class DashTenant:
    letter: str
    slug: str
    name: str
    tenant_id: uuid.UUID
    manager_email: str
    agent_email: str
    agent_ids: list[uuid.UUID]
    agent_names: list[str]
    conversations: int
    markers: list[str] = field(default_factory=list)  # strings only this tenant's data contains


@dataclass
class DashWarehouse:
    urls: ServiceUrls
    tenants: dict[str, DashTenant]


def _tenant_data(engine, letter: str, conversations_count: int, seed: int) -> DashTenant:
    """A São Paulo tenant with conversations over the last 20 days: bot-resolved ones, handoffs to two agents,
    tool calls (some SGP errors), CSAT answers with comments (some the next day, some to a survey whose send was
    not recorded), unanswered surveys, agents answering a day late. Every free text carries the tenant's letter."""
    rng = random.Random(seed)
    slug = unique_slug(f"dash{letter}")
    name = f"Provedor {'Alfa' if letter == 'a' else 'Bravo'} {slug[-4:]}"
    marker = f"exclusivo-{letter}-{slug[-4:]}"
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, name, "America/Sao_Paulo")
        accounts.create_team(conn, slug, "suporte", "Suporte")
        manager_email = f"gestor@{slug}.test"
        accounts.create_user(conn, slug, manager_email, f"Gestora {letter.upper()}", PASSWORD, "manager")
        agent_email = f"agente@{slug}.test"
        agent_names = [f"Agente {letter.upper()} {slug[-4:]}", f"Outra Agente {letter.upper()} {slug[-4:]}"]
        agents = [accounts.create_user(conn, slug, agent_email, agent_names[0], PASSWORD, "agent"),
                  accounts.create_user(conn, slug, f"agente2@{slug}.test", agent_names[1], PASSWORD, "agent")]
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", slug, "uazapi", "WhatsApp",
                                       "http://127.0.0.1:8100", slug, "tok-" + slug)
        for index in range(conversations_count):
            created = now - timedelta(days=index % 20, hours=rng.randint(1, 12), minutes=rng.randint(0, 59))
            contact_id = conn.execute(insert(contacts).values(
                tenant_id=tenant_id, phone=f"55119{seed:02d}{index:06d}", name=f"Cliente {index}",
            ).returning(contacts.c.id)).scalar_one()
            handed_off = index % 3 == 0
            closed = index % 7 != 6
            agent = agents[index % 2] if handed_off else None
            bot_reply = created + timedelta(seconds=rng.randint(2, 9))
            values = dict(tenant_id=tenant_id, channel_id=channel.id, contact_id=contact_id, created_at=created,
                          first_bot_reply_at=bot_reply, status="closed" if closed else "bot")
            if handed_off:
                handoff = created + timedelta(minutes=2)
                reply = handoff + timedelta(minutes=rng.randint(1, 15))
                if index % 9 == 3 and index % 20 >= 2:  # the agent answers (and closes) the next day
                    reply += timedelta(days=1)
                values.update(handoff_at=handoff, assignee_id=agent, assigned_at=handoff, first_human_reply_at=reply,
                              handoff_reason=f"motivo-{marker}" if index % 2 else "customer_request",
                              status="closed" if closed else "open")
            if closed:
                closed_at = created + timedelta(minutes=rng.randint(20, 90))
                values.update(closed_at=max(closed_at, values.get("first_human_reply_at", closed_at)),
                              closed_by="agent" if handed_off else "bot")
            conversation_id = conn.execute(insert(conversations).values(**values)
                                           .returning(conversations.c.id)).scalar_one()
            rows = [dict(direction="inbound", sender_kind="customer", created_at=created, status="processed",
                         intent=intent_of(index)),
                    dict(direction="outbound", sender_kind="bot", created_at=bot_reply, status="delivered")]
            if handed_off:
                rows.append(dict(direction="outbound", sender_kind="agent", sender_user_id=agent,
                                 created_at=values["first_human_reply_at"], status="delivered"))
            for number, row in enumerate(rows):
                conn.execute(insert(messages).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, channel_id=channel.id, text="...",
                    provider_message_id=f"wamid-{slug}-{index}-{number}", **row))
            tool = [("second_copy", "sent", None), ("open_ticket", "opened", None),
                    ("connection_status", "sgp_unavailable", f"falha-{marker}"),
                    ("trust_unlock", "granted", None)][index % 4]
            conn.execute(insert(tool_calls).values(
                tenant_id=tenant_id, conversation_id=conversation_id, brain="rules", tool=tool[0], outcome=tool[1],
                error=tool[2], latency_ms=rng.randint(50, 900), created_at=created + timedelta(seconds=1)))
            if closed and index % 4 == 1:  # a survey sent and never answered
                conn.execute(insert(csat_requests).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, agent_id=agent,
                    status="expired", scheduled_for=values["closed_at"], sent_at=values["closed_at"]))
            if closed and index % 2 == 0:
                answered = values["closed_at"] + timedelta(minutes=3)
                if index % 6 == 4 and index % 20 >= 2:  # answered the next day (never in the future)
                    answered += timedelta(days=1)
                request_id = conn.execute(insert(csat_requests).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, agent_id=agent,
                    status="answered", scheduled_for=values["closed_at"],
                    sent_at=None if index % 8 == 2 else values["closed_at"],  # a send the engine did not record
                    answered_at=answered,
                ).returning(csat_requests.c.id)).scalar_one()
                rating = [5, 4, 5, 2, 3, 1][index % 6]
                comment = f"comentario-{marker} nota {rating}"
                if index == 0:  # a customer's comment a spreadsheet would run as a formula
                    comment = f'=HYPERLINK("http://evil.test";"{comment}")'
                conn.execute(insert(csat_responses).values(
                    tenant_id=tenant_id, csat_request_id=request_id, conversation_id=conversation_id, rating=rating,
                    comment=comment, understood_by="number",
                    sentiment="positive" if rating >= 4 else "negative", created_at=answered))
    return DashTenant(letter, slug, name, tenant_id, manager_email, agent_email, agents, agent_names,
                      conversations_count, [marker, name, str(tenant_id)] + [str(a)[:8] for a in agents] + agent_names)


@contextmanager
def dash_warehouse(pg_server_url: str, redis_url: str):
    """Operational + warehouse databases of their own, two tenants, marts built by ingest.sync and dbt."""
    op_name, wh_name = f"niochat_dash_op_{uuid.uuid4().hex[:8]}", f"niochat_dash_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    try:
        migrate.upgrade(database_url)
        tenants = {"a": _tenant_data(engine, "a", 24, 11), "b": _tenant_data(engine, "b", 41, 22)}
        sync(database_url, warehouse_url)
        built = run_dbt(warehouse_url, *BUILD_WITHOUT_TESTS)
        assert built.returncode == 0, built.stdout[-4000:]
        yield DashWarehouse(ServiceUrls(database_url, warehouse_url, redis_url), tenants)
    finally:
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


def dash_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)


def set_live_counters(redis_url: str, tenant: DashTenant, base: int) -> None:
    client = redis.Redis.from_url(redis_url)
    client.hset(f"niochat:live:{tenant.tenant_id}",
                mapping={"bot": base + 1, "waiting": base + 2, "open": base + 3, "assigned": base + 3,
                         "refreshed_at": int(time.time())})
    minute = int(time.time() // 60)
    for offset in range(10):
        client.set(f"niochat:live:{tenant.tenant_id}:inbound:{minute - offset}", base + offset)
        client.set(f"niochat:live:{tenant.tenant_id}:outbound:{minute - offset}", base + 2 * offset)
    client.close()


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(pg_server_url, redis_url):
    with dash_warehouse(pg_server_url, redis_url) as built:
        set_live_counters(redis_url, built.tenants["a"], 7100)
        set_live_counters(redis_url, built.tenants["b"], 9300)
        yield built


@pytest.fixture(scope="module")
def app(warehouse, tmp_path_factory):
    from dash_app import create_app

    return create_app(dash_settings(tmp_path_factory.mktemp("dash")), warehouse.urls)


def form_token(page: str) -> str:
    """The login form's anti-forgery token."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, email: str, password: str = PASSWORD):
    token = form_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


# --- the callback map, enumerated ---------------------------------------------------------------------------


def _input_value(item: dict, period: dict):
    prop = item["property"]
    if item["id"] == "periodo" and prop == "data":
        return period
    return {"start_date": period["start"], "end_date": period["end"], "n_clicks": 1, "n_intervals": 1,
            "pathname": "/", "search": "", "href": "http://localhost/", "hash": ""}.get(prop)


def _split_outputs(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in parts]


def callback_payloads(app, period: dict) -> list[tuple[str, dict]]:
    """One request body per callback in the app's callback map, with plausible values for each input."""
    payloads = []
    for output, spec in app.callback_map.items():
        if "callback" not in spec:  # clientside: runs in the browser, nothing on the server to ask
            continue
        outputs = _split_outputs(output)
        inputs = [{**item, "value": _input_value(item, period)} for item in spec["inputs"]]
        state = [{**item, "value": _input_value(item, period)} for item in spec.get("state", [])]
        payloads.append((output, {
            "output": output, "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": inputs, "state": state, "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        }))
    return payloads


def wide_period() -> dict:
    today = datetime.now(UTC).date()
    return {"start": (today - timedelta(days=40)).isoformat(), "end": (today + timedelta(days=1)).isoformat()}


# --- tests --------------------------------------------------------------------------------------------------


def test_every_callback_answers_a_manager_with_only_their_tenant(app, warehouse):
    a, b = warehouse.tenants["a"], warehouse.tenants["b"]
    asked: list[str] = []
    app.niochat.marts.listeners.append(lambda tenant, _sql: asked.append(tenant))
    client = app.server.test_client()
    assert login(client, a.manager_email).status_code == 302
    payloads = callback_payloads(app, wide_period())
    assert len(payloads) >= 15, [output for output, _ in payloads]
    ours = [output for output, _ in payloads if not output.startswith("_pages")]
    assert any("overview-kpis" in output for output in ours) and any("csv" in output for output in ours)
    seen_a = set()
    for output, payload in payloads:
        response = client.post("/_dash-update-component", json=payload)
        assert response.status_code in (200, 204), (output, response.status_code,
                                                    response.get_data(as_text=True)[:500])
        body = response.get_data(as_text=True)
        for marker in b.markers:
            assert marker not in body, f"{output} leaked tenant B's {marker!r}"
        seen_a |= {marker for marker in a.markers if marker in body}
        if "live-counters" in output:
            assert "7.101" in body and "9.30" not in body  # tenant A's live counters (bot = 7101), never B's
    assert asked and set(asked) == {str(a.tenant_id)}
    # the tenant's own data did arrive: its comments, SGP errors and handoff reasons are in the answers
    assert a.markers[0] in " ".join(seen_a)


def test_overview_kpis_are_the_tenants_own_numbers(app, warehouse):
    for letter in ("a", "b"):
        tenant = warehouse.tenants[letter]
        client = app.server.test_client()
        login(client, tenant.manager_email)
        payload = dict(callback_payloads(app, wide_period()))["overview-kpis.children"]
        body = client.post("/_dash-update-component", json=payload).get_json()
        cards = body["response"]["overview-kpis"]["children"]
        values = {card["props"]["children"][0]["props"]["children"]: card["props"]["children"][1]["props"]["children"]
                  for card in cards}
        assert values["Conversas"] == str(tenant.conversations)
        assert re.fullmatch(r"\d+,\d%", values["CSAT"]) and values["1ª resposta do bot"].endswith(" s")


def test_csv_download_has_the_tenants_rows_only(app, warehouse):
    a, b = warehouse.tenants["a"], warehouse.tenants["b"]
    client = app.server.test_client()
    login(client, a.manager_email)
    payload = dict(callback_payloads(app, wide_period()))["csat-comments-csv.data"]
    data = client.post("/_dash-update-component", json=payload).get_json()["response"]["csat-comments-csv"]["data"]
    assert data["filename"].startswith("csat-comentarios_") and data["filename"].endswith(".csv")
    lines = data["content"].lstrip("\ufeff").splitlines()
    assert lines[0] == "Quando;Nota;Comentário;Sentimento"
    assert len(lines) > 3 and all(a.markers[0] in line for line in lines[1:])
    assert b.markers[0] not in data["content"]


def test_anonymous_requests_are_refused_everywhere(app):
    client = app.server.test_client()
    for output, payload in callback_payloads(app, wide_period()):
        response = client.post("/_dash-update-component", json=payload)
        assert response.status_code == 401, output
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401
    for page in ("/", "/volume", "/csat", "/ia-sgp", "/atendentes", "/ao-vivo"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"].endswith("/login"), page
    assert client.get("/login").status_code == 200


def test_agents_wrong_passwords_and_forged_cookies_are_refused(app, warehouse):
    a, b = warehouse.tenants["a"], warehouse.tenants["b"]
    client = app.server.test_client()
    response = login(client, a.agent_email)
    assert response.status_code == 403
    assert "gestores" in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    assert login(client, a.manager_email, "wrong-password").status_code == 401
    assert login(client, "nobody@nowhere.test").status_code == 401
    # a session cookie signed with another key is ignored
    other = app.server.test_client()
    other.set_cookie("niochat_dash", "eyJ0aWQiOiJ4IiwidWlkIjoieSJ9.forged.signature")
    assert other.get("/_dash-layout").status_code == 401
    # the session holds only the ids, and switching tenant in it would need the signing key
    login(client, b.manager_email)
    with client.session_transaction() as session:
        assert set(session) <= {"uid", "tid", "ver", "_permanent", "csrf"}
        assert session["tid"] == str(b.tenant_id)


def test_logout_ends_the_session_by_post_with_the_token_only(app, warehouse):
    client = app.server.test_client()
    login(client, warehouse.tenants["a"].manager_email)
    assert client.get("/_dash-layout").status_code == 200
    with client.session_transaction() as session:
        token = session["csrf"]
    assert token in client.get("/_dash-layout").get_data(as_text=True), "the Sair form carries the token"
    assert client.get("/logout").status_code == 405  # a link or an <img> on another site logs no one out
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 302
    assert client.get("/_dash-layout").status_code == 200, "a forged logout changed nothing"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_a_disabled_user_loses_access_at_once(app, warehouse):
    a = warehouse.tenants["a"]
    engine = sync_engine(warehouse.urls.database_url)
    email = f"temp-{uuid.uuid4().hex[:6]}@{a.slug}.test"
    with engine.begin() as conn:
        user_id = accounts.create_user(conn, a.slug, email, "Temp", PASSWORD, "admin")
    client = app.server.test_client()
    assert login(client, email).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    with engine.begin() as conn:
        conn.exec_driver_sql("update users set is_active = false where id = %(id)s", {"id": user_id})
    app.niochat.accounts._checked.clear()
    assert client.get("/_dash-layout").status_code == 401
    engine.dispose()


def test_live_counters_are_read_where_the_engine_writes_them(redis_client):
    """The sweeper's hash and the per-minute counters, written through the engine's own key builders (both
    build them from niochat/live_keys.py), are what the dashboards read."""
    from api.engine import live as engine_live
    from dash_app import live as dash_live
    from niochat import live_keys

    tenant, now = str(uuid.uuid4()), time.time()
    minute = int(now // 60)
    redis_client.hset(live_keys.counters_key(tenant),
                      mapping={"bot": 4, "waiting": 3, "open": 2, "assigned": 1, live_keys.REFRESHED_AT: int(now) - 7})
    redis_client.set(engine_live.minute_key(tenant, "inbound", minute), 5)
    redis_client.set(engine_live.minute_key(tenant, "outbound", minute - 1), 6)
    read = dash_live.read_live(redis_client, tenant, minutes=2, now=now)
    assert read["counters"] == {"bot": 4, "waiting": 3, "open": 2, "assigned": 1} and read["age_seconds"] == 7
    assert read["inbound"] == [0, 5] and read["outbound"] == [6, 0]


def test_the_warehouse_role_is_what_protects_the_marts(app, warehouse):
    """Even a query with no tenant filter returns only the session tenant's rows."""
    a = warehouse.tenants["a"]
    rows = app.niochat.marts.query(a.tenant_id, "select distinct tenant_id from marts.fct_conversations")
    assert [row["tenant_id"] for row in rows] == [a.tenant_id]
    assert json.dumps([str(r["tenant_id"]) for r in rows]).count(str(warehouse.tenants["b"].tenant_id)) == 0


def _csv_rows(client, app, table_id: str) -> list[list[str]]:
    payload = dict(callback_payloads(app, wide_period()))[f"{table_id}-csv.data"]
    response = client.post("/_dash-update-component", json=payload)
    data = response.get_json()["response"][f"{table_id}-csv"]["data"]
    return [line.split(";") for line in data["content"].lstrip("\ufeff").splitlines()]


def test_agents_page_names_the_tenants_own_agents(app, warehouse):
    a, b = warehouse.tenants["a"], warehouse.tenants["b"]
    client = app.server.test_client()
    login(client, a.manager_email)
    header, *rows = _csv_rows(client, app, "agents")
    assert header[:4] == ["Atendente", "Perfil", "Equipes", "Conversas"]
    # every 3rd conversation is handed off, to the first agent when its index is even, else to the second
    handed = [index for index in range(a.conversations) if index % 3 == 0]
    expected = {a.agent_names[0]: sum(1 for index in handed if index % 2 == 0),
                a.agent_names[1]: sum(1 for index in handed if index % 2 == 1)}
    assert {row[0]: int(row[3]) for row in rows} == expected
    assert {row[1] for row in rows} == {"Atendente"}
    payload = dict(callback_payloads(app, wide_period()))["..agents-conversations-graph.figure..."
                                                          "agents-response-graph.figure.."]
    body = client.post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert all(name in body for name in a.agent_names)
    assert not any(name in body for name in b.agent_names)


def test_intents_are_counted_per_conversation_for_the_tenant(app, warehouse):
    a = warehouse.tenants["a"]
    client = app.server.test_client()
    login(client, a.manager_email)
    header, *rows = _csv_rows(client, app, "ai-intents")
    assert header == ["Intenção", "Conversas", "Mensagens", "Resolvidas pela IA", "Transferidas"]
    from dash_app.pages.ai_sgp import INTENTS

    asked = [intent_of(index) for index in range(a.conversations)]
    expected = {INTENTS[intent]: str(asked.count(intent)) for intent in set(asked) - {None}}
    assert {row[0]: row[1] for row in rows} == expected
    assert {row[0]: row[2] for row in rows} == expected  # one inbound message per conversation
    # "Falar com atendente" conversations: index % 5 == 2; handed off when index % 3 == 0
    human = [index for index in range(a.conversations) if intent_of(index) == "human"]
    handed = sum(1 for index in human if index % 3 == 0)
    rate = {row[0]: row[4] for row in rows}[INTENTS["human"]]
    assert rate == f"{100 * handed / len(human):.1f}".replace(".", ",") + "%"
    figure = dict(callback_payloads(app, wide_period()))["ai-intents-graph.figure"]
    body = client.post("/_dash-update-component", json=figure).get_json()
    bars = body["response"]["ai-intents-graph"]["figure"]["data"][0]
    assert dict(zip(bars["y"], map(str, bars["x"]), strict=True)) == expected


def test_handoff_reasons_and_tool_outcomes_are_shown_in_portuguese(app, warehouse):
    a = warehouse.tenants["a"]
    client = app.server.test_client()
    login(client, a.manager_email)
    header, *rows = _csv_rows(client, app, "ai-handoffs")
    assert header == ["Motivo", "Conversas"]
    by_code = [index for index in range(a.conversations) if index % 3 == 0 and index % 2 == 0]
    reasons = {row[0]: row[1] for row in rows}
    assert reasons["Cliente pediu um atendente"] == str(len(by_code))
    assert all(reason.startswith("motivo-") for reason in reasons if reason != "Cliente pediu um atendente")
    payload = dict(callback_payloads(app, wide_period()))["..ai-outcomes-graph.figure...ai-handoff-graph.figure..."
                                                          "ai-daily-graph.figure.."]
    pie = client.post("/_dash-update-component", json=payload).get_json()["response"]["ai-handoff-graph"]
    assert "Cliente pediu um atendente" in pie["figure"]["data"][0]["labels"]


def test_small_talk_comes_after_the_requests():
    from dash_app.pages.ai_sgp import requests_first

    rows = [{"intent": "thanks_bye"}, {"intent": "second_copy"}, {"intent": "greeting"}, {"intent": "human"}]
    assert [row["intent"] for row in requests_first(rows)] == ["second_copy", "human", "thanks_bye", "greeting"]


def test_every_tool_outcome_has_a_label():
    from dash_app.pages.ai_sgp import OUTCOMES
    from niochat.vocabulary import TOOL_OUTCOMES

    assert set(OUTCOMES) == TOOL_OUTCOMES


def test_every_intent_the_brains_record_has_a_label_and_an_accepted_value():
    import yaml

    from dash_app.pages.ai_sgp import INTENTS
    from ingest.dbt_command import dbt_project_dir
    from niochat.vocabulary import (
        ENUMERATIONS,
        INTENTS as recorded,  # the brains' own (tests/test_vocabulary.py)
    )

    assert set(INTENTS) == recorded
    model = yaml.safe_load((dbt_project_dir() / "models" / "marts" / "fct_messages.yml").read_text())["models"][0]
    (column,) = [column for column in model["columns"] if column["name"] == "intent"]
    (tested,) = [test["in_vocabulary"] for test in column["data_tests"] if "in_vocabulary" in test]
    assert set(ENUMERATIONS[tested["arguments"]["enumeration"]]) == recorded


def test_every_tool_category_has_a_label():
    from dash_app.pages.ai_sgp import CATEGORIES
    from niochat.vocabulary import TOOL_CATEGORIES

    assert set(CATEGORIES) == set(TOOL_CATEGORIES)


# --- the dashboard's own defences, over real HTTP ------------------------------------------------------------


@pytest.fixture(scope="module")
def dash_url(app):
    import logging
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    http = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


@pytest.fixture
def no_login_limits(redis_url):
    clear_login_limits(redis_url)
    yield
    clear_login_limits(redis_url)


def _session_cookie(response) -> str:
    (cookie,) = [value for value in response.headers.get_list("set-cookie") if value.startswith("niochat_dash=")]
    return cookie


def test_the_session_cookie_is_secure_when_the_request_came_over_https(dash_url, warehouse, no_login_limits):
    import httpx

    plain = _session_cookie(httpx.get(f"{dash_url}/login"))
    assert "HttpOnly" in plain and "Secure" not in plain
    behind_tls = httpx.get(f"{dash_url}/login", headers={"X-Forwarded-Proto": "https"})
    cookie = _session_cookie(behind_tls)
    assert "Secure" in cookie
    # logging in through the TLS proxy: the logged-in session's cookie is Secure too
    jar = cookie.split(";", 1)[0]
    logged = httpx.post(f"{dash_url}/login", headers={"X-Forwarded-Proto": "https", "Cookie": jar},
                        data={"email": warehouse.tenants["a"].manager_email, "password": PASSWORD,
                              "csrf_token": form_token(behind_tls.text)})
    assert logged.status_code == 302 and "Secure" in _session_cookie(logged)


def test_login_needs_the_token_of_its_own_form(dash_url, warehouse, no_login_limits):
    import httpx

    credentials = {"email": warehouse.tenants["a"].manager_email, "password": PASSWORD}
    with httpx.Client(base_url=dash_url) as forged, httpx.Client(base_url=dash_url) as other:
        refused = forged.post("/login", data=credentials)  # a form posted from another site: no token
        assert refused.status_code == 400 and "expirou" in refused.text
        assert forged.get("/_dash-layout").status_code == 401
        forged.get("/login")
        stolen = form_token(other.get("/login").text)  # someone else's token does not fit this session
        assert forged.post("/login", data={**credentials, "csrf_token": stolen}).status_code == 400
        own = form_token(forged.get("/login").text)
        assert forged.post("/login", data={**credentials, "csrf_token": own}).status_code == 302
        assert forged.get("/_dash-layout").status_code == 200


def test_dashboard_login_answers_never_tell_which_emails_exist(dash_url, warehouse, no_login_limits):
    import statistics

    import httpx

    a = warehouse.tenants["a"]
    kinds = {"unknown": "nobody-here@nowhere.test", "wrong password": a.manager_email,
             "agent, wrong password": a.agent_email}
    answers, times = {}, {}
    with httpx.Client(base_url=dash_url) as client:
        token = form_token(client.get("/login").text)
        for kind, email in kinds.items():
            tries = []
            for _ in range(4):
                started = time.perf_counter()
                response = client.post("/login", data={"email": email, "password": "wrong-password-1",
                                                       "csrf_token": token})
                tries.append((response.status_code, response.text.replace(email, "EMAIL"),
                              time.perf_counter() - started))
            answers[kind] = {(status, text) for status, text, _ in tries}
            times[kind] = statistics.median(seconds for _, _, seconds in tries)
    assert len({frozenset(found) for found in answers.values()}) == 1, answers
    ((status, text),) = answers["unknown"]
    assert status == 401 and "E-mail ou senha incorretos." in text
    assert max(times.values()) < 2.5 * min(times.values()), times


def test_csv_cells_that_would_run_as_formulas_are_neutralized(app, warehouse):
    from dash_app.components import Column, csv_text

    client = app.server.test_client()
    login(client, warehouse.tenants["a"].manager_email)
    import csv
    import io

    payload = dict(callback_payloads(app, wide_period()))["csat-comments-csv.data"]
    data = client.post("/_dash-update-component", json=payload).get_json()["response"]["csat-comments-csv"]["data"]
    rows = list(csv.reader(io.StringIO(data["content"].lstrip("\ufeff")), delimiter=";"))
    (hostile,) = [row for row in rows if "HYPERLINK" in ";".join(row)]
    assert hostile[2].startswith("'=HYPERLINK("), hostile
    columns = [Column("v", "v")]
    for bad in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        text = csv_text([{"v": bad}], columns)
        assert text.splitlines()[1].strip('"').startswith("'"), (bad, text)
    assert csv_text([{"v": "ok = fine"}], columns).splitlines()[1] == "ok = fine"


def test_dashboard_login_locks_an_account_after_wrong_passwords(dash_url, warehouse, no_login_limits):
    import httpx

    from niochat.lockout import FREE_FAILURES

    a = warehouse.tenants["a"]
    with httpx.Client(base_url=dash_url) as client:
        token = form_token(client.get("/login").text)
        for n in range(FREE_FAILURES):
            wrong = client.post("/login", data={"email": a.manager_email, "password": f"guess-{n}",
                                                "csrf_token": token})
            assert wrong.status_code == 401
        locked = client.post("/login", data={"email": a.manager_email, "password": PASSWORD, "csrf_token": token})
        assert locked.status_code == 429 and "tente de novo em 1 minuto" in locked.text
        assert client.get("/_dash-layout").status_code == 401
    # one lockout per account, kept where the API's login reads it too
    from niochat.lockout import SyncLockout

    client = redis.Redis.from_url(warehouse.urls.redis_url)
    assert SyncLockout(client).locked_for(a.manager_email) > 0
    client.close()


def test_dashboard_login_is_refused_when_redis_cannot_be_asked(warehouse, tmp_path):
    from dash_app import create_app

    urls = ServiceUrls(warehouse.urls.database_url, warehouse.urls.warehouse_url, "redis://127.0.0.1:1/0")
    app = create_app(dash_settings(tmp_path), urls)
    client = app.server.test_client()
    a = warehouse.tenants["a"]
    refused = login(client, a.manager_email)
    assert refused.status_code == 503 and "indisponível" in refused.get_data(as_text=True)


def test_a_new_password_ends_an_open_dashboard_session(app, warehouse, no_login_limits):
    from sqlalchemy import update as sql_update

    from niochat.database import sync_engine
    from niochat.passwords import hash_password
    from niochat.tables import users

    a = warehouse.tenants["a"]
    client = app.server.test_client()
    assert login(client, a.manager_email).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    engine = sync_engine(warehouse.urls.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sql_update(users).where(users.c.email == a.manager_email)
                         .values(password_hash=hash_password(PASSWORD)))  # the same text, a new hash: a new password
        time.sleep(1.1)  # one page load's checks are shared for a second
        assert client.get("/_dash-layout").status_code == 401
        assert login(client, a.manager_email).status_code == 302 and client.get("/_dash-layout").status_code == 200
    finally:
        engine.dispose()
