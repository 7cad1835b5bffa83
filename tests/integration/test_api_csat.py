"""GET /api/v1/csat and /api/v1/csat/summary over real HTTP on real PostgreSQL.

Survey rows are inserted as the database owner for three tenants: A (the one under test, São Paulo time),
B (rows that must never show for A) and C (no surveys at all). The summary numbers are computed by hand below.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete, insert, update

from api.app import create_app
from api.security import issue_token
from niochat import accounts
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import contacts, conversations, csat_requests, csat_responses, tenants
from tests.support.basics import TEST_SECRET
from tests.support.factories import PASSWORD, TenantRows, full_tenant
from tests.support.servers import serving

KEYRING = Keyring(TEST_SECRET)


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


@dataclass
class Shop:
    """A tenant with its people (agent = full_tenant's agent "Agente"), tokens, and its surveys by name."""

    rows: TenantRows
    people: dict[str, uuid.UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    requests: dict[str, uuid.UUID] = field(default_factory=dict)
    responses: dict[str, uuid.UUID] = field(default_factory=dict)
    conversations: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.rows.tenant_id


def _shop(conn, *, keep_factory_survey: bool) -> Shop:
    rows = full_tenant(conn)
    conn.execute(update(tenants).where(tenants.c.id == rows.tenant_id).values(timezone="America/Sao_Paulo"))
    if not keep_factory_survey:
        conn.execute(delete(csat_responses).where(csat_responses.c.tenant_id == rows.tenant_id))
        conn.execute(delete(csat_requests).where(csat_requests.c.tenant_id == rows.tenant_id))
    shop = Shop(rows, {"agent": rows.ids["users"][0]})
    for who, role in (("agent2", "agent"), ("manager", "manager"), ("admin", "admin")):
        shop.people[who] = accounts.create_user(conn, rows.slug, f"{who}@{rows.slug}.test", who.title(), PASSWORD, role)
    shop.tokens = {who: issue_token(KEYRING, user_id, rows.tenant_id, 60) for who, user_id in shop.people.items()}
    return shop


def _survey(conn, shop: Shop, name: str, *, assignee: str, agent: str | None = None, status: str = "answered",
            sent_at: datetime | None = None, rating: int | None = None, answered_at: datetime | None = None,
            comment: str | None = None) -> None:
    """One closed conversation (with its own contact), its survey request and, with a rating, the answer."""
    contact_id = conn.execute(
        insert(contacts).values(tenant_id=shop.tenant_id, phone=f"55119{uuid.uuid4().int % 10**8:08d}",
                                name=f"Cliente {name}").returning(contacts.c.id)
    ).scalar_one()
    conversation_id = conn.execute(
        insert(conversations).values(
            tenant_id=shop.tenant_id, channel_id=shop.rows.ids["channels"][0], contact_id=contact_id,
            status="closed", assignee_id=shop.people[assignee], closed_at=sent_at or _utc(1, 12),
        ).returning(conversations.c.id)
    ).scalar_one()
    request_id = conn.execute(
        insert(csat_requests).values(
            tenant_id=shop.tenant_id, conversation_id=conversation_id, contact_id=contact_id,
            agent_id=shop.people[agent or assignee], status=status, scheduled_for=sent_at or _utc(1, 12),
            sent_at=sent_at, answered_at=answered_at,
        ).returning(csat_requests.c.id)
    ).scalar_one()
    shop.conversations[name], shop.requests[name] = conversation_id, request_id
    if rating is not None:
        shop.responses[name] = conn.execute(
            insert(csat_responses).values(
                tenant_id=shop.tenant_id, csat_request_id=request_id, conversation_id=conversation_id,
                rating=rating, sentiment="negative" if rating <= 2 else "neutral" if rating == 3 else "positive",
                comment=comment, raw_text=f"{rating} {comment or ''}".strip(), understood_by="number",
                created_at=answered_at, updated_at=answered_at,
            ).returning(csat_responses.c.id)
        ).scalar_one()


@pytest.fixture(scope="module")
def shops(engine) -> dict[str, Shop]:
    with engine.begin() as conn:
        a = _shop(conn, keep_factory_survey=False)
        # r3 is answered at 02:30 UTC on the 12th: 23:30 of the 11th in São Paulo.
        _survey(conn, a, "r1", assignee="agent", sent_at=_utc(10, 12), rating=5, answered_at=_utc(10, 13),
                comment="Ótimo atendimento")
        _survey(conn, a, "r2", assignee="agent", sent_at=_utc(11, 12), rating=4, answered_at=_utc(11, 12, 30))
        _survey(conn, a, "r3", assignee="agent2", sent_at=_utc(11, 15), rating=1, answered_at=_utc(12, 2, 30),
                comment="demorou demais")
        _survey(conn, a, "r4", assignee="agent2", sent_at=_utc(12, 12), rating=3, answered_at=_utc(12, 12, 10))
        _survey(conn, a, "r5", assignee="agent", status="expired", sent_at=_utc(12, 13))
        _survey(conn, a, "r6", assignee="agent2", status="skipped_window")
        _survey(conn, a, "r7", assignee="agent", sent_at=_utc(13, 3, 30), rating=2, answered_at=_utc(13, 4))

        b = _shop(conn, keep_factory_survey=True)  # keeps full_tenant's answer (rating 5) too
        _survey(conn, b, "b1", assignee="agent", sent_at=_utc(11, 12), rating=1, answered_at=_utc(11, 12, 30),
                comment="segredo do tenant B")
        _survey(conn, b, "b2", assignee="agent2", sent_at=_utc(11, 13), rating=1, answered_at=_utc(11, 14))
        _survey(conn, b, "b3", assignee="agent", status="expired", sent_at=_utc(11, 15))

        c = _shop(conn, keep_factory_survey=False)

        d = _shop(conn, keep_factory_survey=False)  # a survey sent late on the 20th, answered the next morning
        _survey(conn, d, "d1", assignee="agent", sent_at=_utc(20, 23), rating=4, answered_at=_utc(21, 12))
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url, redis_url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, _env_file=None)
    with serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url))) as base_url:
        with httpx.Client(base_url=base_url, timeout=20) as client:
            yield client


def _get(api: httpx.Client, shop: Shop, who: str, path: str, **params) -> httpx.Response:
    return api.get(f"/api/v1/csat{path}", headers={"Authorization": f"Bearer {shop.tokens[who]}"}, params=params)


def _names(shop: Shop, response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    by_id = {str(value): name for name, value in shop.responses.items()}
    return [by_id.get(item["id"], item["id"]) for item in response.json()["items"]]


def _summary(api, shop: Shop, who: str = "manager", **params) -> dict:
    response = _get(api, shop, who, "/summary", **params)
    assert response.status_code == 200, response.text
    return response.json()


def _distribution(*counts: int) -> dict[str, int]:
    return {str(rating): count for rating, count in zip(range(1, 6), counts, strict=True)}


# --- the list ------------------------------------------------------------------------------------------------


def test_list_newest_first_with_contact_agent_and_comment(api, shops):
    a = shops["a"]
    response = _get(api, a, "manager", "")
    assert _names(a, response) == ["r7", "r4", "r3", "r2", "r1"]
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 50, 0)
    r1 = body["items"][-1]
    assert r1["conversation_id"] == str(a.conversations["r1"])
    assert r1["contact"]["name"] == "Cliente r1" and r1["contact"]["phone"].startswith("5511")
    assert (r1["agent_id"], r1["agent_name"]) == (str(a.people["agent"]), "Agente")
    assert (r1["rating"], r1["sentiment"], r1["comment"]) == (5, "positive", "Ótimo atendimento")
    assert r1["created_at"].startswith("2025-03-10T13:00") and r1["sent_at"].startswith("2025-03-10T12:00")
    assert _names(a, _get(api, a, "admin", "")) == ["r7", "r4", "r3", "r2", "r1"]


def test_list_filters_and_pages(api, shops):
    a = shops["a"]
    assert _names(a, _get(api, a, "manager", "", rating=[1, 2])) == ["r7", "r3"]
    assert _names(a, _get(api, a, "manager", "", rating=5)) == ["r1"]
    assert _names(a, _get(api, a, "manager", "", agent_id=str(a.people["agent2"]))) == ["r4", "r3"]
    assert _names(a, _get(api, a, "manager", "", agent_id=str(a.people["agent"]), rating=[4, 5])) == ["r2", "r1"]
    # Days in the tenant's timezone: r3, answered 02:30 UTC on the 12th, belongs to the 11th in São Paulo.
    assert _names(a, _get(api, a, "manager", "", date_from="2025-03-11", date_to="2025-03-11")) == ["r3", "r2"]
    assert _names(a, _get(api, a, "manager", "", date_from="2025-03-12")) == ["r7", "r4"]
    assert _names(a, _get(api, a, "manager", "", date_to="2025-03-10")) == ["r1"]
    page = _get(api, a, "manager", "", limit=2, offset=2)
    assert _names(a, page) == ["r3", "r2"] and page.json()["total"] == 5
    assert _get(api, a, "manager", "", date_from="2025-04-01").json() == {
        "items": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.parametrize("params", [
    {"rating": 0}, {"rating": 6}, {"rating": "cinco"}, {"agent_id": "nobody"}, {"date_from": "ontem"},
    {"date_from": "2025-03-12", "date_to": "2025-03-11"}, {"limit": 0}, {"limit": 201}, {"offset": -1},
])
def test_bad_filters_are_rejected(api, shops, params):
    assert _get(api, shops["a"], "manager", "", **params).status_code == 422


def test_agents_see_only_the_answers_about_their_conversations(api, shops):
    a = shops["a"]
    assert _names(a, _get(api, a, "agent", "")) == ["r7", "r2", "r1"]
    assert _names(a, _get(api, a, "agent2", "")) == ["r4", "r3"]
    assert _get(api, a, "agent", "", agent_id=str(a.people["agent2"])).json()["total"] == 0
    mine = _summary(api, a, "agent")
    assert (mine["surveys_sent"], mine["answers"], mine["distribution"]) == (4, 3, _distribution(0, 1, 0, 1, 1))
    assert _summary(api, a, "agent2")["surveys_sent"] == 2


def test_the_token_is_required(api):
    assert api.get("/api/v1/csat").status_code == 401
    assert api.get("/api/v1/csat/summary").status_code == 401
    assert api.get("/api/v1/csat", headers={"Authorization": "Bearer nonsense"}).status_code == 401


# --- the summary ---------------------------------------------------------------------------------------------


def test_summary_of_everything(api, shops):
    # Sent: r1 r2 r3 r4 r5 r7 (r6 was skipped, never sent). Answers: 5 4 1 3 2.
    assert _summary(api, shops["a"]) == {
        "surveys_sent": 6,
        "answers": 5,
        "satisfaction_score": 40.0,  # 4-5: r1, r2 -> 2 / 5, percent as the marts' csat_score_pct
        "response_rate": 83.33,  # 5 of the 6 sent were answered
        "average_rating": 3.0,  # 15 / 5
        "distribution": _distribution(1, 1, 1, 1, 1),
    }


def test_summary_filters(api, shops):
    a = shops["a"]
    # agent: sent r1 r2 r5 r7, answers 5 4 2
    assert _summary(api, a, agent_id=str(a.people["agent"])) == {
        "surveys_sent": 4, "answers": 3, "satisfaction_score": 66.67, "response_rate": 75.0,
        "average_rating": 3.67, "distribution": _distribution(0, 1, 0, 1, 1),
    }
    # The 11th in São Paulo: sent r2 (12:00 UTC) and r3 (15:00 UTC); answered r2 (4) and r3 (1, at 23:30 local).
    assert _summary(api, a, date_from="2025-03-11", date_to="2025-03-11") == {
        "surveys_sent": 2, "answers": 2, "satisfaction_score": 50.0, "response_rate": 100.0,
        "average_rating": 2.5, "distribution": _distribution(1, 0, 0, 1, 0),
    }
    # The 13th: r7 sent at 00:30 and answered at 01:00 local; r4 and r5 belong to the 12th.
    assert _summary(api, a, date_from="2025-03-13") == {
        "surveys_sent": 1, "answers": 1, "satisfaction_score": 0.0, "response_rate": 100.0,
        "average_rating": 2.0, "distribution": _distribution(0, 1, 0, 0, 0),
    }
    # Sent on the 12th: r4 (answered) and r5 (expired).
    twelfth = _summary(api, a, date_from="2025-03-12", date_to="2025-03-12")
    assert (twelfth["surveys_sent"], twelfth["answers"], twelfth["response_rate"]) == (2, 1, 50.0)
    assert _summary(api, a, rating=1)["answers"] == 5  # rating is not a summary filter


def test_summary_of_a_tenant_without_surveys(api, shops):
    empty = {"surveys_sent": 0, "answers": 0, "satisfaction_score": None, "response_rate": None,
             "average_rating": None, "distribution": _distribution(0, 0, 0, 0, 0)}
    c = shops["c"]
    for who in ("manager", "admin", "agent"):
        assert _summary(api, c, who) == empty
        assert _get(api, c, who, "").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    # B's factory answer, recorded today, its survey's send time never recorded: an answered survey was sent, at
    # its answer's time at the latest (the marts' rule), so it counts as sent today.
    assert _summary(api, shops["b"], date_from="2025-04-01") == {
        "surveys_sent": 1, "answers": 1, "satisfaction_score": 100.0, "response_rate": 100.0,
        "average_rating": 5.0, "distribution": _distribution(0, 0, 0, 0, 1),
    }
    # Nothing sent and nothing answered in the period: every rate is null, not zero.
    assert _summary(api, shops["a"], date_from="2025-04-01") == empty


def test_the_response_rate_follows_the_surveys_sent_in_the_period_to_their_answers(api, shops):
    """The marts' csat_response_rate_pct: of the surveys sent in the period, those answered, whenever."""
    d = shops["d"]
    twentieth = _summary(api, d, date_from="2025-03-20", date_to="2025-03-20")
    assert (twentieth["surveys_sent"], twentieth["answers"], twentieth["response_rate"]) == (1, 0, 100.0)
    assert twentieth["satisfaction_score"] is None
    day_after = _summary(api, d, date_from="2025-03-21", date_to="2025-03-21")
    assert (day_after["surveys_sent"], day_after["answers"], day_after["response_rate"]) == (0, 1, None)
    assert day_after["satisfaction_score"] == 100.0


# --- tenants -------------------------------------------------------------------------------------------------


def test_another_tenants_surveys_never_show(api, shops):
    a, b = shops["a"], shops["b"]
    b_values = {str(value) for value in (*b.responses.values(), *b.requests.values(), *b.conversations.values(),
                                         *b.people.values(), b.tenant_id, *b.rows.ids["csat_responses"])}
    b_values.add("segredo do tenant B")
    for who in ("manager", "admin", "agent", "agent2"):
        for path, params in (("", {"limit": 200}), ("", {"rating": 1}), ("/summary", {}),
                             ("", {"agent_id": str(b.people["agent"])}), ("/summary", {"date_from": "2025-03-11"})):
            text = _get(api, a, who, path, **params).text
            assert not {value for value in b_values if value in text}, f"{path} {params} as A's {who}: {text}"
    assert _get(api, a, "manager", "", agent_id=str(b.people["agent"])).json()["total"] == 0
    assert _summary(api, a, agent_id=str(b.people["agent"]))["surveys_sent"] == 0
    # B sees its own rows (so the checks above could catch a leak): b1, b2 and full_tenant's answer.
    listed = _get(api, b, "manager", "")
    assert listed.json()["total"] == 3 and "segredo do tenant B" in listed.text
    assert str(b.rows.ids["csat_responses"][0]) in listed.text
    # b1, b2, b3 sent on the 11th and the factory's answered survey (no send time recorded); b3 never answered
    assert _summary(api, b) == {
        "surveys_sent": 4, "answers": 3, "satisfaction_score": 33.33, "response_rate": 75.0,
        "average_rating": 2.33, "distribution": _distribution(2, 0, 0, 0, 1),
    }
