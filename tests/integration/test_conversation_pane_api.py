"""The conversation pane's API (issue #18) on real PostgreSQL, Redis and HTTP servers: a reply refused (outside
WhatsApp's 24-hour window, taken by another agent, closed) sends nothing; a failed send retried through the real
delivery job against the WhatsApp sandbox goes out exactly once; a conversation's system events, in order and
scoped like the conversation."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from sqlalchemy import insert, select, update

from api.engine.delivery import send_message
from api.engine.deps import WorkerDeps
from api.engine.handoff import BOT, to_queue
from niochat import accounts
from niochat.database import async_engine, tenant_transaction
from niochat.egress import guarded_client
from niochat.redis import QUEUE_NAME, async_redis
from niochat.settings import Settings
from niochat.tables import audit_log, contacts, conversations, csat_requests, csat_responses, messages
from sandbox.whatsapp import create_app as create_whatsapp_sandbox
from tests.support.basics import TEST_SECRET
from tests.support.desk import KEYRING, Desk, add_conversation
from tests.support.servers import serving

WINDOW_REFUSAL = "Esta conversa está fora da janela de 24 horas do WhatsApp"


def _outbound(engine, conversation_id) -> list:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.conversation_id == conversation_id,
                                                   messages.c.direction == "outbound")).all()


def _replies_audited(engine, conversation_id) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(audit_log.c.id).where(
            audit_log.c.action == "conversation.reply", audit_log.c.entity_id == str(conversation_id))).all())


def _queued_jobs(redis_url: str) -> int:
    with redis.Redis.from_url(redis_url) as client:
        return client.zcard(QUEUE_NAME)


# --- refusals: nothing sent ----------------------------------------------------------------------------------


def test_a_reply_outside_the_24_hour_window_is_refused_and_nothing_is_sent(desk, engine, redis_url):
    now = datetime.now(UTC)
    stale = add_conversation(engine, desk, "open", assignee="agent", team="suporte",
                             last_inbound_at=now - timedelta(hours=24, minutes=5))
    never = add_conversation(engine, desk, "waiting", team="suporte", last_inbound_at=None)
    jobs = _queued_jobs(redis_url)
    for conversation_id, body in ((stale, {"text": "Oi, ainda precisa de ajuda?"}),
                                  (stale, {"quick_reply": "segunda-via"}), (never, {"text": "Olá!"})):
        refused = desk.post("agent", f"/conversations/{conversation_id}/reply", body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"].startswith(WINDOW_REFUSAL)
        assert _outbound(engine, conversation_id) == [] and _replies_audited(engine, conversation_id) == 0
    assert _queued_jobs(redis_url) == jobs
    with engine.connect() as conn:  # the waiting conversation was not taken by the refused reply either
        assert conn.scalar(select(conversations.c.status).where(conversations.c.id == never)) == "waiting"

    fresh = add_conversation(engine, desk, "open", assignee="agent", team="suporte",
                             last_inbound_at=now - timedelta(hours=23, minutes=50))
    assert desk.post("agent", f"/conversations/{fresh}/reply", {"text": "Oi!"}).status_code == 201
    assert len(_outbound(engine, fresh)) == 1


def test_a_reply_to_a_conversation_taken_or_closed_meanwhile_says_so_and_sends_nothing(desk, engine):
    taken = add_conversation(engine, desk, "waiting", team="suporte", handoff_at=datetime.now(UTC))
    assert desk.post("manager", f"/conversations/{taken}/take").status_code == 200  # first, on another screen
    refused = desk.post("agent", f"/conversations/{taken}/reply", {"text": "Oi, sou o Agente"})
    assert refused.status_code == 409 and refused.json()["detail"] == "Esta conversa já está com Manager."
    assert _outbound(engine, taken) == []

    closed_by_other = add_conversation(engine, desk, "closed", assignee="manager", team="suporte",
                                       handoff_at=datetime.now(UTC))
    refused = desk.post("agent", f"/conversations/{closed_by_other}/reply", {"text": "Oi"})
    assert refused.status_code == 409 and "encerrada" in refused.json()["detail"]
    mine_closed = add_conversation(engine, desk, "closed", assignee="agent", team="suporte")
    refused = desk.post("agent", f"/conversations/{mine_closed}/reply", {"text": "Oi"})
    assert refused.status_code == 409 and refused.json()["detail"] == "conversation is closed; reopen it first"
    other_team = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro",
                                  handoff_at=datetime.now(UTC))
    assert desk.post("agent", f"/conversations/{other_team}/reply", {"text": "Oi"}).status_code == 404
    for conversation_id in (closed_by_other, mine_closed, other_team):
        assert _outbound(engine, conversation_id) == []


# --- a failed send, retried ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whatsapp():
    with serving(create_whatsapp_sandbox()) as url:
        yield url


def _sandbox_conversation(engine, desk: Desk, sandbox: str) -> tuple[uuid.UUID, str]:
    """A conversation of the agent's on a channel of the sandbox's, the customer having written just now."""
    instance, phone = f"pane-{secrets.token_hex(4)}", f"55119{secrets.randbelow(10**8):08d}"
    httpx.post(f"{sandbox}/sandbox/instances", json={"provider": "uazapi", "instance": instance, "token": "tok"}
               ).raise_for_status()
    with engine.begin() as conn:
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", desk.rows.slug, "uazapi",
                                          "Sandbox", sandbox, instance, "tok")
        contact_id = conn.execute(insert(contacts).values(tenant_id=desk.tenant_id, phone=phone, name="Cliente")
                                  .returning(contacts.c.id)).scalar_one()
        conversation_id = conn.execute(insert(conversations).values(
            tenant_id=desk.tenant_id, channel_id=channel.id, contact_id=contact_id, status="open",
            assignee_id=desk.people["agent"], team_id=desk.team_id, last_inbound_at=datetime.now(UTC),
        ).returning(conversations.c.id)).scalar_one()
    return conversation_id, phone


def _deliver(database_url: str, redis_url: str, sandbox: str, tenant_id, message_id) -> None:
    """The worker's delivery job, run once here, giving up after one failed try."""
    settings = Settings(secret_key=TEST_SECRET, _env_file=None, send_max_attempts=1,
                        egress_allow=sandbox.removeprefix("http://"))

    async def run() -> None:
        deps = WorkerDeps(settings=settings, engine=async_engine(database_url), redis=async_redis(redis_url),
                          arq=None, http=guarded_client(settings), keyring=KEYRING)
        try:
            await send_message({"deps": deps}, str(tenant_id), str(message_id))
        finally:
            await deps.http.aclose()
            await deps.redis.aclose()
            await deps.engine.dispose()

    asyncio.run(run())


def _status(engine, message_id) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(messages.c.status, messages.c.error).where(messages.c.id == message_id)).one()
    return row.status, row.error


def test_a_failed_send_is_retried_once_through_the_delivery_job(desk, engine, whatsapp, database_url, redis_url):
    conversation_id, phone = _sandbox_conversation(engine, desk, whatsapp)
    httpx.post(f"{whatsapp}/sandbox/faults", json={"count": 1, "status": 500}).raise_for_status()
    sent = desk.post("agent", f"/conversations/{conversation_id}/reply", {"text": "Segue o seu boleto."})
    assert sent.status_code == 201, sent.text
    message_id = sent.json()["id"]
    _deliver(database_url, redis_url, whatsapp, desk.tenant_id, message_id)
    status, error = _status(engine, message_id)
    assert status == "failed" and error
    assert httpx.get(f"{whatsapp}/sandbox/messages", params={"number": phone}).json() == []

    retry = f"/conversations/{conversation_id}/messages/{message_id}/retry"
    first, second = desk.post("agent", retry), desk.post("agent", retry)  # a double click
    assert first.status_code == 200 and first.json()["status"] == "queued", first.text
    assert second.status_code == 409 and "não está com falha" in second.json()["detail"]
    _deliver(database_url, redis_url, whatsapp, desk.tenant_id, message_id)
    _deliver(database_url, redis_url, whatsapp, desk.tenant_id, message_id)  # a duplicate job changes nothing
    assert _status(engine, message_id) == ("sent", None)
    delivered = httpx.get(f"{whatsapp}/sandbox/messages", params={"number": phone}).json()
    assert [m["text"] for m in delivered] == ["Segue o seu boleto."]
    assert desk.post("agent", retry).status_code == 409  # sent: nothing to retry

    with engine.begin() as conn:
        channel_id = conn.scalar(select(conversations.c.channel_id).where(conversations.c.id == conversation_id))
        inbound = conn.execute(insert(messages).values(
            tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=channel_id, direction="inbound",
            sender_kind="customer", text="oi", status="failed").returning(messages.c.id)).scalar_one()
    assert desk.post("agent", f"/conversations/{conversation_id}/messages/{inbound}/retry").status_code == 409
    elsewhere = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    assert desk.post("agent", f"/conversations/{elsewhere}/messages/{message_id}/retry").status_code == 404
    assert desk.post("agent2", retry).status_code == 404  # not theirs to see
    retried = [row for row in _audit(engine, desk, conversation_id) if row.action == "message.retry"]
    assert [row.details["message_id"] for row in retried] == [message_id]


def _audit(engine, desk: Desk, conversation_id) -> list:
    with engine.connect() as conn:
        return conn.execute(select(audit_log).where(audit_log.c.tenant_id == desk.tenant_id,
                                                    audit_log.c.entity_id == str(conversation_id))
                            .order_by(audit_log.c.created_at)).all()


# --- system events ---------------------------------------------------------------------------------------------


def _bot_hands_off(database_url: str, desk: Desk, conversation_id) -> None:
    async def run() -> None:
        engine = async_engine(database_url)
        try:
            async with tenant_transaction(engine, desk.tenant_id) as conn:
                await to_queue(conn, conversation_id, actor=BOT, reason="customer_request", team_id=desk.team_id)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_the_events_tell_the_conversations_story_in_order_to_whoever_may_see_it(desk, engine, database_url):
    conversation_id = add_conversation(engine, desk, "bot")
    path = f"/conversations/{conversation_id}"
    _bot_hands_off(database_url, desk, conversation_id)
    assert desk.post("agent", f"{path}/take").status_code == 200
    transfer = {"team_id": str(desk.other_team_id), "reason": "cliente quer negociar a dívida"}
    assert desk.post("agent", f"{path}/transfer", transfer).status_code == 200
    assert desk.get("agent", f"{path}/events").status_code == 404  # transferred away: out of the agent's sight
    assert desk.post("agent2", f"{path}/take").status_code == 200
    assert desk.post("agent2", f"{path}/close", {"reason": "resolvido"}).status_code == 200
    with engine.begin() as conn:  # the survey went out and the customer answered
        request_id = conn.execute(update(csat_requests).where(csat_requests.c.conversation_id == conversation_id)
                                  .values(status="answered", sent_at=datetime.now(UTC))
                                  .returning(csat_requests.c.id)).scalar_one()
        conn.execute(insert(csat_responses).values(tenant_id=desk.tenant_id, csat_request_id=request_id,
                                                   conversation_id=conversation_id, rating=4, comment="rápido"))
    assert desk.post("manager", f"{path}/reopen").status_code == 200
    assert desk.post("manager", f"{path}/handback").status_code == 200
    assert desk.post("manager", f"{path}/assign", {"user_id": str(desk.people["agent2"])}).status_code == 200

    events = desk.get("agent2", f"{path}/events")
    assert events.status_code == 200, events.text
    story = [(e["kind"], e["actor_name"], e["assignee_name"], e["team_name"], e["reason"], e["score"])
             for e in events.json()]
    assert story == [
        ("handoff", None, None, "Suporte", "customer_request", None),
        ("take", "Agente", "Agente", None, None, None),
        ("transfer", "Agente", None, "Financeiro", "cliente quer negociar a dívida", None),
        ("take", "Agent2", "Agent2", None, None, None),
        ("close", "Agent2", None, None, "resolvido", None),
        ("csat_asked", None, None, None, None, None),
        ("csat_answered", None, None, None, None, 4),
        ("reopen", "Manager", None, None, None, None),
        ("handback", "Manager", None, None, "agent", None),
        ("assign", "Manager", "Agent2", None, None, None),
    ], story
    assert events.json()[6]["comment"] == "rápido"
    times = [e["at"] for e in events.json()]
    assert times == sorted(times)
    assert desk.get("manager", f"{path}/events").json() == events.json()


def test_a_transfer_straight_to_an_agent_is_one_event_and_old_handoffs_come_from_the_conversation(desk, engine):
    handed = datetime.now(UTC) - timedelta(hours=1)
    old = add_conversation(engine, desk, "waiting", team="suporte", handoff_at=handed, handoff_reason="sgp_error")
    (event,) = desk.get("agent", f"/conversations/{old}/events").json()
    assert (event["kind"], event["reason"], event["team_name"], event["actor_kind"]) == (
        "handoff", "sgp_error", "Suporte", None)

    mine = add_conversation(engine, desk, "open", assignee="manager", team="suporte")
    assert desk.post("manager", f"/conversations/{mine}/transfer",
                     {"user_id": str(desk.people["agent"]), "reason": "ela conhece o caso"}).status_code == 200
    (event,) = desk.get("agent", f"/conversations/{mine}/events").json()
    assert (event["kind"], event["actor_name"], event["assignee_name"], event["reason"]) == (
        "transfer", "Manager", "Agente", "ela conhece o caso")
    assert desk.get("agent", f"/conversations/{uuid.uuid4()}/events").status_code == 404


# --- a file attached to a reply --------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%fim\n"


def _attachment(raw: bytes, mime: str, name: str = "comprovante.png") -> dict:
    return {"file_name": name, "mime": mime, "data": base64.b64encode(raw).decode()}


def test_an_image_or_pdf_attached_to_a_reply_goes_through_the_media_path(desk, engine):
    conv = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    path = f"/conversations/{conv}/reply"
    sent = desk.post("agent", path, {"text": "Segue o print", "attachment": _attachment(PNG, "image/png")})
    assert sent.status_code == 201, sent.text
    pdf = desk.post("agent", path, {"attachment": _attachment(PDF, "application/pdf", "contrato.pdf")})
    assert pdf.status_code == 201, pdf.text
    rows = sorted(_outbound(engine, conv), key=lambda row: row.created_at)
    assert [(r.content_type, r.text, r.media_mime, r.media_file_name, r.fallback_text, r.status) for r in rows] == [
        ("image", "Segue o print", "image/png", "comprovante.png", "Segue o print", "queued"),
        ("document", None, "application/pdf", "contrato.pdf", "", "queued")]
    assert rows[0].media_url == "data:image/png;base64," + base64.b64encode(PNG).decode()

    refused = {
        "not what it says": {"attachment": _attachment(PDF, "image/png")},
        "a type not allowed": {"attachment": _attachment(b"<svg onload=alert(1)>", "image/svg+xml", "x.svg")},
        "not base64": {"attachment": {"file_name": "a.png", "mime": "image/png", "data": "não é base64!"}},
        "too large": {"attachment": _attachment(b"%PDF-" + b"0" * 700_000, "application/pdf", "grande.pdf")},
        "a path for a name": {"attachment": _attachment(PNG, "image/png", "../../etc/passwd")},
        "with a quick reply": {"quick_reply": "segunda-via", "attachment": _attachment(PNG, "image/png")},
    }
    for why, body in refused.items():
        response = desk.post("agent", path, body)
        assert response.status_code == 422, (why, response.status_code, response.text[:300])
    assert len(_outbound(engine, conv)) == 2
    stale = add_conversation(engine, desk, "open", assignee="agent", team="suporte",
                             last_inbound_at=datetime.now(UTC) - timedelta(days=2))
    late = desk.post("agent", f"/conversations/{stale}/reply", {"attachment": _attachment(PNG, "image/png")})
    assert late.status_code == 409 and _outbound(engine, stale) == []
