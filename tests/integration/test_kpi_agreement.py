"""One formula per metric (issue #23): what the dashboards and the API show equals what the marts say, for the same
rows. Two tenants' data (tests/support/dashboard.py's generator: handoffs to two agents, CSAT answers on the day
and the next, surveys never answered or whose send was not recorded) go through the real pipeline (ingest.sync +
dbt); the marts are then asked directly, in SQL written here with dbt's rounding, and compared with

- the overview's KPI cards and the agents' page (Flask test client, a manager's real session), over periods of
  many days (a page averaging daily rates, or dividing on its own, would differ) and of one day;
- GET /api/v1/csat/summary (real HTTP; it counts live from the operational tables), for the tenant and per agent;
- niochat/kpis.py's division of each mart row's own numerator and denominator (Python's formula is dbt's).
"""

from __future__ import annotations

import ast
import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
import yaml
from sqlalchemy import select

from api.app import create_app as create_api
from api.security import issue_token
from dash_app import theme
from ingest.dbt_command import dbt_project_dir
from niochat import kpis
from niochat.database import libpq_url, sync_engine
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import users
from tests.support.basics import ROOT, TEST_SECRET
from tests.support.dashboard import callback_payloads, dash_settings, dash_warehouse, login
from tests.support.servers import serving

KEYRING = Keyring(TEST_SECRET)
ZONE = ZoneInfo("America/Sao_Paulo")  # the generator's tenants
DASH_ROOT = ROOT / "dash_app"

# The marts' figures over a period, written out in SQL as dbt's `percent` and `average` macros write them.
TENANT_PERIOD = """
    select sum(conversations_started) as conversations,
           round(100.0 * sum(ai_resolved_conversations) / nullif(sum(conversations_closed), 0), 2) as ai_resolution,
           round(sum(bot_first_response_seconds_sum) / nullif(sum(bot_first_responses), 0), 3) as bot_response,
           round(sum(human_first_response_seconds_sum) / nullif(sum(human_first_responses), 0), 3) as human_response,
           round(sum(resolution_seconds_sum) / nullif(sum(conversations_closed), 0), 3) as resolution,
           round(100.0 * sum(csat_satisfied_responses) / nullif(sum(csat_responses), 0), 2) as csat_score
    from marts.agg_tenant_daily_kpis
    where tenant_id = %(tenant)s and activity_date between %(start)s and %(end)s
"""
AGENTS_PERIOD = """
    select agent_user_id, sum(conversations_handled) as handled, sum(conversations_closed) as closed,
           sum(agent_messages) as messages,
           round(sum(human_first_response_seconds_sum) / nullif(sum(human_first_responses), 0), 3) as human_response,
           sum(csat_responses) as answers,
           round(100.0 * sum(csat_satisfied_responses) / nullif(sum(csat_responses), 0), 2) as csat_score,
           round(sum(csat_rating_sum)::numeric / nullif(sum(csat_responses), 0), 2) as csat_average
    from marts.agg_agent_daily_kpis
    where tenant_id = %(tenant)s and activity_date between %(start)s and %(end)s
    group by agent_user_id
"""
CSAT_PERIOD = """
    select coalesce(sum(csat_surveys_sent), 0) as surveys_sent, coalesce(sum(csat_responses), 0) as answers,
           round(100.0 * sum(csat_satisfied_responses) / nullif(sum(csat_responses), 0), 2) as satisfaction_score,
           round(100.0 * sum(csat_surveys_answered) / nullif(sum(csat_surveys_sent), 0), 2) as response_rate,
           round(sum(csat_rating_sum)::numeric / nullif(sum(csat_responses), 0), 2) as average_rating,
           {distribution}
    from marts.{mart}
    where tenant_id = %(tenant)s and activity_date between %(start)s and %(end)s {agent_filter}
""".replace("{distribution}", ", ".join(f"coalesce(sum(csat_responses_rated_{rating}), 0) as rated_{rating}"
                                         for rating in range(1, 6)))


@pytest.fixture(scope="module")
def warehouse(pg_server_url, redis_url):
    with dash_warehouse(pg_server_url, redis_url) as built:
        yield built


@pytest.fixture(scope="module")
def dash(warehouse, tmp_path_factory):
    from dash_app import create_app

    return create_app(dash_settings(tmp_path_factory.mktemp("dash")), warehouse.urls)


@pytest.fixture(scope="module")
def api(warehouse, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, _env_file=None)
    with serving(create_api(settings, warehouse.urls)) as base_url:
        with httpx.Client(base_url=base_url, timeout=20) as client:
            yield client


def _mart(warehouse, query: str, **params) -> list[dict]:
    with psycopg.connect(libpq_url(warehouse.urls.warehouse_url), row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(query, params).fetchall()


def _periods(warehouse, tenant) -> list[tuple[date, date]]:
    """The generator's 20 days, a week inside them, and single days: the busiest in CSAT answers, one with surveys
    left unanswered, and one whose conversation an agent answered the next day."""
    today = datetime.now(ZONE).date()
    (busiest,) = _mart(warehouse, """
        select activity_date from marts.agg_tenant_daily_kpis where tenant_id = %(tenant)s
        order by csat_responses desc, activity_date limit 1""", tenant=tenant.tenant_id)
    (unanswered,) = _mart(warehouse, """
        select activity_date from marts.agg_tenant_daily_kpis
        where tenant_id = %(tenant)s and csat_surveys_answered < csat_surveys_sent and conversations_started > 0
        order by activity_date limit 1""", tenant=tenant.tenant_id)
    (answered_late,) = _mart(warehouse, """
        select min(activity_date) as activity_date from marts.agg_agent_daily_kpis
        where tenant_id = %(tenant)s and human_first_responses <> conversations_handled""", tenant=tenant.tenant_id)
    return [(today - timedelta(days=21), today), (today - timedelta(days=12), today - timedelta(days=6)),
            (busiest["activity_date"],) * 2, (unanswered["activity_date"],) * 2, (answered_late["activity_date"],) * 2]


def _period(start: date, end: date) -> dict:
    return {"start": start.isoformat(), "end": end.isoformat()}


def _manager(warehouse, tenant) -> httpx.Headers:
    engine = sync_engine(warehouse.urls.database_url)
    try:
        with engine.connect() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.email == tenant.manager_email)).scalar_one()
    finally:
        engine.dispose()
    return httpx.Headers({"Authorization": f"Bearer {issue_token(KEYRING, user_id, tenant.tenant_id, 60)}"})


# --- the dashboards ---------------------------------------------------------------------------------------------


def test_the_overviews_cards_are_the_marts_figures_over_the_period(dash, warehouse):
    for tenant in warehouse.tenants.values():
        client = dash.server.test_client()
        login(client, tenant.manager_email)
        for start, end in _periods(warehouse, tenant):
            (truth,) = _mart(warehouse, TENANT_PERIOD, tenant=tenant.tenant_id, start=start, end=end)
            payload = dict(callback_payloads(dash, _period(start, end)))["overview-kpis.children"]
            cards = client.post("/_dash-update-component", json=payload).get_json()["response"]["overview-kpis"]
            shown = {label["props"]["children"]: value["props"]["children"]
                     for label, value, _change in (card["props"]["children"] for card in cards["children"])}
            assert shown == {
                "Conversas": theme.number(truth["conversations"]),
                "Resolução pela IA": theme.percent(truth["ai_resolution"]),
                "1ª resposta do bot": theme.duration(truth["bot_response"]),
                "1ª resposta humana": theme.duration(truth["human_response"]),
                "Tempo de resolução": theme.duration(truth["resolution"]),
                "CSAT": theme.percent(truth["csat_score"]),
            }, (tenant.letter, start, end)


def test_the_agents_page_is_the_agent_mart_over_the_period(dash, warehouse):
    compared = 0
    for tenant in warehouse.tenants.values():
        names = dict(zip(tenant.agent_ids, tenant.agent_names, strict=True))
        client = dash.server.test_client()
        login(client, tenant.manager_email)
        for start, end in _periods(warehouse, tenant):
            truth = {names[row["agent_user_id"]]: [
                theme.number(row["handled"]), theme.number(row["closed"]), theme.number(row["messages"]),
                theme.duration(row["human_response"]), theme.number(row["answers"]), theme.percent(row["csat_score"]),
                theme.number(row["csat_average"], 2),
            ] for row in _mart(warehouse, AGENTS_PERIOD, tenant=tenant.tenant_id, start=start, end=end)}
            payload = dict(callback_payloads(dash, _period(start, end)))["agents-csv.data"]
            data = client.post("/_dash-update-component", json=payload).get_json()["response"]["agents-csv"]["data"]
            header, *rows = [line.split(";") for line in data["content"].lstrip("\ufeff").splitlines()]
            assert header[3:] == ["Conversas", "Encerradas", "Mensagens", "1ª resposta (da transferência)",
                                  "Respostas CSAT", "CSAT (4–5)", "CSAT médio"]
            assert {row[0]: row[3:] for row in rows} == truth, (tenant.letter, start, end)
            compared += len(truth)
    assert compared >= 8  # both agents of both tenants over the long periods at least


# --- the API -----------------------------------------------------------------------------------------------------


def _csat_truth(warehouse, tenant, start: date, end: date, agent_id: uuid.UUID | None = None) -> dict:
    mart, agent_filter = ("agg_tenant_daily_kpis", "") if agent_id is None else \
        ("agg_agent_daily_kpis", "and agent_user_id = %(agent)s")
    (row,) = _mart(warehouse, CSAT_PERIOD.format(mart=mart, agent_filter=agent_filter),
                   tenant=tenant.tenant_id, start=start, end=end, agent=agent_id)
    number = {key: None if row[key] is None else float(row[key])
              for key in ("satisfaction_score", "response_rate", "average_rating")}
    return {"surveys_sent": row["surveys_sent"], "answers": row["answers"], **number,
            "distribution": {str(rating): row[f"rated_{rating}"] for rating in range(1, 6)}}


def test_the_apis_csat_summary_is_the_marts_for_the_tenant_and_each_agent(api, warehouse):
    today = datetime.now(ZONE).date()
    days = [(today - timedelta(days=offset),) * 2 for offset in range(22)]
    compared = 0
    for tenant in warehouse.tenants.values():
        headers = _manager(warehouse, tenant)
        for start, end in _periods(warehouse, tenant) + days:
            for agent_id in (None, *tenant.agent_ids):
                params = {"date_from": start.isoformat(), "date_to": end.isoformat()}
                if agent_id is not None:
                    params["agent_id"] = str(agent_id)
                response = api.get("/api/v1/csat/summary", headers=headers, params=params)
                assert response.status_code == 200, response.text
                expected = _csat_truth(warehouse, tenant, start, end, agent_id)
                assert response.json() == expected, (tenant.letter, start, end, agent_id)
                compared += bool(expected["answers"])
    assert compared > 20  # most of those periods had answers to compare


# --- the formulas themselves -------------------------------------------------------------------------------------


def test_python_divides_each_mart_row_as_dbt_did(warehouse):
    """Every daily rate and average of the marts, recomputed from the row's own sums by niochat/kpis.py."""
    checked = 0
    for mart, ratios in kpis.RATIOS.items():
        for row in _mart(warehouse, f"select * from marts.{mart}"):
            for ratio in ratios:
                if ratio.column in row:
                    assert ratio.of(row) == row[ratio.column], (mart, ratio.column, row)
                    checked += row[ratio.column] is not None
    assert checked > 300  # a few hundred daily figures, not a vacuous loop


def _mart_columns() -> dict[str, list[dict]]:
    columns = {}
    for path in (dbt_project_dir() / "models" / "marts").glob("*.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            columns[model["name"]] = model["columns"]
    return columns


def test_each_mart_rate_has_one_python_twin_with_the_yamls_formula():
    """A rate or average column in a mart's YAML is divided in Python by the same numerator and denominator (its
    `meta.formula`), and every Python ratio names columns its mart has."""
    marts = _mart_columns()
    for mart, columns in marts.items():
        names = {column["name"] for column in columns}
        ratios = {ratio.column: ratio for ratio in kpis.RATIOS.get(mart, ())}
        for name in names:
            if name.endswith(("_pct", "_avg", "_average")):
                assert name in ratios, f"{mart}.{name} has no ratio in niochat/kpis.py"
        formulas = {re.sub(r"^100 \* |sum\(|\)", "", column["config"]["meta"]["formula"])
                    for column in columns if "formula" in column.get("config", {}).get("meta", {})}
        for ratio in ratios.values():
            assert {ratio.numerator, ratio.denominator} <= names, (mart, ratio)
            assert f"{ratio.numerator} / {ratio.denominator}" in formulas, (mart, ratio, formulas)
            assert (ratio.factor == 100) == ratio.column.endswith("_pct"), ratio
    assert set(kpis.RATIOS) <= set(marts)


def test_no_page_divides_and_no_warehouse_query_averages():
    """A cheap guard beside the behavioural tests above: division and averages belong to niochat/kpis.py."""
    for path in sorted((DASH_ROOT / "pages").glob("*.py")):
        divisions = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv))]
        assert not divisions, f"{path.name} divides on lines {divisions}"
    queries = [part.value for node in ast.walk(ast.parse((DASH_ROOT / "warehouse.py").read_text()))
               if isinstance(node, ast.JoinedStr)  # the SQL: f-strings naming the marts' schema
               for part in node.values if isinstance(part, ast.Constant)]
    assert any("agg_tenant_daily_kpis" in query for query in queries)
    for query in queries:
        assert not re.search(r"\bavg\s*\(|\bround\s*\(|[^/*]/[^/*]", query), query
