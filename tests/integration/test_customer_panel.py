"""The customer panel beside the chat (issue #18): GET /conversations/{id}/customer and POST
/conversations/{id}/invoices/{invoice_id}/send through the real API over HTTP, the real SGP sandbox, and the
WhatsApp sandbox receiving what the real delivery job sends. The customer is bound by the bot's own Toolbox (a
registered phone), as a conversation with the bot leaves it."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from sqlalchemy import func, insert, select

from api.app import create_app
from api.engine.delivery import send_message
from api.engine.deps import WorkerDeps
from niochat import accounts
from niochat.database import async_engine
from niochat.egress import guarded_client
from niochat.settings import Settings
from niochat.tables import contacts, conversations, messages
from sandbox.whatsapp import create_app as create_whatsapp_sandbox
from tests.support.basics import TEST_SECRET
from tests.support.customer import bot_identifies, point_sgp_at
from tests.support.dashboard import form_token
from tests.support.desk import KEYRING, Desk, audit_rows
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving

MARIA = ("5511912340001", "529.982.247-25")  # contract 10269 (FIBRA 300MB, offline), invoice 64009
STRANGER = "5511944440001"


def loopback_settings(tmp_path_factory) -> Settings:
    """The sandboxes listen on loopback, which the egress guard refuses unless allowed."""
    return Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, egress_allow="127.0.0.1",
                    _env_file=None)


@pytest.fixture(scope="module")
def api(tmp_path_factory, urls):
    with serving(create_app(loopback_settings(tmp_path_factory), urls)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client


@pytest.fixture(scope="module")
def whatsapp():
    with serving(create_whatsapp_sandbox()) as url:
        yield url


@pytest.fixture
def panel_desk(desk: Desk, engine, sgp, sgp_url, whatsapp):
    """The desk's tenant with its SGP pointed at the sandbox and a channel on the WhatsApp sandbox."""
    instance = f"painel-{desk.rows.slug}"
    httpx.post(f"{whatsapp}/sandbox/instances", json={"provider": "uazapi", "instance": instance,
                                                      "token": f"tok-{instance}"}).raise_for_status()
    point_sgp_at(engine, desk.tenant_id, sgp_url)
    with engine.begin() as conn:
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", desk.rows.slug, "uazapi",
                                          "WhatsApp painel", whatsapp, instance, f"tok-{instance}")
    desk.channel_id = channel.id
    return desk


def new_conversation(engine, desk: Desk, phone: str, *, assignee: str = "agent") -> tuple[uuid.UUID, uuid.UUID]:
    with engine.begin() as conn:
        contact_id = conn.execute(insert(contacts).values(tenant_id=desk.tenant_id, phone=phone, name="Maria")
                                  .returning(contacts.c.id)).scalar_one()
        conversation_id = conn.execute(insert(conversations).values(
            tenant_id=desk.tenant_id, channel_id=desk.channel_id, contact_id=contact_id, status="open",
            assignee_id=desk.people[assignee]).returning(conversations.c.id)).scalar_one()
    return conversation_id, contact_id


def verified_conversation(engine, database_url, sgp_url, desk, *, ticket=False) -> uuid.UUID:
    conversation_id, contact_id = new_conversation(engine, desk, MARIA[0])
    bot_identifies(database_url, sgp_url, desk.tenant_id, conversation_id, contact_id, MARIA[0], MARIA[1],
                   ticket=ticket)
    return conversation_id


async def _deliver(database_url, redis_url, tenant_id, message_ids) -> None:
    """The worker's delivery job, as the queue would run it, for each message the route queued."""
    settings = Settings(secret_key=TEST_SECRET, egress_allow="127.0.0.1", _env_file=None)
    redis = aioredis.from_url(redis_url)
    deps = WorkerDeps(settings=settings, engine=async_engine(database_url, pool_size=2), redis=redis,
                      arq=ArqRedis(connection_pool=redis.connection_pool), http=guarded_client(settings),
                      keyring=KEYRING)
    try:
        for message_id in message_ids:
            await send_message({"deps": deps}, str(tenant_id), str(message_id))
    finally:
        await deps.http.aclose()
        await deps.engine.dispose()
        await redis.aclose()


def test_a_verified_customer_shows_contracts_invoices_connection_and_tickets(panel_desk, engine, database_url,
                                                                              sgp_url):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk, ticket=True)
    response = panel_desk.get("agent", f"/conversations/{conversation_id}/customer")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True and "error" not in body, body
    assert body["name"] == "MARIA DA SILVA"
    assert body["document"] == "***.982.247-**" and "529.982.247-25" not in response.text
    assert "52998224725" not in response.text
    [contract] = body["contracts"]
    assert contract["id"] == "10269" and contract["plan"] == "FIBRA 300MB" and contract["bound"] is True
    assert contract["situation"] == "ativo"
    assert contract["connection"]["status"] == "offline"
    [invoice] = body["invoices"]
    assert invoice["id"] == "64009" and invoice["contract_id"] == "10269" and invoice["amount"] == "99.90"
    assert invoice["status"] == "em_aberto" and invoice["has_pix"] and invoice["has_digitable_line"]
    [ticket] = body["tickets"]
    assert ticket["protocol"] and ticket["opened_at"]


def test_an_unverified_contact_gets_nothing_but_not_verified(panel_desk, engine, database_url, sgp_url, sgp):
    """Maria's CPF typed from a number that is not hers: the bot did not bind anyone, the panel shows nobody."""
    conversation_id, contact_id = new_conversation(engine, panel_desk, STRANGER)
    bot_identifies(database_url, sgp_url, panel_desk.tenant_id, conversation_id, contact_id, STRANGER, MARIA[1])
    sgp.delete("/sandbox/calls")
    response = panel_desk.get("agent", f"/conversations/{conversation_id}/customer")
    assert response.status_code == 200, response.text
    assert response.json() == {"verified": False}
    assert sgp.get("/sandbox/calls").json() == []  # not even asked
    sent = panel_desk.post("agent", f"/conversations/{conversation_id}/invoices/64009/send")
    assert sent.status_code == 409 and "não está verificado" in sent.json()["detail"]


def test_another_agents_conversation_is_not_found(panel_desk, engine, database_url, sgp_url):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk)
    response = panel_desk.get("agent2", f"/conversations/{conversation_id}/customer")
    assert response.status_code == 404
    assert "MARIA" not in response.text
    sent = panel_desk.post("agent2", f"/conversations/{conversation_id}/invoices/64009/send")
    assert sent.status_code == 404
    assert panel_desk.get("manager", f"/conversations/{conversation_id}/customer").json()["verified"] is True


@pytest.mark.parametrize("mode", ["error", "timeout"])
def test_the_sgp_down_or_slow_is_an_error_field_not_a_500(panel_desk, engine, database_url, sgp_url, sgp, mode):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk)
    sgp.post("/sandbox/faults", json={"count": 50, "mode": mode, "status": 503}).raise_for_status()
    try:
        response = panel_desk.get("agent", f"/conversations/{conversation_id}/customer")
        sent = panel_desk.post("agent", f"/conversations/{conversation_id}/invoices/64009/send")
    finally:
        sgp.post("/sandbox/reset").raise_for_status()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True and "SGP não respondeu" in body["error"]
    assert body["document"] == "***.982.247-**"
    assert sent.status_code == 502 and "SGP não respondeu" in sent.json()["detail"]


def test_send_again_sends_exactly_that_invoices_messages_as_the_agent(panel_desk, engine, database_url, sgp_url,
                                                                      redis_url, whatsapp):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk)
    unknown = panel_desk.post("agent", f"/conversations/{conversation_id}/invoices/99999/send")
    assert unknown.status_code == 404 and "Fatura não encontrada" in unknown.json()["detail"]
    response = panel_desk.post("agent", f"/conversations/{conversation_id}/invoices/64009/send")
    assert response.status_code == 201, response.text
    queued = response.json()
    assert {m["sender_kind"] for m in queued} == {"agent"}
    assert {m["sender_user_id"] for m in queued} == {str(panel_desk.people["agent"])}
    asyncio.run(_deliver(database_url, redis_url, panel_desk.tenant_id, [m["id"] for m in queued]))

    with engine.connect() as conn:
        stored = conn.execute(select(messages.c.status, messages.c.content_type).where(
            messages.c.conversation_id == conversation_id, messages.c.direction == "outbound")
            .order_by(messages.c.created_at)).all()
    assert [row.status for row in stored] == ["sent"] * len(queued)
    received = httpx.get(f"{whatsapp}/sandbox/messages", params={"number": MARIA[0],
                                                                "instance": f"painel-{panel_desk.rows.slug}"}).json()
    texts = [m["text"] for m in received if m["kind"] == "text"]
    assert texts[0].startswith("Aqui está sua fatura de *R$ 99,90*")
    assert texts[1].startswith("PIX copia e cola:\n00020101021226650014br.gov.bcb.pix")
    assert texts[2] == "Linha digitável do boleto:\n23793381280006400900000102059100000000000099900"
    assert len(texts) == 3
    assert [m["kind"] for m in received] == [row.content_type for row in stored]
    [entry] = audit_rows(engine, panel_desk, "conversation.invoice_resent")
    assert entry.entity_id == str(conversation_id)
    assert entry.details["invoice_id"] == "64009" and entry.details["document"] == "***.982.247-**"


# --- the panel in the workspace (the real Dash app, logged in, over HTTP to the API) -------------------------


@pytest.fixture(scope="module")
def dash(api, urls, tmp_path_factory):
    from dash_app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("dash"), secret_key=TEST_SECRET, _env_file=None,
                        workspace_api_url=str(api.base_url).rstrip("/"))
    return create_app(settings, urls)


@pytest.fixture
def agent_session(dash, panel_desk, redis_url):
    clear_login_limits(redis_url)
    client = dash.server.test_client()
    token = form_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": f"agent@{panel_desk.rows.slug}.test", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def _callback(dash, output_part: str):
    [(output, spec)] = [(key, spec) for key, spec in dash.callback_map.items()
                        if output_part in key and "callback" in spec]
    return output, spec


def _outputs(output: str) -> list[dict] | dict:
    parts = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]}
             for p in (output[2:-2].split("...") if output.startswith("..") else [output])]
    return parts if output.startswith("..") else parts[0]


def show_panel(client, dash, conversation_id, event: dict | None = None) -> str:
    """The panel's callback for the selected conversation (or a live event about it); its components as JSON
    text, "" when it did not redraw."""
    output, spec = _callback(dash, "ws-customer.children")
    values = {"ws-selected.data": str(conversation_id), "ws-event.data": event}
    inputs = [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec["inputs"]]
    response = client.post("/_dash-update-component", json={
        "output": output, "outputs": _outputs(output), "inputs": inputs, "state": [],
        "changedPropIds": ["ws-event.data" if event else "ws-selected.data"]})
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:800]
    return "" if response.status_code == 204 else json.dumps(response.get_json()["response"], ensure_ascii=False)


def press_send_again(client, dash, conversation_id, invoice_id: str) -> str:
    output, spec = _callback(dash, "ws-customer-feedback.children")
    button = {"invoice": invoice_id, "type": "ws-resend"}
    state = [{**item, "value": str(conversation_id) if item["id"] == "ws-selected" else 0} for item in spec["state"]]
    response = client.post("/_dash-update-component", json={
        "output": output, "outputs": _outputs(output),
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]], "state": state,
        "changedPropIds": [json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"]})
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return json.dumps(response.get_json()["response"], ensure_ascii=False)


def test_the_panel_shows_the_verified_customer_and_sends_an_invoice_again(agent_session, dash, panel_desk, engine,
                                                                          database_url, sgp_url):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk, ticket=True)
    shown = show_panel(agent_session, dash, conversation_id)
    for words in ("MARIA DA SILVA", "***.982.247-**", "Contrato 10269", "FIBRA 300MB", "Ativo", "Offline",
                  "R$ 99,90", "Enviar de novo", "Chamados desta conversa", "Faturas em aberto"):
        assert words in shown, words
    assert "529.982.247-25" not in shown
    answer = press_send_again(agent_session, dash, conversation_id, "64009")
    assert "Fatura enviada de novo ao cliente" in answer
    with engine.connect() as conn:
        sent = conn.scalar(select(func.count()).select_from(messages).where(
            messages.c.conversation_id == conversation_id, messages.c.sender_kind == "agent"))
    assert sent >= 3
    refused = press_send_again(agent_session, dash, conversation_id, "99999")
    assert "Fatura não encontrada entre as faturas em aberto" in refused


def test_the_panel_of_an_unverified_contact_says_not_verified(agent_session, dash, panel_desk, engine):
    conversation_id, _ = new_conversation(engine, panel_desk, STRANGER)
    shown = show_panel(agent_session, dash, conversation_id)
    assert "Não verificado" in shown and "MARIA" not in shown and "Enviar de novo" not in shown


def test_the_panel_says_when_the_sgp_is_down(agent_session, dash, panel_desk, engine, database_url, sgp_url, sgp):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk)
    sgp.post("/sandbox/faults", json={"count": 50, "mode": "error", "status": 503}).raise_for_status()
    try:
        shown = show_panel(agent_session, dash, conversation_id)
    finally:
        sgp.post("/sandbox/reset").raise_for_status()
    assert "O SGP não respondeu agora" in shown and "ws-customer-error" in shown


def test_the_panel_reloads_on_its_conversations_updates_only(agent_session, dash, panel_desk, engine, database_url,
                                                            sgp_url):
    conversation_id = verified_conversation(engine, database_url, sgp_url, panel_desk)
    about_it = {"type": "conversation.updated", "conversation_id": str(conversation_id)}
    assert "MARIA DA SILVA" in show_panel(agent_session, dash, conversation_id, about_it)
    elsewhere = {"type": "conversation.updated", "conversation_id": str(uuid.uuid4())}
    assert show_panel(agent_session, dash, conversation_id, elsewhere) == ""
    a_message = {"type": "message.created", "conversation_id": str(conversation_id)}
    assert show_panel(agent_session, dash, conversation_id, a_message) == ""  # the SGP is not asked for each one
