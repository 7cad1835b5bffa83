"""The webhook routes over real HTTP: real provider payloads in, status codes as the providers expect."""

import asyncio
import copy
import json
from contextlib import ExitStack

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, update

from api.app import create_app
from api.webhooks.intake import ChannelDirectory
from api.webhooks.routes import MAX_BODY_BYTES
from niochat import admin
from niochat.database import async_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import audit_log, channels, contacts, conversations, messages
from tests.conftest import TEST_SECRET, fixtures_dir, unique_slug
from tests.servers import serving

UAZAPI_TEXT = "uazapi/user-chat__from-others__text.sent.json"
EVOLUTION_TEXT = "evolution/messages.upsert.text.json"


def load(name: str) -> dict:
    return json.loads((fixtures_dir() / name).read_text())


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url, redis_url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("wh"), secret_key=TEST_SECRET, _env_file=None)
    with ExitStack() as stack:
        base = stack.enter_context(serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url))))
        yield stack.enter_context(httpx.Client(base_url=base, timeout=10))


@pytest.fixture(scope="module")
def channel_keys(engine):
    slug = unique_slug("wh")
    keyring = Keyring(TEST_SECRET)
    with engine.begin() as conn:
        admin.create_tenant(conn, slug, "Webhook Net")
        keys = {}
        for provider in ("uazapi", "evolution"):
            created = admin.create_channel(
                conn,
                keyring,
                "http://x",
                slug,
                provider,
                provider,
                "http://127.0.0.1:9",
                f"{slug}-{provider}",
                f"tok-{provider}",
            )
            keys[provider] = created
    return keys


def _uazapi(payload_name: str = UAZAPI_TEXT, **message_changes) -> dict:
    payload = load(payload_name)
    payload["token"] = "tok-uazapi"
    payload["message"].update(message_changes)
    return payload


def _post(api, provider, key, payload, **kwargs) -> httpx.Response:
    return api.post(f"/webhooks/{provider}/{key}", json=payload, **kwargs)


def test_text_message_is_stored_once_with_contact_and_conversation(api, channel_keys, engine):
    key = channel_keys["uazapi"].webhook_key
    payload = _uazapi(messageid="WH-ONCE-1")
    first = _post(api, "uazapi", key, payload)
    assert first.status_code == 200 and first.json()["results"] == ["stored"]
    for _ in range(4):
        again = _post(api, "uazapi", key, payload)
        assert again.status_code == 200 and again.json()["results"] == ["duplicate"]
    with engine.connect() as conn:
        rows = conn.execute(select(messages).where(messages.c.provider_message_id == "WH-ONCE-1")).all()
        assert len(rows) == 1
        row = rows[0]
        contact = conn.execute(
            select(contacts)
            .join(conversations, conversations.c.contact_id == contacts.c.id)
            .where(conversations.c.id == row.conversation_id)
        ).one()
    assert (row.direction, row.sender_kind, row.text, row.status) == ("inbound", "customer", "Oi", "received")
    assert contact.phone == "5511912340001" and contact.whatsapp_lid == "100000000000001@lid"
    assert row.provider_timestamp.timestamp() == 1770146178


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_nul_characters_are_dropped_not_answered_503_forever(api, channel_keys, engine, provider):
    """PostgreSQL cannot store NUL in text; a 5xx would make the provider retry the message forever."""
    key = channel_keys[provider].webhook_key
    if provider == "uazapi":
        payload = _uazapi(messageid="WH-NUL-U", text="Oi\x00 tudo", senderName="Ana\x00")
        payload["message"]["content"]["text"] = "Oi\x00 tudo"
    else:
        payload = load("evolution/messages.upsert.text.json")
        payload["apikey"] = "tok-evolution"
        payload["data"]["key"]["id"] = "WH-NUL-E"
        payload["data"]["message"] = {"conversation": "Oi\x00 tudo"}
        payload["data"]["pushName"] = "Ana\x00"
    response = _post(api, provider, key, payload)
    assert response.status_code == 200, response.text
    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.provider_message_id.in_(["WH-NUL-U", "WH-NUL-E"]),
                                                  messages.c.channel_id == channel_keys[provider].id)).one()
    assert row.text == "Oi tudo"


def test_unique_index_dedups_after_redis_loses_the_key(api, channel_keys, redis_url):
    import redis

    key = channel_keys["uazapi"].webhook_key
    payload = _uazapi(messageid="WH-REDIS-LOSS")
    assert _post(api, "uazapi", key, payload).json()["results"] == ["stored"]
    redis.Redis.from_url(redis_url).flushdb()
    assert _post(api, "uazapi", key, payload).json()["results"] == ["duplicate"]


def test_evolution_lid_sender_resolves_the_phone(api, channel_keys, engine):
    payload = load("evolution/messages.upsert.lid.json")
    payload["data"]["key"]["id"] = "WH-EVO-LID"
    response = _post(api, "evolution", channel_keys["evolution"].webhook_key, payload)
    assert response.status_code == 200 and response.json()["results"] == ["stored"]
    with engine.connect() as conn:
        phone = conn.scalar(
            select(contacts.c.phone)
            .join(conversations, conversations.c.contact_id == contacts.c.id)
            .join(messages, messages.c.conversation_id == conversations.c.id)
            .where(messages.c.provider_message_id == "WH-EVO-LID")
        )
    assert phone == "5511912340001"


@pytest.mark.parametrize(
    ("name", "result"),
    [
        ("uazapi/user-chat__from-me__text.sent.event.json", "ignored:own_message"),  # made an API send below
        ("evolution/messages.upsert.group.json", "ignored:group"),
    ],
)
def test_own_and_group_messages_are_ignored(api, channel_keys, name, result):
    provider = name.split("/")[0]
    payload = load(name)
    if provider == "uazapi":
        payload["token"] = "tok-uazapi"
        payload["message"]["wasSentByApi"] = True  # another API client's send: not ours, not a person
    response = _post(api, provider, channel_keys[provider].webhook_key, payload)
    assert response.status_code == 200 and response.json()["results"] == [result]


@pytest.mark.parametrize(
    "name", ["uazapi/user-chat__from-me__text.sent.event.json", "evolution/messages.upsert.fromme.json"]
)
def test_a_message_typed_on_the_phone_is_an_agent_reply_that_takes_the_chat(api, channel_keys, engine, name):
    """wasSentByApi false (Uazapi) or an id no send of ours returned (Evolution): a person on the phone."""
    provider = name.split("/")[0]
    payload = load(name)
    if provider == "uazapi":
        payload["token"] = "tok-uazapi"
    key = channel_keys[provider].webhook_key
    assert _post(api, provider, key, payload).json()["results"] == ["agent:phone"]
    assert _post(api, provider, key, payload).json()["results"] == ["duplicate"]
    provider_id = payload["message"]["messageid"] if provider == "uazapi" else payload["data"]["key"]["id"]
    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.provider_message_id == provider_id)).one()
        conv = conn.execute(select(conversations).where(conversations.c.id == row.conversation_id)).one()
    assert (row.direction, row.sender_kind, row.sender_user_id, row.status) == ("outbound", "agent", None, "sent")
    assert conv.status == "open" and conv.assignee_id is None and conv.phone_agent_at is not None


def test_connection_events_are_recorded_on_the_channel(api, channel_keys, engine):
    payload = load("uazapi/connection__disconnected.event.json")
    payload["token"] = "tok-uazapi"
    assert _post(api, "uazapi", channel_keys["uazapi"].webhook_key, payload).status_code == 200
    with engine.connect() as conn:
        channel = conn.execute(select(channels).where(channels.c.id == channel_keys["uazapi"].id)).one()
        audited = conn.scalar(select(audit_log.c.details).where(audit_log.c.entity_id == str(channel.id)))
    assert channel.connection_status == "disconnected" and audited == {"state": "disconnected"}


@pytest.mark.parametrize(
    ("provider", "body", "status", "detail"),
    [
        ("uazapi", b"{not json", 422, "not valid JSON"),
        ("uazapi", b"[1, 2]", 422, "not a uazapi webhook"),
        ("evolution", b'{"event": "messages.upsert"}', 422, "not a evolution webhook"),
        ("uazapi", b'{"EventType": "messages", "token": "tok-uazapi", "message": "x"}', 422, "not a uazapi"),
    ],
)
def test_malformed_payloads_get_422_with_a_reason(api, channel_keys, provider, body, status, detail):
    response = api.post(
        f"/webhooks/{provider}/{channel_keys[provider].webhook_key}",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == status and detail in response.json()["detail"]


def test_unknown_key_404_wrong_token_401_wrong_provider_404(api, channel_keys):
    payload = _uazapi(messageid="WH-AUTH")
    assert _post(api, "uazapi", "no-such-key-" + "x" * 40, payload).status_code == 404
    wrong = dict(payload, token="not-the-token")
    response = _post(api, "uazapi", channel_keys["uazapi"].webhook_key, wrong)
    assert response.status_code == 401 and "token" in response.json()["detail"]
    missing = {k: v for k, v in payload.items() if k != "token"}
    assert _post(api, "uazapi", channel_keys["uazapi"].webhook_key, missing).status_code == 401
    # a uazapi channel's key on the evolution route is not that channel
    assert _post(api, "evolution", channel_keys["uazapi"].webhook_key, load(EVOLUTION_TEXT)).status_code == 404


def test_evolution_apikey_is_checked_when_present(api, channel_keys):
    key = channel_keys["evolution"].webhook_key
    payload = load(EVOLUTION_TEXT)
    payload["data"]["key"]["id"] = "WH-EVO-KEY"
    assert _post(api, "evolution", key, dict(payload, apikey="wrong")).status_code == 401
    assert _post(api, "evolution", key, dict(payload, apikey="tok-evolution")).status_code == 200


def test_oversized_body_is_refused_with_413(api, channel_keys):
    payload = _uazapi(messageid="WH-BIG", text="x" * (MAX_BODY_BYTES + 10))
    response = _post(api, "uazapi", channel_keys["uazapi"].webhook_key, payload)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


def test_store_unavailable_answers_503_so_providers_retry(tmp_path, channel_keys, database_url):
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)
    urls = ServiceUrls(database_url, database_url, "redis://127.0.0.1:1/0")  # Redis down
    with serving(create_app(settings, urls)) as base:
        response = httpx.post(
            f"{base}/webhooks/uazapi/{channel_keys['uazapi'].webhook_key}", json=_uazapi(messageid="WH-503"), timeout=30
        )
    assert response.status_code == 503 and "retry" in response.json()["detail"]
    bad_db = "postgresql://postgres@127.0.0.1:1/none"
    with serving(create_app(settings, ServiceUrls(bad_db, bad_db, "redis://127.0.0.1:1/0"))) as base:
        response = httpx.post(
            f"{base}/webhooks/uazapi/{channel_keys['uazapi'].webhook_key}", json=_uazapi(messageid="WH-503"), timeout=30
        )
    assert response.status_code == 503


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    junk=JSON,
    drop=st.sets(st.sampled_from(["message", "EventType", "token", "chat", "owner"])),
    replace=st.dictionaries(
        st.sampled_from(
            ["messageid", "text", "messageTimestamp", "sender_pn", "chatid", "fromMe", "isGroup", "content"]
        ),
        JSON,
        max_size=3,
    ),
)
def test_no_payload_ever_gets_a_500(api, channel_keys, junk, drop, replace):
    key = channel_keys["uazapi"].webhook_key
    mutated = copy.deepcopy(_uazapi(messageid="WH-FUZZ"))
    mutated["message"].update(replace)
    for name in drop:
        mutated.pop(name, None)
    for body in (junk, mutated):
        response = _post(api, "uazapi", key, body)
        assert response.status_code < 500, response.text
        response = _post(api, "evolution", channel_keys["evolution"].webhook_key, body)
        assert response.status_code < 500, response.text


def test_a_flooding_contact_gets_429_and_its_messages_are_kept_unanswered(api, channel_keys, engine):
    key = channel_keys["uazapi"].webhook_key
    statuses = []
    for index in range(45):
        payload = _uazapi(messageid=f"WH-FLOOD-{index}", sender_pn="5511955550000@s.whatsapp.net",
                          chatid="5511955550000@s.whatsapp.net")
        statuses.append(_post(api, "uazapi", key, payload).status_code)
    assert statuses[:40] == [200] * 40 and set(statuses[40:]) == {429}
    with engine.connect() as conn:
        rows = conn.execute(select(messages.c.status, messages.c.error)
                            .where(messages.c.provider_message_id.like("WH-FLOOD-%"))).all()
    assert len(rows) == 45
    assert sorted(set(rows)) == [("ignored", "rate_limited"), ("received", None)]


def test_many_new_contacts_in_a_row_are_all_stored(api, channel_keys):
    """Regression: after psycopg prepares a statement (5th run on a connection) the conflict target of the
    one-active-conversation insert must still match its partial index (a bound parameter there made
    PostgreSQL refuse the statement, answering 503)."""
    key = channel_keys["uazapi"].webhook_key
    results = []
    for index in range(30):
        phone = f"55119660{index:05d}"
        payload = _uazapi(messageid=f"WH-NEW-{index}", sender_pn=f"{phone}@s.whatsapp.net",
                          chatid=f"{phone}@s.whatsapp.net")
        response = _post(api, "uazapi", key, payload)
        results.append((response.status_code, response.json().get("results")))
    assert results == [(200, ["stored"])] * 30


async def test_channel_directory_remembers_active_channels_for_its_ttl_only(engine, database_url):
    """Webhooks look their channel up in a per-process cache: a deactivation takes effect within the TTL, and
    a channel not found (here: inactive) is asked again next time, so a (re)activated one works at once."""
    slug = unique_slug("chcache")
    keyring = Keyring(TEST_SECRET)
    with engine.begin() as conn:
        admin.create_tenant(conn, slug, "Cache Net")
        created = admin.create_channel(conn, keyring, "http://x", slug, "uazapi", "uazapi", "http://127.0.0.1:9",
                                       f"{slug}-i", "tok-cache")
    aengine = async_engine(database_url)
    directory = ChannelDirectory(aengine, keyring, ttl=0.5)

    def set_active(active: bool) -> None:
        with engine.begin() as conn:
            conn.execute(update(channels).where(channels.c.id == created.id).values(is_active=active))

    try:
        set_active(False)
        assert await directory.find(created.webhook_key) is None
        set_active(True)
        found = await directory.find(created.webhook_key)
        assert found is not None and (found.id, found.token) == (created.id, "tok-cache")
        set_active(False)
        assert await directory.find(created.webhook_key) == found  # remembered
        await asyncio.sleep(0.6)
        assert await directory.find(created.webhook_key) is None  # expired: the database says inactive
        assert await directory.find("no-such-key") is None
    finally:
        await aengine.dispose()
