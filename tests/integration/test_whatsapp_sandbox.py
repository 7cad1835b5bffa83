"""The WhatsApp sandbox served for real, talking to a real receiving server, checked against provider captures."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp import create_app
from sandbox.whatsapp.media_files import speech_in, voice_note
from tests.support.basics import fixtures_dir
from tests.support.servers import free_port, serving

FIXTURES = fixtures_dir()
RETRIES = 2  # the sandbox under test retries twice: three attempts in all
CUSTOMER = "5511912340001"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class Receiver:
    """A webhook endpoint that records every POST it gets and can be told to fail the next ones."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/{path:path}")
        async def receive(path: str, request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                status = self._failures.pop(0) if self._failures else 200
                self.requests.append({"path": "/" + path, "json": body, "status": status,
                                      "headers": dict(request.headers)})
            return JSONResponse({"ok": status < 400}, status_code=status)

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures = [status] * count

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    def bodies(self, path: str) -> list[dict]:
        with self._lock:
            return [r["json"] for r in self.requests if r["path"] == path and r["status"] < 400]

    def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(found := self.bodies(path)) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{path} got {len(self.bodies(path))} webhooks, expected {count}")


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    with serving(receiver.app) as url:
        receiver.url = url
        yield receiver


@pytest.fixture(scope="module")
def sandbox_url():
    with serving(create_app(webhook_retries=RETRIES)) as url:
        yield url


@pytest.fixture
def client(sandbox_url, receiver):
    with httpx.Client(base_url=sandbox_url, timeout=10) as http:
        http.post("/sandbox/reset").raise_for_status()
        receiver.clear()
        yield http


def new_instance(client: httpx.Client, provider: str, owner: str = "5511987650000") -> dict:
    name = f"{provider}-{uuid.uuid4().hex[:8]}"
    token = f"tok-{uuid.uuid4()}"
    response = client.post("/sandbox/instances",
                           json={"provider": provider, "instance": name, "token": token, "owner": owner})
    assert response.status_code == 200, response.text
    return {"name": name, "token": token, "provider": provider, "owner": owner, "path": f"/hook/{name}"}


def register(client: httpx.Client, receiver: Receiver, inst: dict, url: str | None = None, **extra) -> dict:
    url = url or receiver.url + inst["path"]
    if inst["provider"] == "uazapi":
        body = {"url": url, "events": ["messages", "messages_update"], "excludeMessages": [], **extra}
        response = client.post("/webhook", headers={"token": inst["token"]}, json=body)
        assert response.status_code == 200, response.text
        return next(hook for hook in response.json() if hook["url"] == url)  # uazapi answers with the whole list
    else:
        body = {"webhook": {"enabled": True, "url": url,
                            "events": ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE", "MESSAGES_EDITED"],
                            "byEvents": False, "base64": False, **extra}}
        response = client.post(f"/webhook/set/{inst['name']}", headers={"apikey": inst["token"]}, json=body)
        assert response.status_code == 201, response.text
    return response.json()


def send(client: httpx.Client, inst: dict, number: str = CUSTOMER, text: str = "Olá!", **extra) -> httpx.Response:
    body = {"number": number, "text": text, **extra}
    if inst["provider"] == "uazapi":
        return client.post("/send/text", headers={"token": inst["token"]}, json=body)
    return client.post(f"/message/sendText/{inst['name']}", headers={"apikey": inst["token"]}, json=body)


def inbound(client: httpx.Client, inst: dict, text: str = "preciso da segunda via", **extra) -> httpx.Response:
    return client.post("/sandbox/inbound",
                       json={"instance": inst["name"], "from": CUSTOMER, "name": "Maria Souza", "text": text, **extra})


# --- instances and webhook registration ---------------------------------------------------------------------


def settled_deliveries(client: httpx.Client, count: int, timeout: float = 10.0) -> list[dict]:
    """/sandbox/deliveries once `count` of them have their answer recorded: the receiver may already hold a
    webhook whose response has not yet reached the sandbox."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = client.get("/sandbox/deliveries").json()
        answered = [d for d in deliveries if d["status_code"] is not None or d["error"]]
        if len(answered) >= count or time.monotonic() > deadline:
            return deliveries
        time.sleep(0.05)


def test_instances_are_created_idempotently_and_listed(client):
    body = {"provider": "uazapi", "instance": "matriz", "token": "t-1"}
    first = client.post("/sandbox/instances", json=body).json()
    again = client.post("/sandbox/instances", json={**body, "owner": "5511900001111"}).json()
    assert first["created"] is True and again["created"] is False
    listed = [i for i in client.get("/sandbox/instances").json() if i["instance"] == "matriz"]
    assert listed == [{**{k: v for k, v in again.items() if k != "created"}}]
    assert listed[0]["owner"] == "5511900001111" and listed[0]["webhook_url"] is None
    taken = client.post("/sandbox/instances", json={"provider": "uazapi", "instance": "filial", "token": "t-1"})
    assert taken.status_code == 409
    unknown = client.post("/sandbox/instances", json={"provider": "zapi", "instance": "x", "token": "y"})
    assert unknown.status_code == 422


def test_uazapi_webhook_registration_is_stored_and_listed(client, receiver):
    inst = new_instance(client, "uazapi")
    stored = register(client, receiver, inst, excludeMessages=["isGroupYes"])
    assert stored["url"] == receiver.url + inst["path"] and stored["enabled"] is True
    assert stored["events"] == ["messages", "messages_update"] and stored["excludeMessages"] == ["isGroupYes"]
    assert {"id", "instance_id", "addUrlEvents", "AddUrlTypesMessages", "created", "updated"} <= stored.keys()
    listed = next(i for i in client.get("/sandbox/instances").json() if i["instance"] == inst["name"])
    assert listed["webhook_url"] == stored["url"] and listed["webhook_events"] == stored["events"]
    assert client.post("/webhook", headers={"token": "nope"}, json={"url": "http://x"}).status_code == 401
    bad = client.post("/webhook", headers={"token": inst["token"]}, json={"url": "not a url"})
    assert bad.status_code == 400 and "error" in bad.json()


def test_evolution_webhook_registration_nested_and_flat(client, receiver):
    inst = new_instance(client, "evolution")
    stored = register(client, receiver, inst)
    assert stored["url"] == receiver.url + inst["path"]
    assert stored["events"] == ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE", "MESSAGES_EDITED"]
    assert stored["webhookByEvents"] is False and stored["webhookBase64"] is False and stored["instanceId"]
    flat = client.post(f"/webhook/set/{inst['name']}", headers={"apikey": inst["token"]},
                       json={"enabled": True, "url": "http://127.0.0.1:9/other", "events": ["messages.upsert"]})
    assert flat.status_code == 201 and flat.json()["events"] == ["MESSAGES_UPSERT"]
    assert flat.json()["id"] == stored["id"]  # the same row, updated
    listed = next(i for i in client.get("/sandbox/instances").json() if i["instance"] == inst["name"])
    assert listed["webhook_url"] == "http://127.0.0.1:9/other"
    wrong = client.post(f"/webhook/set/{inst['name']}", headers={"apikey": "nope"}, json={"url": "http://x"})
    assert wrong.status_code == 401
    assert client.post("/webhook/set/ghost", headers={"apikey": "x"}, json={"url": "http://x"}).status_code == 404


GLOBAL_KEY = "sandbox-evolution-global-key"  # create_app()'s default


def test_evolution_takes_the_global_key_or_the_instances_own_token(client, receiver):
    inst, other = new_instance(client, "evolution"), new_instance(client, "evolution")
    assert client.get("/sandbox/config").json()["evolution_api_key"] == GLOBAL_KEY
    no_key = client.post(f"/message/sendText/{inst['name']}", json={"number": CUSTOMER, "text": "oi"})
    assert no_key.status_code == 401
    for key in (GLOBAL_KEY, inst["token"]):
        response = client.post(f"/message/sendText/{inst['name']}", headers={"apikey": key},
                               json={"number": CUSTOMER, "text": "oi"})
        assert response.status_code == 201, response.text
    wrong = client.post(f"/message/sendText/{inst['name']}", headers={"apikey": other["token"]},
                        json={"number": CUSTOMER, "text": "oi"})
    assert wrong.status_code == 401
    assert wrong.json() == {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
    # an unknown instance is a 404 whatever the key, as Evolution's instance guard runs before its auth guard
    for key in (GLOBAL_KEY, "nope"):
        ghost = client.get("/instance/connectionState/ghost", headers={"apikey": key})
        assert ghost.status_code == 404
        assert ghost.json() == {"status": 404, "error": "Not Found",
                                "response": {"message": ['The "ghost" instance does not exist']}}
    state = client.get(f"/instance/connectionState/{inst['name']}", headers={"apikey": GLOBAL_KEY})
    assert state.json() == {"instance": {"instanceName": inst["name"], "state": "open"}}
    assert client.get(f"/instance/connectionState/{inst['name']}", headers={"apikey": "x"}).status_code == 401

    # the global key can be changed, as the server's operator would (reset keeps it)
    client.post("/sandbox/config", json={"evolution_api_key": "outra-chave"})
    client.post("/sandbox/reset")
    assert client.get(f"/instance/connectionState/{inst['name']}", headers={"apikey": GLOBAL_KEY}).status_code == 401
    assert client.get(f"/instance/connectionState/{inst['name']}", headers={"apikey": "outra-chave"}).status_code == 200
    client.post("/sandbox/config", json={"evolution_api_key": GLOBAL_KEY})


def test_evolution_fetch_instances_shows_the_instance_token_to_the_global_key(client):
    inst = new_instance(client, "evolution")
    other = new_instance(client, "evolution")
    client.post("/sandbox/instances", json={"provider": "evolution", "instance": other["name"],
                                             "token": other["token"], "connection": "close"})
    everything = client.get("/instance/fetchInstances", headers={"apikey": GLOBAL_KEY}).json()
    assert {inst["name"], other["name"]} <= {record["name"] for record in everything}
    (record,) = client.get("/instance/fetchInstances", params={"instanceName": inst["name"]},
                           headers={"apikey": GLOBAL_KEY}).json()
    assert record["token"] == inst["token"] and record["connectionStatus"] == "open"
    assert record["ownerJid"] == f"{inst['owner']}@s.whatsapp.net" and record["integration"] == "WHATSAPP-BAILEYS"
    assert {"id", "name", "clientName", "createdAt", "updatedAt", "Setting", "_count"} <= record.keys()
    mine = client.get("/instance/fetchInstances", headers={"apikey": inst["token"]}).json()  # its own, only
    assert [r["name"] for r in mine] == [inst["name"]]
    missing = client.get("/instance/fetchInstances", params={"instanceName": "ghost"}, headers={"apikey": GLOBAL_KEY})
    assert missing.status_code == 404 and missing.json()["response"]["message"] == ['Instance "ghost" not found']
    for headers in ({"apikey": "nope"}, {}):
        refused = client.get("/instance/fetchInstances", headers=headers)
        assert refused.status_code == 401 and refused.json()["error"] == "Unauthorized"
    closed = client.get(f"/instance/connectionState/{other['name']}", headers={"apikey": other["token"]})
    assert closed.json()["instance"]["state"] == "close"


def test_evolution_webhook_by_events_posts_to_the_event_suffixes(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst, byEvents=True)
    inbound(client, inst)
    send(client, inst)
    receiver.wait_for(inst["path"] + "/messages-update", 1)
    assert [b["event"] for b in receiver.wait_for(inst["path"] + "/messages-upsert", 1)] == ["messages.upsert"]
    assert [b["event"] for b in receiver.wait_for(inst["path"] + "/send-message", 1)] == ["send.message"]
    assert receiver.bodies(inst["path"]) == []

    # switched off and on again from outside NioChat, as an ISP would in Evolution's manager
    other = new_instance(client, "evolution")
    register(client, receiver, other)
    switched = client.post(f"/sandbox/instances/{other['name']}/webhook", json={"by_events": True})
    assert switched.status_code == 200 and switched.json()["webhook_by_events"] is True
    assert inbound(client, other).json()["deliveries"][0]["url"] == receiver.url + other["path"] + "/messages-upsert"
    found = client.get(f"/webhook/find/{other['name']}", headers={"apikey": GLOBAL_KEY}).json()
    assert found["webhookByEvents"] is True and found["url"] == receiver.url + other["path"]
    uazapi = new_instance(client, "uazapi")
    assert client.post(f"/sandbox/instances/{uazapi['name']}/webhook", json={"by_events": True}).status_code == 409
    bare = new_instance(client, "evolution")
    assert client.post(f"/sandbox/instances/{bare['name']}/webhook", json={"by_events": True}).status_code == 409
    assert client.post("/sandbox/instances/ghost/webhook", json={"by_events": True}).status_code == 404


def test_uazapi_keeps_a_list_of_webhooks_and_posts_to_each(client, receiver):
    inst = new_instance(client, "uazapi")
    headers = {"token": inst["token"]}
    assert client.get("/webhook", headers=headers).json() == []
    isp = client.post("/webhook", headers=headers, json={"url": receiver.url + "/isp", "events": ["messages"],
                                                        "excludeMessages": ["wasSentByApi"]}).json()
    assert [hook["url"] for hook in isp] == [receiver.url + "/isp"]
    added = client.post("/webhook", headers=headers, json={"action": "add", "url": receiver.url + "/ours",
                                                          "events": ["messages", "messages_update"]}).json()
    assert [hook["url"] for hook in added] == [receiver.url + "/isp", receiver.url + "/ours"]
    assert added[0] == isp[0] and added[1]["id"] != isp[0]["id"]
    assert client.get("/webhook", headers=headers).json() == added

    answer = inbound(client, inst).json()
    assert answer["delivered"] is True and len(answer["deliveries"]) == 2
    assert receiver.bodies("/isp") == receiver.bodies("/ours") == [answer["payload"]]
    assert receiver.bodies("/isp")[0]["chat"]["wa_unreadCount"] == 1  # one message, counted once
    send(client, inst)  # each webhook's own filters: the ISP's excludes our sends and has no messages_update
    receiver.wait_for("/ours", 3)
    assert len(receiver.bodies("/isp")) == 1
    skipped = {d["url"]: d["error"] for d in client.get("/sandbox/deliveries").json() if d["error"]}
    assert skipped[receiver.url + "/isp"].startswith("skipped")

    updated = client.post("/webhook", headers=headers, json={"action": "update", "id": added[1]["id"],
                                                            "url": receiver.url + "/ours2", "events": ["messages"]})
    assert [hook["url"] for hook in updated.json()] == [receiver.url + "/isp", receiver.url + "/ours2"]
    assert updated.json()[1]["id"] == added[1]["id"]
    simple = client.post("/webhook", headers=headers, json={"url": receiver.url + "/isp2"}).json()  # no action
    assert [hook["url"] for hook in simple] == [receiver.url + "/isp2", receiver.url + "/ours2"]  # the first, replaced
    deleted = client.post("/webhook", headers=headers, json={"action": "delete", "id": added[1]["id"]}).json()
    assert [hook["url"] for hook in deleted] == [receiver.url + "/isp2"]
    for body, error in (({"action": "remove", "url": "http://x"}, "Invalid action"),
                        ({"action": "update", "id": "nope", "url": "http://x"}, "Webhook not found"),
                        ({"action": "delete"}, "id is required for update and delete"),
                        ({"action": "add", "url": "no url"}, "Invalid URL")):
        refused = client.post("/webhook", headers=headers, json=body)
        assert refused.status_code == 400 and refused.json() == {"error": error}, body
    assert client.get("/webhook", headers={"token": "nope"}).status_code == 401


# --- sends ----------------------------------------------------------------------------------------------------


def test_uazapi_send_with_right_and_wrong_token(client):
    inst = new_instance(client, "uazapi")
    wrong = client.post("/send/text", headers={"token": "nope"}, json={"number": CUSTOMER, "text": "oi"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "Invalid token"}
    assert client.post("/send/text", json={"number": CUSTOMER, "text": "oi"}).status_code == 401
    missing = client.post("/send/text", headers={"token": inst["token"]}, json={"number": CUSTOMER})
    assert missing.status_code == 400 and "error" in missing.json()

    response = send(client, inst, text="Sua fatura vence dia 10.", delay=1200)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["messageid"].startswith("3EB0") and body["id"] == f"{inst['owner']}:{body['messageid']}"
    assert body["chatid"] == f"{CUSTOMER}@s.whatsapp.net" and body["fromMe"] is True
    assert body["text"] == "Sua fatura vence dia 10." and body["status"] == "sent"
    assert isinstance(body["messageTimestamp"], int) and body["messageTimestamp"] > 10**12  # milliseconds
    assert body["response"] == {"status": "success", "message": "Message sent successfully"}
    [listed] = client.get("/sandbox/messages").json()
    assert listed["id"] == body["messageid"] and listed["delay"] == 1200 and listed["provider"] == "uazapi"


def test_evolution_send_checks_instance_and_apikey(client):
    inst = new_instance(client, "evolution")
    ghost = client.post("/message/sendText/ghost", headers={"apikey": inst["token"]}, json={"number": "1", "text": "x"})
    assert ghost.status_code == 404 and ghost.json()["error"] == "Not Found"
    wrong = client.post(f"/message/sendText/{inst['name']}", headers={"apikey": "nope"},
                        json={"number": CUSTOMER, "text": "oi"})
    assert wrong.status_code == 401 and wrong.json()["status"] == 401

    response = send(client, inst, text="Segue o PIX.", delay=500)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["key"]["remoteJid"] == f"{CUSTOMER}@s.whatsapp.net" and body["key"]["fromMe"] is True
    assert body["key"]["id"].startswith("3EB0") and body["message"] == {"conversation": "Segue o PIX."}
    assert body["status"] == "PENDING"
    assert isinstance(body["messageTimestamp"], int) and body["messageTimestamp"] < 10**11  # seconds
    [listed] = client.get("/sandbox/messages").json()
    assert listed["id"] == body["key"]["id"] and listed["delay"] == 500 and listed["provider"] == "evolution"


def test_messages_are_listed_by_number_and_instance_in_order(client):
    uaz, evo = new_instance(client, "uazapi"), new_instance(client, "evolution")
    send(client, uaz, number="+55 (11) 91234-0001", text="um")
    send(client, uaz, number="5521988887777", text="outro cliente")
    send(client, evo, number="5511912340001@s.whatsapp.net", text="dois")
    send(client, uaz, number=CUSTOMER, text="três")
    mine = client.get("/sandbox/messages", params={"number": CUSTOMER}).json()
    assert [m["text"] for m in mine] == ["um", "dois", "três"]
    assert {m["number"] for m in mine} == {CUSTOMER}
    assert all(m["sent_at"].endswith("Z") and m["status"] in ("sent", "delivered") for m in mine)
    only_uaz = client.get("/sandbox/messages", params={"number": CUSTOMER, "instance": uaz["name"]}).json()
    assert [m["text"] for m in only_uaz] == ["um", "três"]


# --- inbound: provider-format webhooks ------------------------------------------------------------------------


def test_uazapi_inbound_has_the_captured_structure(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    answer = inbound(client, inst).json()
    assert answer["delivered"] is True and answer["webhook_status"] == 200 and answer["attempts"] == 1
    [posted] = receiver.bodies(inst["path"])
    assert posted == answer["payload"]

    captured = fixture("uazapi/user-chat__from-others__text.sent.json")
    assert posted.keys() == captured.keys()
    assert posted["chat"].keys() == captured["chat"].keys()
    assert posted["message"].keys() == captured["message"].keys()
    assert posted["message"]["content"].keys() == captured["message"]["content"].keys()
    for key, value in captured["message"].items():
        assert type(posted["message"][key]) is type(value), key

    message = posted["message"]
    assert posted["EventType"] == "messages" and posted["token"] == inst["token"]
    assert message["fromMe"] is False and message["wasSentByApi"] is False
    assert message["text"] == "preciso da segunda via" and message["senderName"] == "Maria Souza"
    assert message["messageid"] == answer["id"] and message["id"] == f"{inst['owner']}:{answer['id']}"
    assert message["sender"] == message["sender_pn"] == f"{CUSTOMER}@s.whatsapp.net"
    assert message["messageTimestamp"] > 10**12  # milliseconds
    assert posted["chat"]["phone"] == "+55 11 91234-0001" and posted["chat"]["wa_chatid"] == message["chatid"]


def test_uazapi_inbound_lid_sender(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    message = inbound(client, inst, lid=True).json()["payload"]["message"]
    assert message["sender"].endswith("@lid") and message["sender_lid"] == message["sender"]
    assert message["sender_pn"] == f"{CUSTOMER}@s.whatsapp.net"
    again = inbound(client, inst, lid=True).json()["payload"]["message"]
    assert again["sender"] == message["sender"]  # the same customer keeps the same LID


def test_evolution_inbound_has_the_captured_structure(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    answer = inbound(client, inst).json()
    assert answer["delivered"] is True and answer["attempts"] == 1
    [posted] = receiver.bodies(inst["path"])
    assert posted == answer["payload"]

    captured = fixture("evolution/messages.upsert.text.json")
    assert posted.keys() == captured.keys()
    assert posted["data"].keys() == captured["data"].keys()
    assert posted["data"]["key"].keys() == captured["data"]["key"].keys()
    assert posted["data"]["message"].keys() == captured["data"]["message"].keys()
    for key, value in captured["data"].items():
        if value is not None:
            assert type(posted["data"][key]) is type(value), key

    data = posted["data"]
    assert posted["event"] == "messages.upsert" and posted["instance"] == inst["name"]
    assert posted["apikey"] == inst["token"] and posted["destination"] == receiver.url + inst["path"]
    assert data["key"] == {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": False, "id": answer["id"]}
    assert data["message"]["conversation"] == "preciso da segunda via" and data["pushName"] == "Maria Souza"
    assert data["messageTimestamp"] < 10**11  # seconds


def test_evolution_sends_its_apikey_only_when_exposed_and_signs_with_the_webhooks_jwt_key(client, receiver):
    """As Evolution v2.3 does (WebhookController.emit, ChannelStartupService.sendDataWebhook): `apikey` is the
    instance's token only with AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES on, else null; a webhook's own headers go
    with every post, but `jwt_key` becomes `Authorization: Bearer` with a JWT signed with it, valid 10 minutes."""
    inst = new_instance(client, "evolution")
    register(client, receiver, inst, headers={"jwt_key": "chave-do-jwt-da-instancia", "X-Origem": "crm"})
    found = client.get(f"/webhook/find/{inst['name']}", headers={"apikey": inst["token"]}).json()
    assert found["headers"] == {"jwt_key": "chave-do-jwt-da-instancia", "X-Origem": "crm"}
    assert client.get("/sandbox/config").json()["evolution_expose_apikey"] is True
    try:
        for exposed in (True, False):
            client.post("/sandbox/config", json={"evolution_expose_apikey": exposed}).raise_for_status()
            answer = inbound(client, inst, id=f"EXPOSED-{exposed}-{inst['name']}").json()
            assert answer["delivered"] is True, answer
            (posted,) = [r for r in receiver.requests if r["json"]["data"]["key"]["id"] == answer["id"]]
            assert posted["json"]["apikey"] == (inst["token"] if exposed else None) == answer["payload"]["apikey"]
            headers = posted["headers"]
            assert "jwt_key" not in headers and headers["x-origem"] == "crm"
            scheme, token = headers["authorization"].split(" ")
            claims = jwt.decode(token, "chave-do-jwt-da-instancia", algorithms=["HS256"])
            assert scheme == "Bearer" and claims["exp"] - claims["iat"] == 600
            assert (claims["app"], claims["action"]) == ("evolution", "webhook")
    finally:
        client.post("/sandbox/config", json={"evolution_expose_apikey": True}).raise_for_status()
    register(client, receiver, inst)  # a webhook set without headers: no JWT
    answer = inbound(client, inst, id=f"NO-JWT-{inst['name']}").json()
    (posted,) = [r for r in receiver.requests if r["json"]["data"]["key"]["id"] == answer["id"]]
    assert "authorization" not in posted["headers"]


def test_evolution_inbound_lid_sender(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    posted = inbound(client, inst, lid=True).json()["payload"]
    captured = fixture("evolution/messages.upsert.lid.json")
    assert posted["data"]["key"].keys() == captured["data"]["key"].keys()
    assert posted["data"].keys() == captured["data"].keys() | {"contextInfo"}
    key = posted["data"]["key"]
    assert key["remoteJid"].endswith("@lid") and key["addressingMode"] == "lid"
    assert key["remoteJidAlt"] == f"{CUSTOMER}@s.whatsapp.net"


def test_inbound_quoting_a_bot_message(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    sent_id = send(client, inst, text="Qual o seu CPF?").json()["key"]["id"]
    data = inbound(client, inst, text="123.456.789-09", quoted=sent_id).json()["payload"]["data"]
    assert data["messageType"] == "extendedTextMessage"
    assert data["contextInfo"]["stanzaId"] == sent_id
    assert data["contextInfo"]["quotedMessage"] == {"conversation": "Qual o seu CPF?"}


def test_inbound_needs_a_known_instance_with_a_webhook(client):
    ghost = client.post("/sandbox/inbound", json={"instance": "ghost", "from": CUSTOMER, "text": "oi"})
    assert ghost.status_code == 404
    inst = new_instance(client, "uazapi")
    response = inbound(client, inst)
    assert response.status_code == 409 and "webhook" in response.json()["detail"]


def test_inbound_retries_5xx_until_success(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    receiver.fail_next(2, 500)
    answer = inbound(client, inst).json()
    assert answer["delivered"] is True and answer["webhook_status"] == 200 and answer["attempts"] == 3
    attempts = [r for r in receiver.requests if r["path"] == inst["path"]]
    assert [r["status"] for r in attempts] == [500, 500, 200]
    assert all(r["json"] == answer["payload"] for r in attempts)


def test_inbound_gives_up_after_the_retries(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    receiver.fail_next(10, 503)
    answer = inbound(client, inst).json()
    assert answer["delivered"] is False and answer["webhook_status"] == 503 and answer["attempts"] == 1 + RETRIES


def test_inbound_does_not_retry_4xx(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    receiver.fail_next(1, 400)
    answer = inbound(client, inst).json()
    assert answer["delivered"] is False and answer["webhook_status"] == 400 and answer["attempts"] == 1
    assert len([r for r in receiver.requests if r["path"] == inst["path"]]) == 1


def test_inbound_retries_connection_errors(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst, url=f"http://127.0.0.1:{free_port()}/nobody-here")
    answer = inbound(client, inst).json()
    assert answer["delivered"] is False and answer["webhook_status"] is None and answer["attempts"] == 1 + RETRIES
    [delivery] = client.get("/sandbox/deliveries", params={"instance": inst["name"]}).json()
    assert delivery["kind"] == "inbound" and delivery["error"] and delivery["attempts"] == 1 + RETRIES


def test_replayed_message_id_is_delivered_again_with_the_same_id(client, receiver):
    for provider in ("uazapi", "evolution"):
        inst = new_instance(client, provider)
        register(client, receiver, inst)
        first = inbound(client, inst, id="REPLAY0001").json()
        second = inbound(client, inst, id="REPLAY0001").json()
        assert first["id"] == second["id"] == "REPLAY0001" and second["delivered"] is True
        posted = receiver.bodies(inst["path"])
        ids = [p["message"]["messageid"] if provider == "uazapi" else p["data"]["key"]["id"] for p in posted]
        assert ids == ["REPLAY0001", "REPLAY0001"]


# --- faults ---------------------------------------------------------------------------------------------------


def test_faults_fail_the_next_sends_then_recover(client):
    uaz, evo = new_instance(client, "uazapi"), new_instance(client, "evolution")
    planned = client.post("/sandbox/faults", json={"count": 2, "status": 503, "instance": uaz["name"]}).json()
    assert planned["remaining"] == 2 and planned["status"] == 503 and planned["mode"] == "status"
    assert client.get("/sandbox/faults").json() == [planned]

    assert send(client, evo).status_code == 201  # another instance's sends are untouched
    first = send(client, uaz)
    assert first.status_code == 503 and "error" in first.json()
    assert client.get("/sandbox/faults").json()[0]["remaining"] == 1
    assert send(client, uaz).status_code == 503
    assert send(client, uaz).status_code == 200
    assert client.get("/sandbox/faults").json() == []
    assert [m["instance"] for m in client.get("/sandbox/messages").json()] == [evo["name"], uaz["name"]]

    client.post("/sandbox/faults", json={"count": 1})  # any instance, 500
    failed = send(client, evo)
    assert failed.status_code == 500 and failed.json()["error"] == "Internal Server Error"
    client.post("/sandbox/faults", json={"count": 5, "status": 429})
    assert client.delete("/sandbox/faults").json() == {"cleared": 1}
    assert send(client, evo).status_code == 201
    assert client.post("/sandbox/faults", json={"count": 1, "instance": "ghost"}).status_code == 404


def test_timeout_fault_hangs_the_send(client):
    inst = new_instance(client, "uazapi")
    client.post("/sandbox/faults", json={"count": 1, "mode": "timeout", "instance": inst["name"]})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post("/send/text", headers={"token": inst["token"]}, json={"number": CUSTOMER, "text": "oi"},
                    timeout=0.5)
    assert time.monotonic() - started < 5
    assert send(client, inst).status_code == 200
    assert len(client.get("/sandbox/messages").json()) == 1


# --- what follows a send: echo and delivery receipt -----------------------------------------------------------


def test_uazapi_send_is_followed_by_echo_and_receipt(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    inbound(client, inst)  # the customer writes first, so the chat has a name
    sent = send(client, inst, text="Aqui está o boleto.", track_source="niochat", track_id="job-1").json()
    echo_body, receipt = receiver.wait_for(inst["path"], 3)[1:]

    captured = fixture("uazapi/user-chat__from-me__text.sent.event.json")
    assert echo_body.keys() == captured.keys() and echo_body["message"].keys() == captured["message"].keys()
    message = echo_body["message"]
    assert echo_body["EventType"] == "messages" and message["fromMe"] is True and message["wasSentByApi"] is True
    assert message["messageid"] == sent["messageid"] and message["text"] == "Aqui está o boleto."
    assert message["sender_pn"] == f"{inst['owner']}@s.whatsapp.net" and message["chatid"] == sent["chatid"]
    assert message["track_source"] == "niochat" and message["track_id"] == "job-1"
    assert echo_body["chat"]["name"] == "Maria Souza"

    assert receipt["EventType"] == "messages_update" and receipt["token"] == inst["token"]
    assert receipt["state"] == "Delivered" and receipt["type"] == "ReadReceipt"
    assert receipt["event"]["MessageIDs"] == [sent["messageid"]] and receipt["event"]["Type"] == "Delivered"
    [listed] = client.get("/sandbox/messages").json()
    assert listed["status"] == "delivered" and listed["status_reported_at"]
    kinds = [(d["kind"], d["event"], d["status_code"]) for d in settled_deliveries(client, 3)]
    assert kinds == [("inbound", "messages", 200), ("echo", "messages", 200), ("status", "messages_update", 200)]


def test_evolution_send_is_followed_by_echo_and_receipt(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    sent = send(client, inst, text="Sua internet está online.").json()
    echo_body, receipt = receiver.wait_for(inst["path"], 2)

    captured = fixture("evolution/messages.upsert.fromme.json")
    assert echo_body.keys() == captured.keys()
    assert echo_body["data"].keys() == captured["data"].keys() | {"contextInfo"}
    # Evolution runs Baileys with emitOwnEvents off: an API send comes back as send.message, never as an upsert
    assert echo_body["event"] == "send.message" and echo_body["data"]["key"]["fromMe"] is True
    assert echo_body["data"]["key"]["id"] == sent["key"]["id"]
    assert echo_body["data"]["message"] == {"conversation": "Sua internet está online."}

    captured = fixture("evolution/messages.update.json")
    assert receipt.keys() == captured.keys() and receipt["data"].keys() == captured["data"].keys()
    assert receipt["event"] == "messages.update" and receipt["apikey"] == inst["token"]
    assert receipt["data"]["keyId"] == sent["key"]["id"] and receipt["data"]["status"] == "DELIVERY_ACK"
    assert client.get("/sandbox/messages").json()[0]["status"] == "delivered"


def test_send_answers_without_waiting_for_a_failing_webhook(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    receiver.fail_next(100, 500)
    started = time.monotonic()
    assert send(client, inst).status_code == 200
    assert time.monotonic() - started < 0.5  # the echo's retries (0.2 s + 0.4 s) run after the answer


def test_config_switches_echo_and_receipts_off(client, receiver):
    assert client.get("/sandbox/config").json() == {
        "echo": True, "status_updates": True, "status_delay_ms": 300,
        "lid_only_rate": 0.0, "edit_rate": 0.0, "reaction_rate": 0.0, "transient_send_rate": 0.0,
        "evolution_api_key": "sandbox-evolution-global-key", "evolution_expose_apikey": True,
    }
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    assert client.post("/sandbox/config", json={"echo": False}).json()["echo"] is False
    send(client, inst)
    [receipt] = receiver.wait_for(inst["path"], 1)
    assert receipt["event"] == "messages.update"

    client.post("/sandbox/config", json={"status_updates": False})
    receiver.clear()
    send(client, inst)
    time.sleep(0.6)
    assert receiver.bodies(inst["path"]) == []
    assert client.get("/sandbox/messages").json()[-1]["status"] == "sent"


def test_uazapi_exclude_messages_was_sent_by_api_drops_the_echo(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst, excludeMessages=["wasSentByApi"])
    sent = send(client, inst).json()
    [receipt] = receiver.wait_for(inst["path"], 1)
    assert receipt["EventType"] == "messages_update" and receipt["event"]["MessageIDs"] == [sent["messageid"]]
    skipped = [d for d in client.get("/sandbox/deliveries").json() if d["kind"] == "echo"]
    assert skipped[0]["attempts"] == 0 and skipped[0]["error"].startswith("skipped")


def test_reset_forgets_messages_faults_and_deliveries_but_keeps_instances(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    client.post("/sandbox/config", json={"echo": False})
    inbound(client, inst)
    send(client, inst)
    client.post("/sandbox/faults", json={"count": 3})
    client.post("/sandbox/reset").raise_for_status()
    assert client.get("/sandbox/messages").json() == []
    assert client.get("/sandbox/faults").json() == []
    assert client.get("/sandbox/deliveries").json() == []
    assert client.get("/sandbox/config").json()["echo"] is True
    listed = next(i for i in client.get("/sandbox/instances").json() if i["instance"] == inst["name"])
    assert listed["webhook_url"] == receiver.url + inst["path"]
    assert inbound(client, inst).json()["delivered"] is True


# --- media: customers' files, media sends, an attendant on the phone --------------------------------------------


def _media_keys(captured: dict) -> set[str]:
    """A capture's content keys, without what only real WhatsApp media has (thumbnails of real pictures)."""
    return set(captured) - {"JPEGThumbnail", "thumbnailDirectPath", "thumbnailSHA256", "thumbnailEncSHA256",
                            "thumbnailHeight", "thumbnailWidth"}


@pytest.mark.parametrize(("kind", "capture"), [("audio", "audio"), ("image", "image"), ("document", "file")])
def test_uazapi_customer_media_has_the_captured_structure_and_downloads(client, receiver, kind, capture):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    answer = inbound(client, inst, kind=kind, text="quero a segunda via" if kind == "audio" else None,
                     caption="" if kind == "audio" else "segue", file_name="comprovante.pdf").json()
    [posted] = receiver.bodies(inst["path"])
    captured = fixture(f"uazapi/user-chat__from-others__{capture}.sent.json")
    message = posted["message"]
    assert message.keys() == captured["message"].keys()
    assert _media_keys(captured["message"]["content"]) <= set(message["content"]) | {"caption"}
    for key in ("messageType", "mediaType", "type"):
        assert message[key] == captured["message"][key], key
    assert message["content"]["URL"].endswith(f"/sandbox/media/{answer['id']}")

    download = client.post("/message/download", headers={"token": inst["token"]},
                           json={"id": message["id"], "return_base64": True, "return_link": False})
    assert download.status_code == 200, download.text
    data = base64.b64decode(download.json()["base64Data"])
    assert len(data) == message["content"]["fileLength"]
    assert download.json()["mimetype"] == message["content"]["mimetype"]
    assert client.get(f"/sandbox/media/{answer['id']}").content == data  # the URL the webhook named serves it
    if kind == "audio":
        assert data.startswith(b"OggS") and speech_in(data) == "quero a segunda via"
        assert message["content"]["seconds"] >= 1 and message["content"]["PTT"] is True
    if kind == "document":
        assert data.startswith(b"%PDF") and message["content"]["fileName"] == "comprovante.pdf"
    missing = client.post("/message/download", headers={"token": inst["token"]}, json={"id": "AC0000"})
    assert missing.status_code == 404


def test_evolution_customer_voice_note_matches_the_capture_and_downloads(client, receiver):
    inst = new_instance(client, "evolution")
    register(client, receiver, inst)
    answer = inbound(client, inst, kind="audio", text="minha internet caiu", seconds=7).json()
    [posted] = receiver.bodies(inst["path"])
    captured = fixture("evolution/messages.upsert.audio.json")
    assert posted.keys() == captured.keys() and posted["data"].keys() >= captured["data"].keys()
    audio = posted["data"]["message"]["audioMessage"]
    assert audio.keys() >= captured["data"]["message"]["audioMessage"].keys()
    assert posted["data"]["messageType"] == "audioMessage" and audio["seconds"] == 7 and audio["ptt"] is True

    got = client.post(f"/chat/getBase64FromMediaMessage/{inst['name']}", headers={"apikey": inst["token"]},
                      json={"message": {"key": {"id": answer["id"]}}, "convertToMp4": False})
    assert got.status_code == 201, got.text
    data = base64.b64decode(got.json()["base64"])
    assert speech_in(data) == "minha internet caiu" and got.json()["mimetype"] == audio["mimetype"]
    assert str(len(data)) == audio["fileLength"]
    wrong = client.post(f"/chat/getBase64FromMediaMessage/{inst['name']}", headers={"apikey": "nope"},
                        json={"message": {"key": {"id": answer["id"]}}})
    assert wrong.status_code == 401


def test_a_voice_note_is_a_valid_ogg_opus_file():
    """Every page's checksum and the Opus headers (RFC 7845), read back without the writer's help."""
    data = voice_note(3, "oi").data
    pages, at = [], 0
    while at < len(data):
        assert data[at:at + 4] == b"OggS"
        segments = data[at + 26]
        body = sum(data[at + 27:at + 27 + segments])
        page = data[at:at + 27 + segments + body]
        crc = int.from_bytes(page[22:26], "little")
        assert _reference_ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) == crc
        pages.append(page)
        at += len(page)
    assert pages[0][5] == 0x02 and pages[-1][5] == 0x04  # beginning and end of stream
    assert pages[0][28:36] == b"OpusHead" and pages[1][28:36] == b"OpusTags"
    granule = int.from_bytes(pages[-1][6:14], "little")
    assert granule == 312 + 3 * 48000  # pre-skip plus three seconds at 48 kHz


def _reference_ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_media_sends_are_recorded_with_kind_caption_and_file_and_echoed(client, receiver, provider):
    inst = new_instance(client, provider)
    register(client, receiver, inst)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
    if provider == "uazapi":
        response = client.post("/send/media", headers={"token": inst["token"]}, json={
            "number": CUSTOMER, "type": "image", "file": png, "text": "QR Code do PIX", "track_source": "niochat",
            "track_id": "id-1"})
        assert response.status_code == 200, response.text
        message_id = response.json()["messageid"]
        bad = client.post("/send/media", headers={"token": inst["token"]},
                          json={"number": CUSTOMER, "type": "image", "file": "not base64!"})
    else:
        response = client.post(f"/message/sendMedia/{inst['name']}", headers={"apikey": inst["token"]}, json={
            "number": CUSTOMER, "mediatype": "image", "mimetype": "image/png", "media": png,
            "caption": "QR Code do PIX", "fileName": "pix.png"})
        assert response.status_code == 201, response.text
        message_id = response.json()["key"]["id"]
        assert response.json()["message"]["imageMessage"]["caption"] == "QR Code do PIX"
        bad = client.post(f"/message/sendMedia/{inst['name']}", headers={"apikey": inst["token"]},
                          json={"number": CUSTOMER, "mediatype": "sticker", "media": png})
    assert bad.status_code == 400
    [listed] = client.get("/sandbox/messages").json()
    assert (listed["id"], listed["kind"], listed["caption"], listed["text"]) == (
        message_id, "image", "QR Code do PIX", "QR Code do PIX")
    assert listed["file"] == png and listed["mimetype"] == "image/png" and listed["origin"] == "api"
    [echo] = receiver.wait_for(inst["path"], 1)[:1]
    if provider == "uazapi":
        message = echo["message"]
        assert (message["messageType"], message["fromMe"], message["wasSentByApi"], message["track_id"]) == (
            "ImageMessage", True, True, "id-1")
        assert message["content"]["caption"] == "QR Code do PIX"
    else:
        assert echo["data"]["key"] == {"remoteJid": f"{CUSTOMER}@s.whatsapp.net", "fromMe": True, "id": message_id}
        assert echo["data"]["message"]["imageMessage"]["caption"] == "QR Code do PIX"


def test_media_faults_hit_media_sends_only(client):
    inst = new_instance(client, "uazapi")
    client.post("/sandbox/faults", json={"count": 1, "status": 400, "sends": "media"}).raise_for_status()
    assert send(client, inst, text="texto passa").status_code == 200
    media = {"number": CUSTOMER, "type": "document", "file": "https://sgp.example.invalid/boleto/1.pdf",
             "docName": "boleto.pdf"}
    assert client.post("/send/media", headers={"token": inst["token"]}, json=media).status_code == 400
    assert client.post("/send/media", headers={"token": inst["token"]}, json=media).status_code == 200
    assert [m["kind"] for m in client.get("/sandbox/messages").json()] == ["text", "document"]


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_an_attendant_typing_on_the_phone_posts_a_from_me_message_no_api_sent(client, receiver, provider):
    inst = new_instance(client, provider)
    register(client, receiver, inst)
    answer = client.post("/sandbox/phone-reply", json={"instance": inst["name"], "to": CUSTOMER,
                                                        "text": "Oi, aqui é a Ana"})
    assert answer.status_code == 200, answer.text
    [posted] = receiver.bodies(inst["path"])
    assert posted == answer.json()["payload"]
    if provider == "uazapi":
        captured = fixture("uazapi/user-chat__from-me__text.sent.event.json")
        message = posted["message"]
        assert message.keys() == captured["message"].keys()
        assert (message["fromMe"], message["wasSentByApi"], message["track_id"]) == (True, False, "")
        assert message["messageid"].startswith("AC") and message["text"] == "Oi, aqui é a Ana"
    else:
        key = posted["data"]["key"]
        assert key["fromMe"] is True and key["remoteJid"] == f"{CUSTOMER}@s.whatsapp.net"
        assert posted["data"]["message"] == {"conversation": "Oi, aqui é a Ana"}
        assert key["id"] not in {m["id"] for m in client.get("/sandbox/messages").json() if m["origin"] == "api"}
    [listed] = client.get("/sandbox/messages").json()
    assert listed["origin"] == "phone" and listed["id"] == answer.json()["id"]
    missing = client.post("/sandbox/phone-reply", json={"instance": "ghost", "to": CUSTOMER, "text": "x"})
    assert missing.status_code == 404


def test_inbound_text_kind_still_needs_text(client, receiver):
    inst = new_instance(client, "uazapi")
    register(client, receiver, inst)
    response = client.post("/sandbox/inbound", json={"instance": inst["name"], "from": CUSTOMER})
    assert response.status_code == 422 and "text" in response.text
