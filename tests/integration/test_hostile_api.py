"""A hostile client against the real API server: schemathesis over the app's own OpenAPI schema, authenticated
as a tenant admin (so routes are exercised past the 401), and injection-looking strings in every query filter
of every GET list route (enumerated from the OpenAPI, not a hand list).

Never a 5xx, responses that conform to the schema (status codes included), and none of another tenant's rows in
any answer. A NUL character (which PostgreSQL text cannot hold) in any string of any write route is a 422.
The login's brute-force limits are in test_api_auth.py.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.security import issue_token
from niochat import accounts
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from sandbox.whatsapp import create_app as create_whatsapp_sandbox
from tests.support.basics import TEST_SECRET
from tests.support.factories import PASSWORD, TenantRows, clear_login_limits, full_tenant
from tests.support.servers import serving

EXAMPLES = 30  # per operation and mode; derandomized (the same cases every run), ~15 s for the whole schema
HOSTILE_VALUES = [
    "' or 1=1 --",
    "'; drop table messages; --",
    "\" or \"\"=\"",
    "1) or (1=1",
    "%' union select id, phone, name from contacts --",
    "%",
    "_",
    "\\",
    "*",
    "$where: 1",
    "{\"$gt\": \"\"}",
    "../../etc/passwd",
    "ção 🤩 ñ 你好 \u202e",
    "\x00",
    "a\x00b",
    "A" * 101,
    "9" * 5000,
    "-1",
    "2026-02-30",
    "00000000-0000-0000-0000-000000000000",
]


@pytest.fixture(scope="module")
def tenants(engine) -> dict[str, TenantRows]:
    with engine.begin() as conn:
        ours, foreign = full_tenant(conn), full_tenant(conn)
        ours.ids["admin"] = [accounts.create_user(conn, ours.slug, f"admin@{ours.slug}.test", "Admin", PASSWORD,
                                                  "admin")]
    return {"ours": ours, "foreign": foreign}


@pytest.fixture(scope="module")
def api_url(tmp_path_factory, database_url, redis_url, tenants):
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("hostile"), secret_key=TEST_SECRET, _env_file=None)
    with serving(create_app(settings_, ServiceUrls(database_url, database_url, redis_url))) as base_url:
        yield base_url
    clear_login_limits(redis_url)


@pytest.fixture
def admin_headers(tenants, engine) -> dict[str, str]:
    """A token of the admin's current version: the fuzzer may change the admin's password or role (which ends
    the admin's earlier tokens, as it should), so each test gets a fresh one."""
    from sqlalchemy import select

    from niochat.tables import users

    ours = tenants["ours"]
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == ours.ids["admin"][0])
                     .values(role="admin", is_active=True))  # the fuzzer may have demoted or disabled it
        version = conn.scalar(select(users.c.token_version).where(users.c.id == ours.ids["admin"][0]))
    token = issue_token(Keyring(TEST_SECRET), ours.ids["admin"][0], ours.tenant_id, 60, version)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def openapi(api_url) -> dict:
    return httpx.get(f"{api_url}/openapi.json", timeout=10).json()


def foreign_values(rows: TenantRows) -> set[str]:
    values = {str(value) for ids in rows.ids.values() for value in ids}
    return values | {rows.slug, str(rows.tenant_id), f"Provedor {rows.slug}"}


def _schema():
    """The app's own OpenAPI document (no server needed to build it), loaded by schemathesis."""
    app = create_app(Settings(secret_key=TEST_SECRET, _env_file=None), ServiceUrls("unused", "unused", "unused"))
    return schemathesis.openapi.from_dict(app.openapi())


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# Known failures, each a bug to fix where the route lives (strict: the test says so once it is fixed).
KNOWN: dict[str, str] = {}  # operation label -> why it is expected to fail (strict xfail)
# Which of our own rows goes into each path parameter, so the fuzzer also gets past the 404 of a random id.
OWN_IDS = {"conversation_id": "conversations", "contact_id": "contacts", "user_id": "users", "label_id": "labels",
           "quick_reply_id": "quick_replies", "team_id": "teams", "knowledge_entry_id": "knowledge_entries"}


def strategies(operation, ours: TenantRows):
    """Positive and negative cases; with path parameters, also positive cases on our own rows."""
    found = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    names = [parameter.name for parameter in operation.path_parameters]
    if names and set(names) <= set(OWN_IDS):
        own = {name: str(ours.ids[OWN_IDS[name]][0]) for name in names}
        found.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=own))
    return st.one_of(found)


@pytest.mark.parametrize("operation", [
    pytest.param(operation, id=operation.label, marks=[pytest.mark.xfail(reason=KNOWN[operation.label], strict=True)]
                 if operation.label in KNOWN else [])
    for operation in OPERATIONS
])
def test_fuzzed_requests_never_fail_and_conform_to_the_schema(operation, api_url, admin_headers, tenants):
    """Valid and invalid requests (schemathesis' positive and negative modes) to every operation of the schema."""
    foreign = foreign_values(tenants["foreign"])

    @given(case=strategies(operation, tenants["ours"]))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def fuzz(case):
        response = case.call(base_url=api_url, headers=admin_headers, timeout=30)
        if response.status_code == 502 and "502" in (operation.definition.raw.get("responses") or {}):
            # an upstream the route documents could not be reached (the tenant's SGP here): not our failure
            assert "detail" in response.json()
            return
        case.validate_response(response, checks=CHECKS)
        leaked = {value for value in foreign if value in response.text}
        assert not leaked, f"{case.method} {case.formatted_path}: another tenant's data {leaked}"

    fuzz()


def string_paths(value, path=()):
    """The path of every string inside a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*path, index))


def with_nul_at(value, path):
    """A copy of `value` whose string at `path` has a NUL character in the middle."""
    if not path:
        return value[:1] + "\x00" + value[1:]
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[path[0]] = with_nul_at(value[path[0]], path[1:])
    return copy


WHATSAPP: dict[str, str] = {}  # the WhatsApp sandbox a new channel's key is checked with (the whatsapp fixture)


@pytest.fixture(scope="module")
def whatsapp():
    """A provider that knows the channel VALID_BODIES creates: the channel route asks it before storing."""
    with serving(create_whatsapp_sandbox()) as url:
        httpx.post(f"{url}/sandbox/instances",
                   json={"provider": "uazapi", "instance": "instancia", "token": "tok"}).raise_for_status()
        WHATSAPP["url"] = url
        yield url
    WHATSAPP.clear()


# A valid JSON body per write route (built from our tenant's rows), so the NUL is the only thing wrong.
VALID_BODIES = {
    "POST /api/v1/conversations/{conversation_id}/reply": lambda ours: {"text": "olá, tudo bem?"},
    "POST /api/v1/conversations/{conversation_id}/assign": lambda ours: {"user_id": str(ours.ids["admin"][0])},
    "POST /api/v1/conversations/{conversation_id}/transfer": lambda ours: {"team_id": str(ours.ids["teams"][0]),
                                                                           "reason": "para o suporte"},
    "POST /api/v1/conversations/{conversation_id}/close": lambda ours: {"reason": "resolvido"},
    "POST /api/v1/conversations/{conversation_id}/notes": lambda ours: {"text": "nota interna"},
    "POST /api/v1/conversations/{conversation_id}/labels": lambda ours: {"label_id": str(ours.ids["labels"][0])},
    "POST /api/v1/labels": lambda ours: {"name": "Urgente", "color": "#e11d48"},
    "PATCH /api/v1/labels/{label_id}": lambda ours: {"name": "Cobrança"},
    "POST /api/v1/quick-replies": lambda ours: {"shortcut": "boas-vindas", "text": "Olá {primeiro_nome}!",
                                                "media_url": "https://example.com/boas-vindas.png"},
    "PATCH /api/v1/quick-replies/{quick_reply_id}": lambda ours: {"text": "Segue a segunda via, {nome}."},
    "POST /api/v1/knowledge": lambda ours: {"category": "cobertura", "title": "Cobertura no Centro",
                                            "answer": "Atendemos o Centro.", "keywords": ["centro"],
                                            "neighbourhoods": ["Centro"], "cep_prefixes": ["01001"]},
    "PATCH /api/v1/knowledge/{knowledge_entry_id}": lambda ours: {"answer": "R$ 99,90 por mês.",
                                                                  "keywords": ["valor"]},
    "POST /api/v1/teams": lambda ours: {"slug": "vendas", "name": "Vendas"},
    "POST /api/v1/users": lambda ours: {"email": f"novo@{ours.slug}.test", "name": "Novo", "password": PASSWORD,
                                        "role": "agent"},
    "PATCH /api/v1/users/{user_id}": lambda ours: {"name": "Outro Nome"},
    "PATCH /api/v1/teams/{team_id}": lambda ours: {"name": "Suporte N2", "auto_assign": False},
    "PUT /api/v1/me/presence": lambda ours: {"status": "away"},
    "POST /api/v1/channels": lambda ours: {"provider": "uazapi", "name": "Canal", "base_url": WHATSAPP["url"],
                                           "instance": "instancia", "token": "tok"},
    "PATCH /api/v1/settings": lambda ours: {"persona": {"company": "Empresa", "agent_name": "Nia"},
                                            "ai": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "k"},
                                            "sgp": {"base_url": "http://127.0.0.1:9", "app": "a", "token": "t"},
                                            "timezone": "America/Sao_Paulo"},
    "POST /api/v1/privacy/export": lambda ours: {"phone": "5511999990000"},  # full_tenant's contact
    "POST /api/v1/privacy/erase": lambda ours: {"phone": "5511999990000", "dry_run": True},
}
NEVER_STORED_AS_TEXT = {"password", "token", "api_key"}  # hashed or encrypted: any character is fine
JSON_BODY_OPERATIONS = sorted(
    operation.label for operation in OPERATIONS
    if operation.label not in KNOWN
    and any(body.media_type == "application/json" for body in operation.body)
)


def test_every_json_write_route_has_a_valid_body_to_break():
    missing = set(JSON_BODY_OPERATIONS) - set(VALID_BODIES)
    assert not missing, f"add a valid body for these routes to VALID_BODIES: {missing}"
    assert not set(VALID_BODIES) - set(JSON_BODY_OPERATIONS), "VALID_BODIES names routes that no longer exist"


def _fresh_workspace_rows(engine, ours: TenantRows) -> None:
    """A team, a label, a quick reply and a knowledge entry of our own first in line: the fuzzer may have deleted
    full_tenant's (a team once its conversation left it)."""
    from sqlalchemy import insert

    from niochat.tables import knowledge_entries, labels, quick_replies, teams

    with engine.begin() as conn:
        team = conn.execute(insert(teams).values(tenant_id=ours.tenant_id, slug="equipe-nova", name="Equipe nova")
                            .returning(teams.c.id)).scalar_one()
        label = conn.execute(insert(labels).values(tenant_id=ours.tenant_id, name="Rótulo novo", color="#123456")
                             .returning(labels.c.id)).scalar_one()
        reply = conn.execute(insert(quick_replies).values(tenant_id=ours.tenant_id, shortcut="resposta-nova",
                                                          text="Olá!").returning(quick_replies.c.id)).scalar_one()
        entry = conn.execute(insert(knowledge_entries).values(tenant_id=ours.tenant_id, category="faq",
                                                              title="Nova", answer="Sim.")
                             .returning(knowledge_entries.c.id)).scalar_one()
    ours.ids["teams"].insert(0, team)
    ours.ids["labels"].insert(0, label)
    ours.ids["quick_replies"].insert(0, reply)
    ours.ids["knowledge_entries"].insert(0, entry)


def test_nul_characters_in_any_body_string_are_a_422_not_a_500(api_url, admin_headers, tenants, whatsapp, engine):
    """PostgreSQL text cannot hold \\u0000: a NUL in any string of any write route is the caller's error."""
    ours = tenants["ours"]
    _fresh_workspace_rows(engine, ours)
    own = {name: str(ours.ids[kind][0]) for name, kind in OWN_IDS.items()}
    with httpx.Client(base_url=api_url, headers=admin_headers, timeout=30) as client:
        conversation = client.get(f"/api/v1/conversations/{own['conversation_id']}").json()
        if conversation["status"] == "closed":  # the actions need an active conversation
            assert client.post(f"/api/v1/conversations/{own['conversation_id']}/reopen").status_code == 200
        for label, build in VALID_BODIES.items():
            method, path = label.split(" ", 1)
            url = path.format(**own)
            body = build(ours)
            for where in string_paths(body):
                if where[-1] in NEVER_STORED_AS_TEXT:
                    continue
                response = client.request(method, url, json=with_nul_at(body, where))
                assert response.status_code == 422, f"{label} with NUL in {where}: {response.status_code} " \
                                                    f"{response.text[:300]}"
            control = client.request(method, url, json=body)  # the same body without the NUL is accepted
            assert control.status_code in (200, 201), f"{label}: {control.status_code} {control.text[:300]}"


def list_routes_and_filters(openapi: dict) -> list[tuple[str, str]]:
    """(path, query parameter) of every GET route without path parameters, from the served OpenAPI document."""
    found = []
    for path, operations in openapi["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        found += [(path, parameter["name"]) for parameter in get.get("parameters", []) if parameter["in"] == "query"]
    return found


def test_injection_strings_in_every_query_filter_are_refused_or_match_nothing(api_url, openapi, admin_headers,
                                                                               tenants):
    filters = list_routes_and_filters(openapi)
    by_route = {path for path, _ in filters}
    assert {"/api/v1/conversations", "/api/v1/contacts", "/api/v1/audit", "/api/v1/csat"} <= by_route, by_route
    foreign = foreign_values(tenants["foreign"])
    with httpx.Client(base_url=api_url, headers=admin_headers, timeout=30) as client:
        for path, name in filters:
            baseline = client.get(path)
            assert baseline.status_code == 200, (path, baseline.text)
            for value in HOSTILE_VALUES:
                response = client.get(path, params={name: value})
                where = f"GET {path}?{name}={value[:40]!r}"
                assert response.status_code in (200, 400, 422), f"{where}: {response.status_code} {response.text[:500]}"
                leaked = {item for item in foreign if item in response.text}
                assert not leaked, f"{where} shows another tenant's rows: {leaked}"
                body = response.json()
                if response.status_code == 200 and "total" in body and name not in ("limit", "offset"):
                    # none of our rows holds these strings: a filter turned into a tautology would list them all
                    assert body["total"] == 0, f"{where} matched {body['total']} rows"
            for raw in ("%FF", "%ED%A0%80", "%C0%AF", "%00"):  # invalid UTF-8, an overlong '/', a NUL byte
                response = client.get(f"{path}?{name}={raw}")
                assert response.status_code in (200, 400, 422), f"GET {path}?{name}={raw}: {response.status_code}"
