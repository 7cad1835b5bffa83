"""The webhook routes over real HTTP: real provider payloads in, status codes as the providers expect."""

import asyncio
import copy
import json
import socket
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from api.app import create_app
from api.webhooks import routes
from api.webhooks.channels import ChannelDirectory
from api.webhooks.routes import MAX_BODY_BYTES
from niochat import accounts
from niochat.database import async_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import audit_log, channels, contacts, conversations, messages
from tests.support.basics import TEST_SECRET, fixtures_dir, unique_slug
from tests.support.servers import serving

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
        accounts.create_tenant(conn, slug, "Webhook Net")
        keys = {}
        for provider in ("uazapi", "evolution"):
            created = accounts.create_channel(
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


def _evolution(payload_name: str = EVOLUTION_TEXT) -> dict:
    """An Evolution capture as a server with AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES on sends it: with the
    instance's token as `apikey` (the captures were made with it off: `apikey: null`)."""
    return dict(load(payload_name), apikey="tok-evolution")


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
    payload = _evolution("evolution/messages.upsert.lid.json")
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
    payload = load(name) if provider == "uazapi" else _evolution(name)
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
    payload = load(name) if provider == "uazapi" else _evolution(name)
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


def test_evolution_webhooks_carry_the_instance_token_not_the_global_key(api, engine):
    """A channel that calls Evolution with the server's global key checks webhooks against the instance's token,
    which is what Evolution puts in `apikey`; the JWT option still works with it."""
    slug = unique_slug("whg")
    with engine.begin() as conn:
        accounts.create_tenant(conn, slug, "Global Net")
        created = accounts.create_channel(conn, Keyring(TEST_SECRET), "http://x", slug, "evolution", "evo",
                                       "http://127.0.0.1:9", f"{slug}-evo", "chave-global", webhook_token="tok-inst")
    payload = load(EVOLUTION_TEXT)
    payload["data"]["key"]["id"] = f"WH-GLOBAL-{slug}"
    assert _post(api, "evolution", created.webhook_key, dict(payload, apikey="chave-global")).status_code == 401
    assert _post(api, "evolution", created.webhook_key, dict(payload, apikey="tok-inst")).json()["results"] == [
        "stored"]
    signed = jwt.encode({"app": "evolution"}, "tok-inst", algorithm="HS256")
    payload["data"]["key"]["id"] = f"WH-GLOBAL-JWT-{slug}"
    ok = _post(api, "evolution", created.webhook_key, payload, headers={"authorization": f"Bearer {signed}"})
    assert ok.status_code == 200, ok.text
    forged = jwt.encode({"app": "evolution"}, "chave-global", algorithm="HS256")
    refused = _post(api, "evolution", created.webhook_key, payload, headers={"authorization": f"Bearer {forged}"})
    assert refused.status_code == 401


# --- Evolution's "webhook by events": the event's name appended to the URL --------------------------------


def _url_event_mismatches(api) -> float:
    text = api.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "niochat_webhook_url_event_mismatches_total" and sample.labels == {
                    "provider": "evolution"}:
                return sample.value
    return 0.0


@pytest.mark.parametrize("suffix", ["messages-upsert", "MESSAGES_UPSERT", "messages.upsert"])
def test_evolution_by_events_urls_reach_the_channel(api, channel_keys, engine, suffix):
    payload = dict(load(EVOLUTION_TEXT), apikey="tok-evolution")
    payload["data"]["key"]["id"] = f"WH-BYEVENT-{suffix}"
    before = _url_event_mismatches(api)
    response = _post(api, "evolution", f"{channel_keys['evolution'].webhook_key}/{suffix}", payload)
    assert response.status_code == 200 and response.json()["results"] == ["stored"], response.text
    assert _url_event_mismatches(api) == before
    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.provider_message_id == f"WH-BYEVENT-{suffix}")).one()
    assert row.channel_id == channel_keys["evolution"].id and row.direction == "inbound"


def test_a_by_events_url_naming_another_event_loses_nothing_the_body_decides(api, channel_keys, engine):
    key = channel_keys["evolution"].webhook_key
    payload = dict(load(EVOLUTION_TEXT), apikey="tok-evolution")
    payload["data"]["key"]["id"] = "WH-BYEVENT-MISMATCH"
    before = _url_event_mismatches(api)
    response = _post(api, "evolution", f"{key}/connection-update", payload)
    assert response.status_code == 200 and response.json()["results"] == ["stored"]
    assert _url_event_mismatches(api) == before + 1
    with engine.connect() as conn:
        assert conn.execute(select(messages).where(messages.c.provider_message_id == "WH-BYEVENT-MISMATCH")).one()

    update = dict(load("evolution/messages.update.json"), apikey="tok-evolution")
    assert _post(api, "evolution", f"{key}/messages-update", update).json()["results"][0].startswith("status:")
    connection = dict(load("evolution/connection.update.json"), apikey="tok-evolution")
    assert _post(api, "evolution", f"{key}/connection-update", connection).json()["results"][0].startswith(
        "connection:")
    assert _post(api, "evolution", f"{key}/send-message", dict(payload, event="send.message")).status_code == 200
    assert _url_event_mismatches(api) == before + 1
    # the suffix changes nothing else: unknown key 404, another provider's channel 404, wrong token 401
    assert _post(api, "evolution", "no-such-key-" + "x" * 40 + "/messages-upsert", payload).status_code == 404
    uazapi_key = channel_keys["uazapi"].webhook_key
    assert _post(api, "evolution", f"{uazapi_key}/messages-upsert", payload).status_code == 404
    assert _post(api, "evolution", f"{key}/messages-upsert", dict(payload, apikey="x")).status_code == 401


# --- oversized bodies: a 413 the sender reads, every time, however it sends -----------------------------------


# 3 MB of many short values (a history sync, say): past the cap however the body is read, unlike one long string
# (an inline file), which a body parser may drop
BIG_FILLER = ["mensagem antiga " * 3] * 60_000
WEBHOOK_ROUTES = ["uazapi/{uazapi}", "evolution/{evolution}", "evolution/{evolution}/messages-upsert"]


def _route(channel_keys, route: str) -> str:
    return "/webhooks/" + route.format(**{name: channel_keys[name].webhook_key for name in ("uazapi", "evolution")})


def _raw_request(api, path: str, headers: list[str], pieces: list[bytes], *, read_first: bool = False,
                 timeout: float = 20) -> tuple[OSError | None, bytes]:
    """A bare HTTP/1.1 client on a socket: writes the head and every piece of the body, then reads the answer
    (as Python's urllib does), or only reads (`read_first`, a client waiting for 100 Continue). Returns the
    error writing raised, if any, and what the server answered before closing."""
    head = "".join(f"{line}\r\n" for line in [f"POST {path} HTTP/1.1", f"Host: {api.base_url.host}", *headers])
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n")
        error = None
        if not read_first:
            try:
                for piece in pieces:
                    sock.sendall(piece)
            except OSError as exc:
                error = exc
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and b'"detail"' in answer:
                    break
        except OSError as exc:
            error = error or exc
    return error, answer


def _chunked(body: bytes, size: int = 65536) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in
            (body[start:start + size] for start in range(0, len(body), size))] + [b"0\r\n\r\n"]


@pytest.mark.parametrize("route", WEBHOOK_ROUTES)
def test_an_oversized_body_is_answered_413_every_time_however_it_is_sent(api, channel_keys, route):
    """Regression: the 413 went out while the sender was still sending; with `Connection: close` (urllib, Node's
    http without keep-alive) the server then closed with the body unread, the kernel reset the connection, and
    the sender saw a dropped connection (so a provider would post the same body forever)."""
    path = _route(channel_keys, route)
    body = json.dumps({"token": "tok-uazapi", "apikey": "tok-evolution", "history": BIG_FILLER}).encode()
    assert len(body) > 3_000_000
    with httpx.Client(base_url=str(api.base_url), timeout=30) as client:  # keep-alive, with Content-Length
        for _ in range(3):
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 413 and "larger than" in response.json()["detail"]
        for _ in range(3):  # chunked, no Content-Length
            pieces = iter([body[start:start + 65536] for start in range(0, len(body), 65536)])
            assert client.post(path, content=pieces, headers={"content-type": "application/json"}).status_code == 413
    for _ in range(3):  # urllib: Connection: close, writes the whole body before reading the answer
        request = urllib.request.Request(f"{api.base_url}{path}", data=body,
                                         headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413 and b"larger than" in refused.value.read()
    for framing in ("length", "chunked"):  # a bare client that closes, both framings
        headers = ["Content-Type: application/json", "Connection: close",
                   f"Content-Length: {len(body)}" if framing == "length" else "Transfer-Encoding: chunked"]
        pieces = [body] if framing == "length" else _chunked(body)
        error, answer = _raw_request(api, path, headers, pieces)
        assert error is None, f"{framing}: {error!r}"
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_sender_waiting_for_100_continue_is_refused_before_it_sends(api, channel_keys):
    """Past what is ever read, at once; a body past the cap but within it may be a file riding inline, so the
    sender is told to go on (and then answered by what it sent)."""
    headers = ["Content-Type: application/json", f"Content-Length: {routes.DRAIN_MAX_BYTES + 1}",
               "Expect: 100-continue"]
    error, answer = _raw_request(api, _route(channel_keys, "uazapi/{uazapi}"), headers, [], read_first=True)
    assert error is None and answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    assert b"connection: close" in answer.lower()


def test_past_the_drain_limits_the_413_closes_the_connection(api, channel_keys, monkeypatch):
    """Reading a too-large body to its end has limits (bytes, seconds); past them the 413 still comes, and the
    connection is closed."""
    path = _route(channel_keys, "uazapi/{uazapi}")
    headers = ["Content-Type: application/json", f"Content-Length: {routes.DRAIN_MAX_BYTES + 1}"]
    error, answer = _raw_request(api, path, headers, [], read_first=True)  # declared too large to read at all
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()

    monkeypatch.setattr(routes, "DRAIN_MAX_SECONDS", 0.5)  # the server runs in this process
    headers = ["Content-Type: application/json", "Transfer-Encoding: chunked"]
    started = time.monotonic()
    stalled = _chunked(b"x" * (MAX_BODY_BYTES + 100_000))[:-1]  # more than allowed, then nothing, never the end
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
        sock.sendall(head.encode() + b"".join(stalled))
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
    assert time.monotonic() - started < 10


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
        accounts.create_tenant(conn, slug, "Cache Net")
        created = accounts.create_channel(conn, keyring, "http://x", slug, "uazapi", "uazapi", "http://127.0.0.1:9",
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
