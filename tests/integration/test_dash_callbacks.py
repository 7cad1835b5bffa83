"""The dashboards' callbacks through Flask's test client with real sessions, on marts built by the real pipeline
(ingest.sync + dbt) from two tenants' data: a manager of tenant A never receives tenant B's numbers on any
callback (the callback map is enumerated, so a new callback is covered automatically), anonymous requests and
agents are refused.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
import redis

from niochat import accounts
from niochat.database import sync_engine
from niochat.embedded import ServiceUrls
from tests.support.dashboard import (
    PASSWORD,
    callback_payloads,
    dash_settings,
    dash_warehouse,
    form_token,
    intent_of,
    labels_of,
    login,
    set_live_counters,
    wide_period,
)
from tests.support.factories import clear_login_limits

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
    response = login(client, a.agent_email)  # agents work through the API: without it they are not let in
    assert response.status_code == 503
    assert "atendimento está indisponível" in response.get_data(as_text=True)
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
        assert set(session) <= {"uid", "tid", "ver", "_permanent", "csrf", "sid"}
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


def test_conversations_per_label_are_the_tenants_own(app, warehouse):
    """The volume page's "Conversas por etiqueta": each tenant's labels by name, its conversations counted once
    per label (a name both tenants use counts each tenant's own), in the table, its CSV and the bar chart."""
    for letter, other in (("a", "b"), ("b", "a")):
        tenant, stranger = warehouse.tenants[letter], warehouse.tenants[other]
        client = app.server.test_client()
        login(client, tenant.manager_email)
        header, *rows = _csv_rows(client, app, "volume-labels")
        assert header == ["Etiqueta", "Conversas"]
        expected = {name: str(sum(1 for index in range(tenant.conversations) if key in labels_of(index)))
                    for key, name in tenant.label_names.items()}
        assert {row[0]: row[1] for row in rows} == expected
        payload = dict(callback_payloads(app, wide_period()))["volume-labels-graph.figure"]
        bars = client.post("/_dash-update-component", json=payload).get_json()["response"]["volume-labels-graph"]
        shown = bars["figure"]["data"][0]
        assert dict(zip(shown["y"], map(str, shown["x"]), strict=True)) == expected
        assert stranger.markers[0] not in json.dumps(bars)
    # a period before any conversation: nothing labelled in it
    client = app.server.test_client()
    login(client, warehouse.tenants["a"].manager_email)
    payload = dict(callback_payloads(app, {"start": "2020-01-01", "end": "2020-01-31"}))["volume-labels-table.children"]
    body = client.post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert "Nenhuma conversa com etiqueta no período." in body


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
        INTENTS as recorded,  # the brains' own (tests/unit/test_vocabulary.py)
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
