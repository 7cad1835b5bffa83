"""Field conformance: the shapes real Uazapi and Evolution servers send, through the whole path.

Each test makes the WhatsApp sandbox post a real provider shape (LID-only senders, `send.message` echoes, edits,
reactions, list replies, transient send refusals) to the API over HTTP; a worker process answers through the
sandbox; the test reads what the customer received (the sandbox) and what was stored (the database).
"""

from __future__ import annotations

import random
import time
from contextlib import ExitStack

import httpx
import pytest
from sqlalchemy import or_, select

from niochat.tables import audit_log, contacts, conversations, messages
from tests.support.stack import start_stack

PROVIDERS = ["uazapi", "evolution"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, database_url, redis_url, engine):
    with ExitStack() as exits:
        result = start_stack(exits, tmp_path=tmp_path_factory.mktemp("conformance"), database_url=database_url,
                             redis_url=redis_url, engine=engine)
        result.start_worker()
        yield result


@pytest.fixture(autouse=True)
def plain_sandbox(stack):
    """Every test starts from the sandbox's plain behaviour and sets the awkward rates it wants."""
    yield
    httpx.post(f"{stack.sandbox_url}/sandbox/config", json={
        "lid_only_rate": 0, "edit_rate": 0, "reaction_rate": 0, "transient_send_rate": 0}, timeout=10)
    httpx.delete(f"{stack.sandbox_url}/sandbox/faults", timeout=10)


def phone() -> str:
    return f"55119{random.randint(10_000_000, 99_999_999)}"


def contacts_of(engine, tenant_id, *, phone: str | None = None, lid: str | None = None) -> list:
    wanted = [column == value for column, value in ((contacts.c.phone, phone), (contacts.c.whatsapp_lid, lid))
              if value is not None]
    with engine.connect() as conn:
        return conn.execute(select(contacts).where(contacts.c.tenant_id == tenant_id, or_(*wanted))).all()


def messages_of(engine, contact_id) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(messages).join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(conversations.c.contact_id == contact_id).order_by(messages.c.created_at)
        ).all()


def wait_until(check, timeout: float = 20.0, message: str = "condition not met"):
    deadline = time.monotonic() + timeout
    while True:
        if (found := check()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.1)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_lid_only_customer_is_answered_at_the_lid_then_merged_with_the_phone(stack, engine, provider):
    number = phone()
    first = stack.customer_writes(number, "oi, boa tarde", provider=provider, lid_only=True)
    assert first["delivered"] is True and first["webhook_status"] == 200, first  # not the 422 that lost it
    replies = stack.wait_for_replies(number, 1)
    assert len(replies) == 1 and replies[0]["jid"].endswith("@lid"), replies  # the reply went to the LID
    lid = replies[0]["jid"]
    [lid_contact] = contacts_of(engine, stack.tenant_id, lid=lid)
    assert lid_contact.phone is None and lid_contact.whatsapp_lid == lid

    # A later message reveals the number (sender_pn / remoteJidAlt): one contact, one conversation.
    stack.customer_writes(number, "quero a segunda via", provider=provider, lid=True, lid_only=False)
    stack.wait_for_replies(number, 2)
    [merged] = contacts_of(engine, stack.tenant_id, phone=number, lid=lid)
    assert (merged.phone, merged.whatsapp_lid) == (number, lid)
    rows = messages_of(engine, merged.id)
    assert len({row.conversation_id for row in rows}) == 1, "the conversation was split"
    assert [row.text for row in rows if row.direction == "inbound"] == ["oi, boa tarde", "quero a segunda via"]


def test_lid_only_contact_and_existing_phone_contact_are_merged_without_splitting(stack, engine):
    """A customer known by phone writes by LID alone (a new contact, a second open conversation); the next
    message pairs the two: everything ends in the phone's contact and in one open conversation."""
    number = phone()
    stack.customer_writes(number, "oi", provider="evolution")
    stack.wait_for_replies(number, 1)
    stack.customer_writes(number, "minha internet caiu", provider="evolution", lid_only=True)
    stack.wait_for_replies(number, 2)
    assert len(contacts_of(engine, stack.tenant_id, phone=number)) == 1
    stack.customer_writes(number, "ainda estou sem internet", provider="evolution", lid=True)
    stack.wait_for_replies(number, 3)
    [contact] = wait_until(lambda: (found := contacts_of(engine, stack.tenant_id, phone=number))
                           and found[0].whatsapp_lid and found)
    lid = contact.whatsapp_lid
    assert contacts_of(engine, stack.tenant_id, lid=lid) == [contact]
    rows = messages_of(engine, contact.id)
    with engine.connect() as conn:
        open_ones = conn.execute(select(conversations.c.id).where(conversations.c.contact_id == contact.id,
                                                                  conversations.c.status != "closed")).all()
        merged = conn.execute(select(audit_log).where(audit_log.c.action == "contact.merged",
                                                      audit_log.c.entity_id == str(contact.id))).all()
    assert len(open_ones) == 1 and len({row.conversation_id for row in rows}) == 1
    assert len([row for row in rows if row.direction == "inbound"]) == 3
    assert len(merged) == 1 and merged[0].details["reason"] == "whatsapp_lid_revealed"


def test_evolution_contacts_update_pairing_lid_and_phone_merges(stack, engine):
    number = phone()
    stack.customer_writes(number, "oi", provider="evolution", lid_only=True)
    [reply] = stack.wait_for_replies(number, 1)
    lid = reply["jid"]
    [channel_url] = [i["webhook_url"] for i in httpx.get(f"{stack.sandbox_url}/sandbox/instances").json()
                     if i["instance"] == stack.instances["evolution"]]
    token = next(i["token"] for i in httpx.get(f"{stack.sandbox_url}/sandbox/instances").json()
                 if i["instance"] == stack.instances["evolution"])
    update = {"event": "contacts.update", "instance": stack.instances["evolution"], "apikey": token,
              "data": [{"remoteJid": lid, "remoteJidAlt": f"{number}@s.whatsapp.net", "pushName": "Ana",
                        "profilePicUrl": None, "instanceId": "x"}],
              "date_time": "2026-12-03T10:00:00.000Z", "sender": "5511987650000@s.whatsapp.net",
              "server_url": stack.sandbox_url, "destination": channel_url}
    answer = httpx.post(channel_url, json=update, timeout=10)
    assert answer.status_code == 200 and answer.json()["results"] == ["contact:phone_added"], answer.text
    [contact] = contacts_of(engine, stack.tenant_id, phone=number)
    assert contact.whatsapp_lid == lid


def test_evolution_send_message_echo_confirms_without_a_phone_attendant(stack, engine):
    """Evolution reports our sends as `send.message`: it must confirm the send and never look like a person
    typing on the phone (which would pause the bot)."""
    number = phone()
    stack.customer_writes(number, "oi", provider="evolution")
    stack.wait_for_replies(number, 1)
    deliveries = wait_until(lambda: [d for d in httpx.get(f"{stack.sandbox_url}/sandbox/deliveries").json()
                                     if d["event"] == "send.message" and d["delivered"]])
    assert deliveries, "the sandbox posts send.message for our sends"
    [contact] = contacts_of(engine, stack.tenant_id, phone=number)
    rows = wait_until(lambda: (found := messages_of(engine, contact.id))
                      and all(r.status in ("sent", "delivered", "processed") for r in found) and found)
    assert [row.sender_kind for row in rows] == ["customer", "bot"]
    with engine.connect() as conn:
        status = conn.execute(select(conversations.c.status).where(conversations.c.contact_id == contact.id)).scalar()
    assert status == "bot"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_edit_replaces_the_text_and_is_not_answered_again(stack, engine, provider):
    number = phone()
    answer = stack.customer_writes(number, "oi, quero a segunda via", provider=provider, edit=True)
    assert answer["edit"]["webhook_status"] == 200, answer
    sent = stack.wait_for_replies(number, 1)
    [contact] = contacts_of(engine, stack.tenant_id, phone=number)
    inbound = wait_until(lambda: [r for r in messages_of(engine, contact.id)
                                  if r.direction == "inbound" and r.edited_at is not None])
    assert [row.text for row in inbound] == ["oi, quero a segunda via"]
    assert len([r for r in messages_of(engine, contact.id) if r.direction == "inbound"]) == 1
    time.sleep(1.0)  # a wrong second answer would show up by now
    assert len(stack.sent_to(number)) == len(sent)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reaction_is_stored_and_not_answered(stack, engine, provider):
    httpx.post(f"{stack.sandbox_url}/sandbox/config", json={"reaction_rate": 1}, timeout=10)
    number = phone()
    stack.customer_writes(number, "oi", provider=provider)
    stack.wait_for_replies(number, 1)
    [contact] = contacts_of(engine, stack.tenant_id, phone=number)
    [reaction] = wait_until(lambda: [r for r in messages_of(engine, contact.id) if r.content_type == "reaction"])
    assert (reaction.status, reaction.error, reaction.text) == ("ignored", "reaction", "👍")
    assert reaction.quoted_provider_id  # which of our messages it reacts to
    time.sleep(1.0)
    assert len(stack.sent_to(number)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_list_reply_is_read_by_its_row_id(stack, engine, provider):
    """The row's title says nothing the bot understands; its id names our menu option."""
    number = phone()
    stack.customer_writes(number, "Opção escolhida", provider=provider, kind="list_reply", choice_id="second_copy")
    [reply] = stack.wait_for_replies(number, 1)
    assert "fatura" in reply["text"] and "CPF" in reply["text"], reply["text"]
    [contact] = contacts_of(engine, stack.tenant_id, phone=number)
    [inbound] = [r for r in messages_of(engine, contact.id) if r.direction == "inbound"]
    assert (inbound.choice_id, inbound.text) == ("second_copy", "Opção escolhida")


def test_transient_send_refusals_are_retried(stack, engine):
    httpx.post(f"{stack.sandbox_url}/sandbox/faults", json={"count": 2, "mode": "transient",
                                                             "instance": stack.instances["evolution"]}, timeout=10)
    number = phone()
    stack.customer_writes(number, "oi", provider="evolution")
    [reply] = stack.wait_for_replies(number, 1)
    [contact] = contacts_of(engine, stack.tenant_id, phone=number)
    [outbound] = wait_until(lambda: [r for r in messages_of(engine, contact.id)
                                     if r.direction == "outbound" and r.status in ("sent", "delivered")])
    assert outbound.attempts == 3 and outbound.provider_message_id == reply["id"]


def test_number_not_on_whatsapp_fails_at_once_with_its_reason(stack, engine):
    httpx.post(f"{stack.sandbox_url}/sandbox/faults", json={"count": 1, "mode": "not_on_whatsapp",
                                                             "instance": stack.instances["evolution"]}, timeout=10)
    number = phone()
    stack.customer_writes(number, "oi", provider="evolution")
    [contact] = wait_until(lambda: contacts_of(engine, stack.tenant_id, phone=number))
    [failed] = wait_until(lambda: [r for r in messages_of(engine, contact.id) if r.status == "failed"])
    assert failed.attempts == 1 and failed.error.startswith("number_not_on_whatsapp"), failed.error
    assert stack.sent_to(number) == []


def test_document_riding_inline_past_the_body_cap_is_kept_and_answered(stack, engine):
    """Evolution's webhookBase64 puts the customer's file in the body: a 2 MB PDF makes a ~2.7 MB webhook. It is
    stored (without the inline copy) and handed on like any document, not refused with a 413 that loses it."""
    instance = stack.instances["evolution"]
    hooks = httpx.get(f"{stack.sandbox_url}/webhook/find/{instance}", headers={"apikey": _token(stack, instance)})
    url = hooks.json()["url"]
    set_hook = httpx.post(f"{stack.sandbox_url}/webhook/set/{instance}", headers={"apikey": _token(stack, instance)},
                          json={"webhook": {"enabled": True, "url": url, "base64": True, "byEvents": False,
                                            "events": hooks.json()["events"]}}, timeout=10)
    assert set_hook.status_code == 201, set_hook.text
    try:
        number = phone()
        answer = httpx.post(f"{stack.sandbox_url}/sandbox/inbound", json={
            "instance": instance, "from": number, "name": "Cliente Teste", "kind": "document",
            "file_name": "contrato.pdf", "caption": "segue o contrato assinado", "size_kb": 2048}, timeout=30).json()
        assert len(answer["payload"]["data"]["message"]["base64"]) > 2_000_000
        assert answer["webhook_status"] == 200, answer
        [contact] = wait_until(lambda: contacts_of(engine, stack.tenant_id, phone=number))
        [document] = [r for r in messages_of(engine, contact.id) if r.direction == "inbound"]
        assert (document.content_type, document.text, document.media_file_name) == (
            "document", "segue o contrato assinado", "contrato.pdf")
        stack.wait_for_replies(number, 1)  # a person takes documents: the customer is told so
    finally:
        httpx.post(f"{stack.sandbox_url}/webhook/set/{instance}", headers={"apikey": _token(stack, instance)},
                   json={"webhook": {"enabled": True, "url": url, "base64": False, "byEvents": False,
                                     "events": hooks.json()["events"]}}, timeout=10)


def _token(stack, instance: str) -> str:
    return next(i["token"] for i in httpx.get(f"{stack.sandbox_url}/sandbox/instances").json()
                if i["instance"] == instance)
