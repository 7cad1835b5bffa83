"""WhatsApp beyond text, end to end through real processes: the WhatsApp sandbox posts voice notes, photos,
documents and an attendant's phone replies as provider webhooks; the API stores them; a `niochat worker` process
downloads, transcribes (the real `openai` client against the fake OpenAI-compatible server), answers, and sends
texts, the PIX QR code image and the boleto PDF back through the sandbox."""

import base64
import io
import json
import time
from contextlib import ExitStack

import httpx
import pytest
import zxingcpp
from PIL import Image
from prometheus_client import CollectorRegistry, multiprocess
from sqlalchemy import select, text

from api.brain import replies
from api.security import issue_token
from niochat import accounts
from niochat.secrets import Keyring
from niochat.tables import contacts, conversations, messages, teams
from sandbox.sgp import create_app as create_sgp
from tests.support.basics import SGP_DATASET, TEST_SECRET
from tests.support.fake_openai import create_app as create_fake_openai
from tests.support.servers import serving
from tests.support.stack import configure_model, configure_sgp, start_stack

DATASET = SGP_DATASET
INVOICE = json.loads(DATASET.read_text())["clientes"][0]["contratos"][0]["faturas"][0]
PIX = INVOICE["codigopix"]
MARIA = "5511912340001"  # registered phone of 529.982.247-25 in the dataset


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_url, redis_url, engine):
    dataset = json.loads(DATASET.read_text())
    metrics_dir = tmp_path_factory.mktemp("media-metrics")
    with ExitStack() as exits:
        sgp_url = exits.enter_context(serving(create_sgp(dataset_path=DATASET)))
        model_url = exits.enter_context(serving(create_fake_openai()))
        stacks = {}
        for brain in ("rules", "openai"):
            stack = start_stack(exits, tmp_path=tmp_path_factory.mktemp(f"media-{brain}"), database_url=database_url,
                                redis_url=redis_url, engine=engine, sweep_interval_seconds=1)
            configure_sgp(engine, stack.tenant_id, sgp_url, dataset["app"], dataset["token"])
            if brain == "openai":
                configure_model(engine, stack.tenant_id, f"{model_url}/v1")
            stacks[brain] = stack
        # one worker serves every tenant of the queue
        stacks["rules"].env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        stacks["rules"].start_worker()
        yield {"model": model_url, "metrics": metrics_dir, **stacks}


@pytest.fixture(autouse=True)
def fresh_fakes(world):
    httpx.post(f"{world['model']}/fake/mode", json={"mode": "normal"}).raise_for_status()
    for brain in ("rules", "openai"):
        httpx.delete(f"{world[brain].sandbox_url}/sandbox/faults").raise_for_status()


def _phone(seed: int) -> str:
    return f"55119{seed:08d}"


def _wait(condition, timeout: float = 90, message: str = ""):  # a deadline for a loaded machine
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, message or "condition not met in time"
        time.sleep(0.1)
    return found


def _conversation(engine, tenant_id, phone):
    with engine.connect() as conn:
        return conn.execute(
            select(conversations).join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone == phone, conversations.c.tenant_id == tenant_id)
            .order_by(conversations.c.created_at.desc())
        ).first()


def _rows(engine, conversation_id):
    with engine.connect() as conn:
        return conn.execute(
            select(messages).where(messages.c.conversation_id == conversation_id).order_by(messages.c.created_at)
        ).all()


def _settled(stack, phone: str, quiet: float = 1.0, timeout: float = 25) -> list[dict]:
    """What the customer has received once the answers stop arriving."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        sent = stack.sent_to(phone)
        if len(sent) != seen:
            seen, since = len(sent), time.monotonic()
        elif seen > 0 and time.monotonic() - since > quiet:
            return sent
        time.sleep(0.1)
    return stack.sent_to(phone)


def _decode_qr(message: dict) -> str:
    image = Image.open(io.BytesIO(base64.b64decode(message["file"])))
    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code in the image"
    return found[0].text


def _as_admin(engine, stack) -> dict:
    """Headers of a fresh admin of the stack's tenant (the REST API agents use)."""
    with engine.begin() as conn:
        user_id = accounts.create_user(conn, stack.tenant_slug, f"admin-{time.monotonic_ns()}@media.test", "Admin",
                                    "senha-forte-123", "admin")
    return {"Authorization": f"Bearer {issue_token(Keyring(TEST_SECRET), user_id, stack.tenant_id, 10)}"}


def _listed_messages(engine, stack, conversation_id) -> list[dict]:
    response = httpx.get(f"{stack.api_url}/api/v1/conversations/{conversation_id}/messages",
                         headers=_as_admin(engine, stack), timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"] if isinstance(body, dict) else body


def _transcriptions(world) -> list[dict]:
    return httpx.get(f"{world['model']}/fake/transcriptions").json()


# ---------------------------------------------------------------------------------------------- voice notes


def test_a_voice_note_is_transcribed_and_its_words_get_the_invoice_with_a_decodable_qr(world, engine):
    stack = world["openai"]
    before = len(_transcriptions(world))
    said = "oi, quero a segunda via da fatura, meu cpf é 529.982.247-25"
    stack.customer_sends(MARIA, "audio", text=said)
    sent = _wait(lambda: [m for m in stack.sent_to(MARIA) if m["kind"] == "document"] and stack.sent_to(MARIA),
                 message="no boleto document was sent")
    kinds = [m["kind"] for m in sent]
    texts = [m["text"] for m in sent]
    pix_at = texts.index(replies.pix(PIX))
    assert kinds[pix_at + 1] == "image", "the QR code follows the PIX copy-paste text"
    qr = sent[pix_at + 1]
    assert qr["mimetype"] == "image/png" and qr["caption"] == replies.PIX_QR_CAPTION
    assert _decode_qr(qr) == PIX
    boleto = next(m for m in sent if m["kind"] == "document")
    assert boleto["file"] == INVOICE["link"] and boleto["mimetype"] == "application/pdf"
    assert boleto["file_name"] == f"boleto-{INVOICE['fatura']}.pdf"

    conv = _conversation(engine, stack.tenant_id, MARIA)
    voice = next(row for row in _rows(engine, conv.id) if row.direction == "inbound")
    assert (voice.content_type, voice.transcript, voice.status) == ("audio", said, "processed")
    assert voice.media_seconds and voice.media_size and voice.error is None
    heard = _transcriptions(world)[before:]
    assert [(h["model"], h["language"], h["filename"]) for h in heard] == [("whisper-1", "pt", "voice-note.ogg")]
    assert heard[0]["authorization"] == "Bearer sk-test-key"
    # the outbound image and document are recorded like texts: sent once, with the provider's id
    media_rows = [row for row in _rows(engine, conv.id) if row.content_type in ("image", "document")]
    assert [row.content_type for row in media_rows] == ["image", "document"]
    assert all(row.status in ("sent", "delivered") and row.provider_message_id for row in media_rows)


def test_without_a_model_the_customer_is_asked_to_write_and_the_audio_is_kept(world, engine):
    stack = world["rules"]
    phone = _phone(20000001)
    stack.customer_sends(phone, "audio", provider="evolution", text="minha internet caiu")
    sent = _settled(stack, phone)
    assert len(sent) == 1 and replies.AUDIO_NO_MODEL in sent[0]["text"], sent
    conv = _conversation(engine, stack.tenant_id, phone)
    [voice] = _rows(engine, conv.id)[:1]
    assert (voice.content_type, voice.transcript, voice.status) == ("audio", None, "processed")
    items = _listed_messages(engine, stack, conv.id)
    assert items[0]["content_type"] == "audio" and items[0]["media_mime"].startswith("audio/ogg")


def test_a_voice_note_over_the_limit_is_not_downloaded_and_gets_a_clear_reply(world, engine):
    stack = world["openai"]
    phone = _phone(20000002)
    before = len(_transcriptions(world))
    stack.customer_sends(phone, "audio", text="uma longa história", seconds=900)
    sent = _settled(stack, phone)
    assert any("limite" in m["text"] and "5 minuto(s)" in m["text"] for m in sent), sent
    conv = _conversation(engine, stack.tenant_id, phone)
    voice = _rows(engine, conv.id)[0]
    assert voice.error == "transcription too_long" and voice.transcript is None
    assert len(_transcriptions(world)) == before


def test_a_failed_transcription_is_recorded_and_the_customer_asked_to_write(world, engine):
    stack = world["openai"]
    httpx.post(f"{world['model']}/fake/mode", json={"audio": "down"}).raise_for_status()
    phone = _phone(20000003)
    stack.customer_sends(phone, "audio", provider="evolution", text="quero falar do meu plano")
    sent = _settled(stack, phone)
    assert [m["text"] for m in sent][-1].endswith(replies.AUDIO_NOT_UNDERSTOOD), sent
    conv = _conversation(engine, stack.tenant_id, phone)
    voice = _rows(engine, conv.id)[0]
    assert voice.error.startswith("transcription failed") and voice.transcript is None

    def failures() -> float:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(world["metrics"]))
        return registry.get_sample_value("niochat_transcriptions_total", {"result": "failed"}) or 0

    assert _wait(failures, timeout=10) >= 1


# ---------------------------------------------------------------------------------------------- photos, files


def test_a_payment_receipt_goes_to_the_financial_team(world, engine):
    stack = world["rules"]
    phone = _phone(20000004)
    stack.customer_sends(phone, "document", file_name="Comprovante_PIX_novembro.pdf")
    sent = _settled(stack, phone)
    assert sent[0]["text"].endswith(replies.RECEIPT_RECEIVED) and "fila" in sent[-1]["text"], sent
    conv = _conversation(engine, stack.tenant_id, phone)
    with engine.connect() as conn:
        team = conn.scalar(select(teams.c.slug).where(teams.c.id == conv.team_id))
    assert (conv.status, conv.handoff_reason, team) == ("waiting", "payment_receipt", "financeiro")
    received = _rows(engine, conv.id)[0]
    assert (received.content_type, received.media_file_name) == ("document", "Comprovante_PIX_novembro.pdf")


def test_a_customer_who_says_they_paid_is_asked_for_the_receipt_and_it_then_goes_to_the_financial_team(world,
                                                                                                        engine):
    stack = world["rules"]
    phone = _phone(20000006)
    stack.customer_writes(phone, "já paguei, vou mandar o comprovante")
    sent = _settled(stack, phone)
    assert len(sent) == 1 and sent[0]["text"].endswith(replies.PAYMENT_NOTICE), sent
    conv = _conversation(engine, stack.tenant_id, phone)
    assert conv.status == "bot"
    [said] = _rows(engine, conv.id)[:1]
    assert (said.text, said.intent) == ("já paguei, vou mandar o comprovante", "payment_notice")

    # a turn of its own, a photo with no caption: only the announcement says it is the receipt
    stack.customer_sends(phone, "image")
    _wait(lambda: len(stack.sent_to(phone)) > 1, message="the receipt got no answer")
    later = _settled(stack, phone)[1:]
    assert later[0]["text"] == replies.RECEIPT_RECEIVED and "fila" in later[-1]["text"], later
    conv = _conversation(engine, stack.tenant_id, phone)
    with engine.connect() as conn:
        team = conn.scalar(select(teams.c.slug).where(teams.c.id == conv.team_id))
    assert (conv.status, conv.handoff_reason, team) == ("waiting", "payment_receipt", "financeiro")
    inbound = [row for row in _rows(engine, conv.id) if row.direction == "inbound"]
    assert [(row.content_type, row.intent) for row in inbound] == [("text", "payment_notice"), ("image", None)]


def test_a_photo_of_the_router_goes_to_support(world, engine):
    stack = world["rules"]
    phone = _phone(20000005)
    stack.customer_sends(phone, "image", provider="evolution", caption="a luz do roteador está vermelha")
    sent = _settled(stack, phone)
    assert replies.media_received("image") in sent[0]["text"], sent
    conv = _conversation(engine, stack.tenant_id, phone)
    with engine.connect() as conn:
        team = conn.scalar(select(teams.c.slug).where(teams.c.id == conv.team_id))
    assert (conv.status, conv.handoff_reason, team) == ("waiting", "customer_media", "suporte")


# ---------------------------------------------------------------------------------------------- invoices


def test_evolution_invoice_reply_carries_the_qr_image_and_the_boleto_pdf(world, engine):
    stack = world["rules"]
    instance = stack.instances["evolution"]

    def on_this_channel() -> list[dict]:
        return [m for m in stack.sent_to(MARIA) if m["instance"] == instance]

    stack.customer_writes(MARIA, "segunda via", provider="evolution")
    _wait(lambda: any("CPF" in m["text"] for m in on_this_channel()))
    stack.customer_writes(MARIA, "52998224725", provider="evolution")
    sent = _wait(lambda: any(m["kind"] == "document" for m in on_this_channel()) and on_this_channel())
    images = [m for m in sent if m["kind"] == "image"]
    assert len(images) == 1 and _decode_qr(images[0]) == PIX
    assert [m["kind"] for m in sent][-3:] == ["image", "text", "document"]  # QR, boleto line, boleto PDF


def test_a_refused_media_send_is_replaced_by_its_text(world, engine):
    stack = world["rules"]
    phone, instance = MARIA, stack.instances["uazapi"]  # the Evolution test talks to Maria on the other channel
    httpx.post(f"{stack.sandbox_url}/sandbox/faults",
               json={"count": 1, "status": 400, "sends": "media", "instance": instance}).raise_for_status()
    stack.customer_writes(phone, "quero a segunda via do boleto, cpf 529.982.247-25")

    def on_this_channel() -> list[dict]:
        return [m for m in stack.sent_to(phone) if m["instance"] == instance]

    sent = _wait(lambda: any(m["kind"] == "document" for m in on_this_channel()) and on_this_channel())
    texts = [m["text"] for m in sent]
    assert replies.PIX_QR_FALLBACK in texts and texts.index(replies.PIX_QR_FALLBACK) == texts.index(
        replies.pix(PIX)) + 1, "the fallback takes the QR code's place"
    assert not any(m["kind"] == "image" for m in sent)
    conv = _conversation(engine, stack.tenant_id, phone)
    fallen = next(row for row in _rows(engine, conv.id) if row.text == replies.PIX_QR_FALLBACK)
    assert fallen.content_type == "text" and fallen.status in ("sent", "delivered")
    # what was meant to go out stays on the row: the QR image the provider refused
    assert fallen.media_url.startswith("data:image/png;base64,") and fallen.fallback_text == fallen.text


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_a_media_send_of_unknown_outcome_is_confirmed_with_the_provider_not_repeated(world, engine, provider):
    """The QR image goes out but the provider's answer is lost (and no echo comes): the retry asks the provider
    (Uazapi by our track_id, Evolution by the caption) and does not send the image again."""
    stack = world["rules"]
    instance = stack.instances[provider]
    httpx.post(f"{stack.sandbox_url}/sandbox/config", json={"echo": False}).raise_for_status()
    httpx.post(f"{stack.sandbox_url}/sandbox/faults", json={
        "count": 1, "mode": "accept_timeout", "seconds": 12, "sends": "media", "instance": instance,
    }).raise_for_status()
    try:
        before = len([m for m in stack.sent_to(MARIA) if m["instance"] == instance])
        stack.customer_writes(MARIA, "quero a segunda via, cpf 529.982.247-25", provider=provider)

        def this_round() -> list[dict]:
            return [m for m in stack.sent_to(MARIA) if m["instance"] == instance][before:]

        sent = _wait(lambda: any(m["kind"] == "document" for m in this_round()) and this_round(), timeout=45)
    finally:
        httpx.post(f"{stack.sandbox_url}/sandbox/config", json={"echo": True}).raise_for_status()
    images = [m for m in sent if m["kind"] == "image"]
    assert len(images) == 1 and _decode_qr(images[0]) == PIX
    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.provider_message_id == images[0]["id"])).one()
    assert row.content_type == "image" and row.status in ("sent", "delivered") and row.attempts == 1


# ---------------------------------------------------------------------------------------------- phone attendants


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_an_attendant_on_the_phone_pauses_the_bot_and_own_echoes_are_not_people(world, engine, provider):
    stack = world["rules"]
    phone = _phone(20000010 + len(provider))
    stack.customer_writes(phone, "oi, boa tarde", provider=provider)
    greeting = _settled(stack, phone)
    assert len(greeting) == 1
    conv = _conversation(engine, stack.tenant_id, phone)
    assert [row.sender_kind for row in _rows(engine, conv.id)] == ["customer", "bot"]

    stack.attendant_types(phone, "Oi! Aqui é a Ana, do suporte. Já vou ver seu caso.", provider=provider)
    conv = _wait(lambda: (c := _conversation(engine, stack.tenant_id, phone)).status == "open" and c)
    assert conv.phone_agent_at is not None and conv.assignee_id is None and conv.first_human_reply_at is not None
    items = _listed_messages(engine, stack, conv.id)
    agent = [m for m in items if m["sender_kind"] == "agent"]
    assert [(m["direction"], m["sender_user_id"], m["text"]) for m in agent] == [
        ("outbound", None, "Oi! Aqui é a Ana, do suporte. Já vou ver seu caso.")]
    assert [m["sender_kind"] for m in items].count("bot") == 1, "the bot's own echo is not a person"

    stack.customer_writes(phone, "quero a segunda via", provider=provider)
    time.sleep(2.0)  # a wrong bot answer would show up
    assert len(stack.sent_to(phone)) == 2, "the bot stays quiet while the attendant has the chat"
    assert {row.status for row in _rows(engine, conv.id) if row.direction == "inbound"} == {"processed"}


def test_the_bot_takes_the_chat_back_after_the_attendant_goes_silent(world, engine):
    stack = world["rules"]
    phone = _phone(20000020)
    with engine.begin() as conn:  # about a second of silence
        conn.execute(text("""update tenants set settings = settings || '{"phone_handback_minutes": 0.02}'::jsonb
                             where id = :id"""), {"id": stack.tenant_id})
    try:
        stack.attendant_types(phone, "Bom dia! Passando para avisar da manutenção de hoje.")
        conv = _wait(lambda: _conversation(engine, stack.tenant_id, phone))
        assert conv.status == "open" and conv.handoff_reason == "agent_on_phone"
        _wait(lambda: _conversation(engine, stack.tenant_id, phone).status == "bot", timeout=20,
              message="the sweeper did not hand the conversation back")
        stack.customer_writes(phone, "oi")
        sent = _wait(lambda: [m for m in stack.sent_to(phone) if m["origin"] == "api"])
        assert "assistente virtual" in sent[0]["text"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("update tenants set settings = settings - 'phone_handback_minutes' where id = :id"),
                         {"id": stack.tenant_id})


def test_closing_ends_the_attendants_hold(world, engine):
    stack = world["rules"]
    phone = _phone(20000021)
    stack.attendant_types(phone, "Olá, tudo bem?", provider="evolution")
    conv = _wait(lambda: _conversation(engine, stack.tenant_id, phone))
    assert conv.phone_agent_at is not None
    response = httpx.post(f"{stack.api_url}/api/v1/conversations/{conv.id}/close", headers=_as_admin(engine, stack),
                          json={"reason": "resolvido"}, timeout=10)
    assert response.status_code == 200, response.text
    closed = _conversation(engine, stack.tenant_id, phone)
    assert closed.status == "closed" and closed.phone_agent_at is None
