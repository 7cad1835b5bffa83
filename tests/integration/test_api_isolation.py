"""Tenant isolation of the whole REST API: tenant A's most powerful users, given tenant B's real ids, get 404.

Every `/api/v1` route with a path parameter must have an entry in CALLS (the test fails for a new route without
one), gets B's id of the right kind, and must answer 404 without any of B's data. Every list route called by A
must show none of B's ids, while B's own token does see them (so the check can catch a leak).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import insert, select

from api.app import create_app
from api.security import issue_token
from niochat import accounts
from niochat.channel_keys import key_hash
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import audit_log, channels, contacts, conversations, messages, team_members, teams, users
from tests.support.basics import TEST_SECRET
from tests.support.factories import PASSWORD, TenantRows, full_tenant
from tests.support.servers import serving

API = "/api/v1"
# Which of B's ids goes into each path parameter (keys of TenantRows.ids).
PARAMETER_KINDS = {"conversation_id": "conversations", "contact_id": "contacts", "user_id": "users",
                   "channel_id": "channels", "label_id": "labels", "quick_reply_id": "quick_replies",
                   "team_id": "teams", "knowledge_entry_id": "knowledge_entries", "message_id": "messages",
                   "invoice_id": "conversations"}  # an SGP invoice's id: any of B's, B's conversation decides


@dataclass
class World:
    a: TenantRows
    b: TenantRows
    tokens: dict[str, str]  # A's admin, superadmin, manager; B's admin
    a_admin: uuid.UUID
    a_conversation: uuid.UUID  # waiting, in A's team queue

    def b_ids(self) -> set[str]:
        """Every id of B's rows (and its webhook key and slug): none may appear in what A sees."""
        values = {str(value) for kind, ids in self.b.ids.items() for value in ids}
        return values | {self.b.slug, str(self.b.tenant_id)}


# (method, route path) -> the JSON body to send (a valid one, so only the id can make it fail), built from World.
CALLS = {
    ("GET", "/api/v1/conversations/{conversation_id}"): lambda w: None,
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/reply"): lambda w: {"text": "olá"},
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): lambda w: {"user_id": str(w.a_admin)},
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): lambda w: {"team_id": str(w.a.ids["teams"][0])},
    ("POST", "/api/v1/conversations/{conversation_id}/close"): lambda w: {"reason": "isolation"},
    ("POST", "/api/v1/conversations/{conversation_id}/reopen"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/take"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/handback"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/read"): lambda w: None,
    ("GET", "/api/v1/conversations/{conversation_id}/notes"): lambda w: None,
    ("GET", "/api/v1/conversations/{conversation_id}/events"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/retry"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): lambda w: {"text": "nota de invasor"},
    ("POST", "/api/v1/conversations/{conversation_id}/labels"): lambda w: {"label_id": str(w.a.ids["labels"][0])},
    ("DELETE", "/api/v1/conversations/{conversation_id}/labels/{label_id}"): lambda w: None,
    ("PATCH", "/api/v1/labels/{label_id}"): lambda w: {"name": "Invasor", "color": "#000000"},
    ("DELETE", "/api/v1/labels/{label_id}"): lambda w: None,
    ("PATCH", "/api/v1/quick-replies/{quick_reply_id}"): lambda w: {"text": "invasor"},
    ("DELETE", "/api/v1/quick-replies/{quick_reply_id}"): lambda w: None,
    ("PATCH", "/api/v1/teams/{team_id}"): lambda w: {"name": "Invasor", "auto_assign": True},
    ("DELETE", "/api/v1/teams/{team_id}"): lambda w: None,
    ("PUT", "/api/v1/teams/{team_id}/members/{user_id}"): lambda w: None,
    ("DELETE", "/api/v1/teams/{team_id}/members/{user_id}"): lambda w: None,
    ("PATCH", "/api/v1/knowledge/{knowledge_entry_id}"): lambda w: {"answer": "R$ 1,00"},
    ("DELETE", "/api/v1/knowledge/{knowledge_entry_id}"): lambda w: None,
    ("GET", "/api/v1/contacts/{contact_id}"): lambda w: None,
    ("PATCH", "/api/v1/users/{user_id}"): lambda w: {"name": "Invasor", "is_active": False, "capacity": 0},
    ("POST", "/api/v1/channels/{channel_id}/rotate-key"): lambda w: None,
    ("GET", "/api/v1/conversations/{conversation_id}/customer"): lambda w: None,
    ("POST", "/api/v1/conversations/{conversation_id}/invoices/{invoice_id}/send"): lambda w: None,
}


def _api_routes(app) -> list[tuple[str, str]]:
    """(method, full path) of every REST route under /api/v1, however the routers were included."""
    try:  # FastAPI >= 0.16x keeps included routers as a tree; this flattens it with the full paths
        from fastapi.routing import iter_route_contexts

        contexts = list(iter_route_contexts(app.routes))
    except ImportError:
        contexts = list(app.routes)
    found = []
    for context in contexts:
        original = getattr(context, "original_route", context)
        if isinstance(original, APIRoute) and context.path.startswith(API):
            found += [(method, context.path) for method in sorted(context.methods)]
    return found


def _parameters(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


@pytest.fixture(scope="module")
def app():
    settings = Settings(secret_key=TEST_SECRET, _env_file=None)
    return create_app(settings, ServiceUrls("unused", "unused", "unused"))


@pytest.fixture(scope="module")
def world(engine) -> World:
    with engine.begin() as conn:
        a, b = full_tenant(conn), full_tenant(conn)
        people = {
            role: accounts.create_user(conn, a.slug, f"{role}@{a.slug}.test", role.title(), PASSWORD, role)
            for role in ("admin", "superadmin", "manager")
        }
        b_admin = accounts.create_user(conn, b.slug, f"admin@{b.slug}.test", "Admin B", PASSWORD, "admin")
        b.ids["users"].append(b_admin)
        contact = conn.execute(
            insert(contacts).values(tenant_id=a.tenant_id, phone="5511988880000", name="Cliente A")
            .returning(contacts.c.id)
        ).scalar_one()
        a_conversation = conn.execute(
            insert(conversations).values(
                tenant_id=a.tenant_id, channel_id=a.ids["channels"][0], contact_id=contact, status="waiting",
                team_id=a.ids["teams"][0],
            ).returning(conversations.c.id)
        ).scalar_one()
    keyring = Keyring(TEST_SECRET)
    tokens = {role: issue_token(keyring, user_id, a.tenant_id, 60) for role, user_id in people.items()}
    tokens["b_admin"] = issue_token(keyring, b_admin, b.tenant_id, 60)
    return World(a, b, tokens, people["admin"], a_conversation)


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url, redis_url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, _env_file=None)
    with serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url))) as base_url:
        with httpx.Client(base_url=base_url, timeout=20) as client:
            yield client


def _as(world: World, who: str) -> dict:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def test_every_route_with_a_path_parameter_has_an_isolation_case(app):
    with_parameters = {route for route in _api_routes(app) if _parameters(route[1])}
    assert with_parameters, "no routes found: the route enumeration is broken"
    missing = with_parameters - set(CALLS)
    assert not missing, f"add these routes to CALLS in {__name__} (with B's id they must answer 404): {missing}"
    assert not set(CALLS) - with_parameters, "CALLS names routes that no longer exist"
    for _, path in with_parameters:
        assert set(_parameters(path)) <= set(PARAMETER_KINDS), f"which of B's ids goes into {path}?"


@pytest.mark.parametrize("who", ["admin", "superadmin"])
@pytest.mark.parametrize(("method", "path"), sorted(CALLS))
def test_another_tenants_ids_are_not_found(api, world, engine, who, method, path):
    url = path
    for name in _parameters(path):
        url = url.replace(f"{{{name}}}", str(world.b.ids[PARAMETER_KINDS[name]][0]))
    response = api.request(method, url, headers=_as(world, who), json=CALLS[(method, path)](world))
    assert response.status_code == 404, f"{method} {url}: {response.status_code} {response.text}"
    leaked = {value for value in world.b_ids() if value in response.text}
    assert not leaked, f"{method} {url} shows B's data: {leaked}"


def test_b_is_untouched_by_a(api, world, engine):
    """After all of A's attempts (the cases above run first in this module), B's rows are as they were."""
    for (method, path), body in CALLS.items():
        url = path
        for name in _parameters(path):
            url = url.replace(f"{{{name}}}", str(world.b.ids[PARAMETER_KINDS[name]][0]))
        api.request(method, url, headers=_as(world, "admin"), json=body(world))
    b_conversation = world.b.ids["conversations"][0]
    with engine.connect() as conn:
        conversation = conn.execute(select(conversations).where(conversations.c.id == b_conversation)).one()
        user = conn.execute(select(users).where(users.c.id == world.b.ids["users"][0])).one()
        b_channel = conn.execute(select(channels).where(channels.c.id == world.b.ids["channels"][0])).one()
        b_messages = conn.execute(select(messages.c.id).where(messages.c.tenant_id == world.b.tenant_id)).all()
        b_team = conn.scalar(select(teams.c.name).where(teams.c.id == world.b.ids["teams"][0]))
        b_members = conn.execute(select(team_members.c.user_id).where(team_members.c.tenant_id == world.b.tenant_id)
                                 ).scalars().all()
        a_audit_on_b = conn.execute(
            select(audit_log.c.id).where(audit_log.c.entity_id.in_([str(b_conversation), str(user.id),
                                                                   str(world.b.ids["channels"][0])]))
        ).all()
    assert (conversation.status, conversation.close_reason, conversation.assignee_id) == (
        "closed", None, world.b.ids["users"][0])
    assert (user.name, user.is_active) == ("Agente", True)
    assert len(b_messages) == 1 and not a_audit_on_b
    assert b_team == "Suporte" and b_members == [world.b.ids["users"][0]]
    assert b_channel.webhook_key_sha256 == key_hash(world.b.ids["webhook_key"][0])  # its key not rotated by A


def _list_routes(app) -> list[str]:
    return sorted({path for method, path in _api_routes(app) if method == "GET" and not _parameters(path)})


def test_list_routes_show_none_of_another_tenants_rows(api, app, world):
    routes = _list_routes(app)
    assert {f"{API}/conversations", f"{API}/contacts", f"{API}/users", f"{API}/teams", f"{API}/channels",
            f"{API}/audit", f"{API}/settings"} <= set(routes)
    b_ids = world.b_ids()
    for path in routes:
        for who in ("admin", "superadmin", "manager"):
            response = api.get(path, headers=_as(world, who), params={"limit": 200})
            # the SGP's list of ticket types is asked of the tenant's SGP, which is not served here: a documented 502
            allowed = (200, 403, 502) if path.endswith("/sgp/occurrence-types") else (200, 403)
            assert response.status_code in allowed, f"{path} as {who}: {response.status_code} {response.text}"
            leaked = {value for value in b_ids if value in response.text}
            assert not leaked, f"GET {path} as A's {who} shows B's rows: {leaked}"
    # The check can see a leak: B's own admin does get B's ids from the same routes.
    for path, kind in ((f"{API}/conversations", "conversations"), (f"{API}/contacts", "contacts"),
                       (f"{API}/users", "users"), (f"{API}/teams", "teams"), (f"{API}/channels", "channels"),
                       (f"{API}/csat", "csat_responses")):
        assert str(world.b.ids[kind][0]) in api.get(path, headers=_as(world, "b_admin")).text, path


def test_filters_and_bodies_naming_another_tenants_ids_find_nothing(api, world, engine):
    b = world.b
    listed = api.get(f"{API}/conversations", headers=_as(world, "admin"),
                     params={"contact_id": str(b.ids["contacts"][0])})
    assert listed.status_code == 200 and listed.json()["items"] == []
    for params in ({"assignee_id": str(b.ids["users"][0])}, {"team_id": str(b.ids["teams"][0])}):
        assert api.get(f"{API}/conversations", headers=_as(world, "admin"), params=params).json()["total"] == 0
    assert api.get(f"{API}/audit", headers=_as(world, "admin"),
                   params={"actor_user_id": str(b.ids["users"][0])}).json()["total"] == 0

    conversation = f"{API}/conversations/{world.a_conversation}"
    for action, body in (("assign", {"user_id": str(b.ids["users"][0])}),
                         ("transfer", {"user_id": str(b.ids["users"][0])}),
                         ("transfer", {"team_id": str(b.ids["teams"][0])})):
        response = api.post(f"{conversation}/{action}", headers=_as(world, "admin"), json=body)
        assert response.status_code == 404, f"{action} {body}: {response.text}"
    new_user = {"email": f"novo@{world.a.slug}.test", "name": "Novo", "password": PASSWORD, "role": "agent",
                "team_ids": [str(b.ids["teams"][0])]}
    assert api.post(f"{API}/users", headers=_as(world, "admin"), json=new_user).status_code == 404
    a_agent = world.a.ids["users"][0]
    assert api.patch(f"{API}/users/{a_agent}", headers=_as(world, "admin"),
                     json={"team_ids": [str(b.ids["teams"][0])]}).status_code == 404
    with engine.connect() as conn:
        b_team_members = conn.execute(
            select(team_members.c.user_id).where(team_members.c.team_id == b.ids["teams"][0])
        ).scalars().all()
        assert b_team_members == [b.ids["users"][0]]
        assert conn.scalar(select(users.c.id).where(users.c.email == new_user["email"])) is None
