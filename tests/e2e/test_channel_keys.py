"""Channel webhook keys shown once, then only rotated; webhooks without the provider's secret refused.

Over real HTTP: two API processes (as a scaled-out deployment has; each remembers channels for a few seconds),
the WhatsApp sandbox playing Uazapi and Evolution and posting to the webhook URLs registered with it, real
PostgreSQL and Redis. Channels are created as an admin does, through POST /api/v1/channels.
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
import jwt
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from api.app import create_app
from api.security import issue_token
from niochat import accounts
from niochat.channel_keys import key_hash
from niochat.embedded import ServiceUrls
from niochat.logging import configure_logging
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import audit_log, channels, messages
from sandbox.whatsapp import create_app as create_whatsapp_sandbox
from tests.support.basics import TEST_SECRET, fixtures_dir, unique_slug
from tests.support.factories import PASSWORD
from tests.support.servers import free_port, serving

API = "/api/v1"
KEYRING = Keyring(TEST_SECRET)


@dataclass
class Tenant:
    slug: str
    tenant_id: uuid.UUID
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token

    def headers(self, role: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@dataclass
class World:
    api: httpx.Client  # API process 1, whose public URL the webhook URLs name
    other: httpx.Client  # API process 2: the same database and Redis, its own cache of channels
    sandbox: str
    a: Tenant
    b: Tenant

    def channel(self, tenant: Tenant, provider: str, instance: str, token: str) -> dict:
        """A channel created as an admin does it, against a new sandbox instance."""
        httpx.post(f"{self.sandbox}/sandbox/instances",
                   json={"provider": provider, "instance": instance, "token": token}).raise_for_status()
        created = self.api.post(f"{API}/channels", headers=tenant.headers("admin"), json={
            "provider": provider, "base_url": self.sandbox, "instance": instance, "token": token})
        assert created.status_code == 201, created.text
        assert created.json()["webhook_registered"] is True, created.text
        return created.json()

    def rotate(self, tenant: Tenant, channel_id: str, role: str = "admin") -> httpx.Response:
        return self.api.post(f"{API}/channels/{channel_id}/rotate-key", headers=tenant.headers(role))

    def registered(self, instance: str) -> list[str]:
        listed = httpx.get(f"{self.sandbox}/sandbox/instances").json()
        return [hook["url"] for hook in next(i for i in listed if i["instance"] == instance)["webhooks"]]

    def customer_writes(self, instance: str, text: str = "oi") -> dict:
        response = httpx.post(f"{self.sandbox}/sandbox/inbound", timeout=30, json={
            "instance": instance, "from": "5511912345678", "name": "Cliente", "text": text})
        response.raise_for_status()
        return response.json()


def _tenant(conn, keyring: Keyring) -> Tenant:
    slug = unique_slug("keys")
    tenant = Tenant(slug, accounts.create_tenant(conn, slug, f"Provedor {slug}"))
    for role in ("admin", "manager", "agent"):
        user_id = accounts.create_user(conn, slug, f"{role}@{slug}.test", role.title(), PASSWORD, role)
        tenant.tokens[role] = issue_token(keyring, user_id, tenant.tenant_id, 60)
    return tenant


@pytest.fixture(scope="module")
def world(tmp_path_factory, engine, database_url, redis_url):
    port = free_port()
    settings = Settings(data_dir=tmp_path_factory.mktemp("keys"), secret_key=TEST_SECRET,
                        public_url=f"http://127.0.0.1:{port}", _env_file=None)
    urls = ServiceUrls(database_url, database_url, redis_url)
    with engine.begin() as conn:
        a, b = _tenant(conn, KEYRING), _tenant(conn, KEYRING)
    with ExitStack() as stack:
        base = stack.enter_context(serving(create_app(settings, urls), port=port))
        other = stack.enter_context(serving(create_app(settings, urls)))
        sandbox = stack.enter_context(serving(create_whatsapp_sandbox(webhook_retries=0)))
        api = stack.enter_context(httpx.Client(base_url=base, timeout=30))
        other_api = stack.enter_context(httpx.Client(base_url=other, timeout=30))
        yield World(api, other_api, sandbox, a, b)


def _path(url: str) -> str:
    return url[url.index("/webhooks/"):]


def _uazapi(token: str, message_id: str) -> dict:
    payload = json.loads((fixtures_dir() / "uazapi/user-chat__from-others__text.sent.json").read_text())
    payload["token"] = token
    payload["message"]["messageid"] = message_id
    return payload


def _evolution(message_id: str, **changes) -> dict:
    payload = json.loads((fixtures_dir() / "evolution/messages.upsert.text.json").read_text())
    payload["data"]["key"]["id"] = message_id
    return {**payload, **changes}


def _webhook_count(api: httpx.Client, provider: str, outcome: str) -> float:
    for family in text_string_to_metric_families(api.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "niochat_webhooks_total" and sample.labels == {"provider": provider,
                                                                              "outcome": outcome}:
                return sample.value
    return 0.0


def _stored(engine, message_id: str):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.provider_message_id == message_id)).one_or_none()


# --- webhooks must carry the provider's secret -----------------------------------------------------------------


def test_a_webhook_without_the_providers_secret_is_refused_logged_and_counted(world, engine, capfd):
    """The URL key alone is not enough: whoever once saw a manager's screen has it. Evolution's body without
    `apikey` and without a JWT, and Uazapi's without `token`, are 401 missing_token, logged and counted, and
    nothing is stored; the same bodies with the secret in any form Evolution sends it are taken."""
    suffix = uuid.uuid4().hex[:8]
    evolution = world.channel(world.a, "evolution", f"evo-{suffix}", f"tok-evo-{suffix}")
    uazapi = world.channel(world.a, "uazapi", f"uaz-{suffix}", f"tok-uaz-{suffix}")
    evolution_path, uazapi_path = _path(evolution["webhook_url"]), _path(uazapi["webhook_url"])
    before = {provider: _webhook_count(world.api, provider, "missing_token") for provider in ("evolution", "uazapi")}
    # The in-process API logs where logging was last configured: an earlier test of this worker may have pointed
    # it at a stream long gone. Point it at this test's standard error (captured), as `niochat serve` does.
    configure_logging()
    capfd.readouterr()

    for body in (_evolution(f"NOSECRET-{suffix}"), {k: v for k, v in _evolution(f"NOKEY-{suffix}").items()
                                                     if k != "apikey"}):
        refused = world.api.post(evolution_path, json=body)
        assert refused.status_code == 401 and "no provider secret" in refused.json()["detail"], refused.text
    unsigned = _uazapi("x", f"NOTOKEN-{suffix}")
    del unsigned["token"]
    refused = world.api.post(uazapi_path, json=unsigned)
    assert refused.status_code == 401 and "no provider token" in refused.json()["detail"], refused.text

    assert _webhook_count(world.api, "evolution", "missing_token") == before["evolution"] + 2
    assert _webhook_count(world.api, "uazapi", "missing_token") == before["uazapi"] + 1
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert logged.count("webhook refused") >= 3 and "missing_token" in logged and evolution["id"] in logged
    assert _stored(engine, f"NOSECRET-{suffix}") is None and _stored(engine, f"NOTOKEN-{suffix}") is None

    token = f"tok-evo-{suffix}"
    signed = jwt.encode({"app": "evolution", "action": "webhook"}, token, algorithm="HS256")
    forged = jwt.encode({"app": "evolution", "action": "webhook"}, "outra-chave", algorithm="HS256")
    for index, (changes, headers, status) in enumerate([
        ({"apikey": token}, {}, 200),  # AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES on
        ({}, {"Authorization": f"Bearer {signed}"}, 200),  # Evolution 2.3+ with the jwt_key header
        ({}, {"jwt_key": token}, 200),  # older Evolution: its webhook headers sent as they are
        ({}, {"Authorization": f"Bearer {forged}"}, 401),
        ({}, {"jwt_key": "outra-chave"}, 401),
        ({"apikey": "outra-chave"}, {"Authorization": f"Bearer {signed}"}, 401),  # a wrong apikey is wrong
    ]):
        answer = world.api.post(evolution_path, json=_evolution(f"SECRET-{index}-{suffix}", **changes),
                                headers=headers)
        assert answer.status_code == status, (index, answer.text)
        if status == 401:
            assert answer.json()["detail"].endswith("does not match this channel")
    assert world.api.post(uazapi_path, json=_uazapi(f"tok-uaz-{suffix}", f"TOKEN-{suffix}")).status_code == 200


def test_evolution_without_an_exposed_apikey_still_reaches_the_channel_by_its_jwt(world, engine):
    """An Evolution server with AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES off (its default) posts `apikey: null`:
    NioChat registers its webhook with a `jwt_key`, so every post is signed. A webhook set by hand without it
    carries no secret at all, and is refused."""
    suffix = uuid.uuid4().hex[:8]
    instance, token = f"evo-jwt-{suffix}", f"tok-evo-jwt-{suffix}"
    channel = world.channel(world.a, "evolution", instance, token)
    found = httpx.get(f"{world.sandbox}/webhook/find/{instance}", headers={"apikey": token}).json()
    assert found["url"] == channel["webhook_url"] and found["headers"] == {"jwt_key": token}
    httpx.post(f"{world.sandbox}/sandbox/config", json={"evolution_expose_apikey": False}).raise_for_status()
    try:
        answer = world.customer_writes(instance)
        assert answer["payload"]["apikey"] is None
        assert answer["webhook_status"] == 200 and _stored(engine, answer["id"]).channel_id == uuid.UUID(channel["id"])

        by_hand = {"webhook": {"enabled": True, "url": channel["webhook_url"], "events": ["MESSAGES_UPSERT"]}}
        httpx.post(f"{world.sandbox}/webhook/set/{instance}", headers={"apikey": token},
                   json=by_hand).raise_for_status()
        answer = world.customer_writes(instance)
        assert answer["webhook_status"] == 401 and _stored(engine, answer["id"]) is None
    finally:
        httpx.post(f"{world.sandbox}/sandbox/config", json={"evolution_expose_apikey": True}).raise_for_status()


# --- keys shown once --------------------------------------------------------------------------------------------


def _get_routes(api: httpx.Client) -> list[str]:
    paths = api.get("/openapi.json").json()["paths"]
    return sorted(path for path, operations in paths.items()
                  if "get" in operations and path.startswith(API) and "{" not in path)


def test_the_key_is_shown_once_and_never_again_nor_stored(world, engine):
    suffix = uuid.uuid4().hex[:8]
    created = world.channel(world.a, "uazapi", f"uaz-once-{suffix}", f"tok-once-{suffix}")
    key = created["webhook_url"].rsplit("/", 1)[1]
    assert len(key) >= 40 and created["webhook_url_hint"].endswith(f"/webhooks/uazapi/…{key[-4:]}")
    routes = _get_routes(world.api)
    assert f"{API}/channels" in routes and f"{API}/audit" in routes
    for role in ("admin", "manager"):
        for path in routes:
            response = world.api.get(path, headers=world.a.headers(role), params={"limit": 200})
            assert response.status_code in (200, 403, 404, 502), (path, response.status_code)
            assert key not in response.text and key[:16] not in response.text, f"GET {path} shows the key"
    listed = world.api.get(f"{API}/channels", headers=world.a.headers("manager")).json()
    (mine,) = [channel for channel in listed if channel["id"] == created["id"]]
    assert mine["webhook_url_hint"] == created["webhook_url_hint"] and "webhook_url" not in mine
    with engine.connect() as conn:
        row = conn.execute(select(channels).where(channels.c.id == uuid.UUID(created["id"]))).one()
        audit = conn.execute(select(audit_log.c.details).where(audit_log.c.entity_id == created["id"])).all()
    assert row.webhook_key_sha256 == key_hash(key) and key not in str(tuple(row)) and key not in str(audit)
    assert world.api.post(_path(created["webhook_url"]),  # and the URL shown once works
                          json=_uazapi(f"tok-once-{suffix}", f"ONCE-{suffix}")).status_code == 200


# --- rotation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_rotating_gives_a_new_url_that_works_the_old_one_404s_everywhere_and_the_provider_has_it(
        world, engine, provider):
    suffix = uuid.uuid4().hex[:8]
    instance, token = f"{provider[:3]}-rot-{suffix}", f"tok-rot-{suffix}"
    channel = world.channel(world.a, provider, instance, token)
    old_url = channel["webhook_url"]
    assert world.registered(instance) == [old_url]
    first = world.customer_writes(instance)
    assert first["webhook_status"] == 200
    # the second API process meets the channel under its old key, and remembers it
    body = _uazapi(token, f"WARM-{suffix}") if provider == "uazapi" else _evolution(f"WARM-{suffix}", apikey=token)
    assert world.other.post(_path(old_url), json=body).status_code == 200

    rotated = world.rotate(world.a, channel["id"])
    assert rotated.status_code == 200, rotated.text
    new_url = rotated.json()["webhook_url"]
    assert new_url != old_url and new_url.startswith(old_url.rsplit("/", 1)[0] + "/")
    assert rotated.json()["webhook_url_hint"].endswith(new_url[-4:])
    assert world.registered(instance) == [new_url]  # in place of the old one, not beside it

    answer = world.customer_writes(instance)
    assert answer["webhook_status"] == 200 and _stored(engine, answer["id"]).channel_id == uuid.UUID(channel["id"])
    again = _uazapi(token, f"OLD-{suffix}") if provider == "uazapi" else _evolution(f"OLD-{suffix}", apikey=token)
    for process in (world.api, world.other):
        assert process.post(_path(old_url), json=again).status_code == 404
        assert process.post(_path(new_url), json=again).status_code == 200
    listed = world.api.get(f"{API}/channels", headers=world.a.headers("manager")).json()
    (mine,) = [item for item in listed if item["id"] == channel["id"]]
    assert mine["webhook_url_hint"] == rotated.json()["webhook_url_hint"] and new_url not in json.dumps(listed)

    with engine.connect() as conn:
        (entry,) = conn.execute(select(audit_log).where(audit_log.c.entity_id == channel["id"],
                                                        audit_log.c.action == "channel.rotate_key")).all()
    assert entry.actor_kind == "user" and entry.details["rotated"] is True
    assert (entry.details["old_key_hint"], entry.details["new_key_hint"]) == (old_url[-4:], new_url[-4:])
    assert new_url.rsplit("/", 1)[1] not in json.dumps(entry.details)


def test_when_the_provider_refuses_the_new_url_nothing_changes(world, engine):
    suffix = uuid.uuid4().hex[:8]
    instance = f"uaz-refuse-{suffix}"
    channel = world.channel(world.a, "uazapi", instance, f"tok-refuse-{suffix}")
    # the instance's token changed at Uazapi since: it refuses NioChat's calls with 401
    httpx.post(f"{world.sandbox}/sandbox/instances", json={
        "provider": "uazapi", "instance": instance, "token": f"tok-novo-{suffix}"}).raise_for_status()
    refused = world.rotate(world.a, channel["id"])
    assert refused.status_code == 502, refused.text
    assert "did not take the new webhook URL" in refused.json()["detail"] and "401" in refused.json()["detail"]
    assert "keeps working" in refused.json()["detail"]
    assert world.registered(instance) == [channel["webhook_url"]]
    body = _uazapi(f"tok-refuse-{suffix}", f"KEPT-{suffix}")
    assert world.api.post(_path(channel["webhook_url"]), json=body).status_code == 200  # the old key works

    # unreachable (a channel whose provider is gone): the same
    with engine.begin() as conn:
        gone = accounts.create_channel(conn, KEYRING, "http://x", world.a.slug, "evolution", "gone",
                                    f"http://127.0.0.1:{free_port()}", f"evo-gone-{suffix}", "tok-gone")
    refused = world.rotate(world.a, str(gone.id))
    assert refused.status_code == 502 and "(cannot reach http://127.0.0.1:" in refused.json()["detail"], refused.text
    with engine.connect() as conn:
        assert conn.scalar(select(channels.c.webhook_key_sha256)
                           .where(channels.c.id == gone.id)) == key_hash(gone.webhook_key)
        outcomes = conn.execute(select(audit_log.c.details["rotated"].as_boolean()).where(
            audit_log.c.entity_id.in_([channel["id"], str(gone.id)]),
            audit_log.c.action == "channel.rotate_key")).scalars().all()
    assert outcomes == [False, False]


def test_only_the_channels_own_admins_rotate_its_key(world, engine):
    suffix = uuid.uuid4().hex[:8]
    channel = world.channel(world.a, "uazapi", f"uaz-who-{suffix}", f"tok-who-{suffix}")
    with engine.connect() as conn:
        before = conn.scalar(select(channels.c.webhook_key_sha256).where(channels.c.id == uuid.UUID(channel["id"])))
    assert world.rotate(world.a, channel["id"], "agent").status_code == 403
    assert world.rotate(world.a, channel["id"], "manager").status_code == 403  # as creating a channel is
    refused = world.rotate(world.b, channel["id"])  # another provider's admin: no such channel for them
    assert refused.status_code == 404 and channel["webhook_url_hint"] not in refused.text
    assert world.rotate(world.a, str(uuid.uuid4())).status_code == 404
    assert world.api.post(f"{API}/channels/{channel['id']}/rotate-key").status_code == 401
    with engine.connect() as conn:
        after = conn.scalar(select(channels.c.webhook_key_sha256).where(channels.c.id == uuid.UUID(channel["id"])))
        audited = conn.execute(select(audit_log.c.id).where(audit_log.c.entity_id == channel["id"],
                                                            audit_log.c.action == "channel.rotate_key")).all()
    assert after == before and audited == []
    assert world.registered(f"uaz-who-{suffix}") == [channel["webhook_url"]]


def test_the_lookup_function_takes_the_hash_not_the_key(world, engine):
    """The security-definer lookup the webhook route calls finds a channel by its key's hash only."""
    suffix = uuid.uuid4().hex[:8]
    with engine.begin() as conn:
        created = accounts.create_channel(conn, KEYRING, "http://x", world.a.slug, "uazapi", "lookup",
                                       "http://127.0.0.1:9", f"uaz-lookup-{suffix}", "tok-lookup")
        by_key = conn.execute(text("select channel_id from niochat_channel_by_key(:v)"),
                              {"v": created.webhook_key}).all()
        by_hash = conn.execute(text("select channel_id from niochat_channel_by_key(:v)"),
                               {"v": key_hash(created.webhook_key)}).scalars().all()
    assert by_key == [] and by_hash == [created.id]
