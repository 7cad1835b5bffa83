"""LGPD requests about one person (niochat/privacy.py): `niochat privacy export|erase` as a real command and
`/api/v1/privacy` over HTTP with real logins, on the session's PostgreSQL, with the person's history started
through the real webhook route. Tenant isolation: another tenant holding the same phone and the same CPF is
never exported nor touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update
from typer.testing import CliRunner

from api.app import create_app
from cli import app as cli_app
from niochat import accounts, privacy
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import (
    audit_log,
    contacts,
    conversation_notes,
    conversations,
    csat_requests,
    csat_responses,
    messages,
    tenants,
    tool_calls,
    users,
)
from tests.support.basics import TEST_SECRET, fixtures_dir, unique_slug
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving

CPF = "529.982.247-25"
CPF_DIGITS = "52998224725"
PHONE = "5511912340001"  # the Uazapi capture's sender
LID = "100000000000001@lid"
KEYRING = Keyring(TEST_SECRET)
CREATED: list = []  # tenants made by this module, removed at its end (no pending work left for later workers)


@dataclass
class Person:
    """One tenant with Maria (two contacts: her number, and a LID-only account with the same CPF), Pedro, and
    their history; `ids` by name."""

    slug: str
    tenant_id: object
    webhook_key: str
    ids: dict


def uazapi_message(message_id: str, text: str = "Oi") -> dict:
    payload = json.loads((fixtures_dir() / "uazapi/user-chat__from-others__text.sent.json").read_text())
    payload["token"] = "tok-uazapi"
    payload["message"].update(messageid=message_id, text=text)
    payload["message"]["content"]["text"] = text
    return payload


def _history(engine, api: httpx.Client, name: str) -> Person:
    slug = unique_slug("lgpd")
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, f"Provedor {name}")
        CREATED.append(tenant_id)
        channel = accounts.create_channel(conn, KEYRING, "http://x", slug, "uazapi", "WhatsApp", "http://127.0.0.1:9",
                                       f"{slug}-uazapi", "tok-uazapi")
        for role in ("admin", "manager", "agent"):
            accounts.create_user(conn, slug, f"{role}@{slug}.test", role.title(), PASSWORD, role)
    # Maria writes: her contact and open conversation come from the real webhook route
    stored = api.post(f"/webhooks/uazapi/{channel.webhook_key}", json=uazapi_message(f"{slug}-first"))
    assert stored.status_code == 200 and stored.json()["results"] == ["stored"], stored.text
    ids: dict = {"channel": channel.id}
    with engine.begin() as conn:
        maria = conn.execute(select(contacts.c.id).where(contacts.c.tenant_id == tenant_id,
                                                         contacts.c.phone == PHONE)).scalar_one()
        open_talk = conn.execute(select(conversations.c.id).where(conversations.c.contact_id == maria)).scalar_one()
        conn.execute(update(contacts).where(contacts.c.id == maria).values(
            name=f"Maria Conceição {name}", document_encrypted=KEYRING.encrypt(CPF_DIGITS),
            document_hash=KEYRING.fingerprint(CPF_DIGITS), document_masked="***.982.247-**", sgp_customer_id="1001"))
        conn.execute(update(conversations).where(conversations.c.id == open_talk).values(
            sgp_customer_id="1001", sgp_contract_id="19180", bot_state={"document": KEYRING.encrypt(CPF_DIGITS)}))
        conn.execute(insert(messages).values(
            tenant_id=tenant_id, conversation_id=open_talk, channel_id=channel.id, direction="outbound",
            sender_kind="bot", text=f"Maria, segue o PIX da fatura de {name}", status="queued",
            idempotency_key=f"{slug}-reply"))
        # the same person on a second WhatsApp account known only by its LID, identified by the same CPF
        other_account = conn.execute(insert(contacts).values(
            tenant_id=tenant_id, whatsapp_lid="200000000000002@lid", name="Maria C.",
            document_hash=KEYRING.fingerprint(CPF_DIGITS), document_masked="***.982.247-**",
        ).returning(contacts.c.id)).scalar_one()
        closed_talk = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel.id, contact_id=other_account, status="closed",
            created_at=func.now() - func.make_interval(0, 0, 0, 3), closed_at=func.now(), closed_by="agent",
            handoff_at=func.now(), handoff_reason="o cliente Maria pediu um humano",
        ).returning(conversations.c.id)).scalar_one()
        for values in (
            {"direction": "inbound", "sender_kind": "customer", "text": f"segue o cpf {CPF}", "status": "processed"},
            {"direction": "inbound", "sender_kind": "customer", "content_type": "audio", "status": "processed",
             "transcript": "minha internet caiu de novo", "media_url": "https://media.example.test/audio-maria",
             "media_mime": "audio/ogg", "media_seconds": 4},
            {"direction": "inbound", "sender_kind": "customer", "content_type": "image", "status": "processed",
             "media_url": "https://media.example.test/comprovante-maria", "media_file_name": "comprovante-maria.jpg",
             "media_mime": "image/jpeg", "media_size": 2048},
            {"direction": "outbound", "sender_kind": "agent", "text": "Oi Maria, recebi o comprovante",
             "status": "delivered"},
        ):
            conn.execute(insert(messages).values(tenant_id=tenant_id, conversation_id=closed_talk,
                                                 channel_id=channel.id, **values))
        conn.execute(insert(tool_calls).values(
            tenant_id=tenant_id, conversation_id=closed_talk, brain="rules", tool="identify_customer",
            outcome="found", arguments={"document": "***.982.247-**", "contract": "19180"}, error=None))
        survey = conn.execute(insert(csat_requests).values(
            tenant_id=tenant_id, conversation_id=closed_talk, contact_id=other_account, status="answered",
            scheduled_for=func.now(), sent_at=func.now(), answered_at=func.now(),
        ).returning(csat_requests.c.id)).scalar_one()
        conn.execute(insert(csat_responses).values(
            tenant_id=tenant_id, csat_request_id=survey, conversation_id=closed_talk, rating=5,
            sentiment="positive", comment="ótimo atendimento da Carla", raw_text="5 ótimo atendimento da Carla"))
        conn.execute(insert(audit_log).values(
            tenant_id=tenant_id, actor_kind="user", action="conversation.close", entity_type="conversation",
            entity_id=str(closed_talk), details={"reason": "Maria satisfeita"}))
        conn.execute(insert(conversation_notes).values(  # what an agent wrote about her, among the team
            tenant_id=tenant_id, conversation_id=closed_talk, text=f"Maria confirmou o cpf {CPF}, ligar amanhã"))
        # Pedro, another customer of the same tenant
        pedro = conn.execute(insert(contacts).values(tenant_id=tenant_id, phone="5511955559999", name="Pedro")
                             .returning(contacts.c.id)).scalar_one()
        pedro_talk = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel.id, contact_id=pedro, status="bot",
        ).returning(conversations.c.id)).scalar_one()
        conn.execute(insert(messages).values(tenant_id=tenant_id, conversation_id=pedro_talk, channel_id=channel.id,
                                             direction="inbound", sender_kind="customer", text="mensagem do Pedro",
                                             status="processed"))
    ids.update(maria=maria, other_account=other_account, open_talk=open_talk, closed_talk=closed_talk,
               pedro=pedro, pedro_talk=pedro_talk)
    return Person(slug, tenant_id, channel.webhook_key, ids)


@pytest.fixture(scope="module", autouse=True)
def _remove_tenants(engine):
    yield
    with engine.begin() as conn:
        conn.execute(delete(tenants).where(tenants.c.id.in_(CREATED)))


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url, redis_url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("privacy"), secret_key=TEST_SECRET, _env_file=None)
    with ExitStack() as stack:
        base = stack.enter_context(serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url))))
        yield stack.enter_context(httpx.Client(base_url=base, timeout=30))


@pytest.fixture
def cli_env(tmp_path, database_url, redis_url) -> dict:
    return {"NIOCHAT_DATABASE_URL": database_url, "NIOCHAT_REDIS_URL": redis_url, "NIOCHAT_SECRET_KEY": TEST_SECRET,
            "NIOCHAT_DATA_DIR": str(tmp_path / "data"), "NIOCHAT_LOG_FORMAT": "json"}


def _command(env: dict, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """The real `niochat` command, in its own process."""
    return subprocess.run([sys.executable, "-m", "niochat", *args], env={**os.environ, **env}, input=input,
                          capture_output=True, text=True, timeout=180)


def _state(engine, person: Person) -> dict:
    """What the operational database holds of the tenant, by table, to compare before and after."""
    with engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(select(table).where(table.c.tenant_id == person.tenant_id)
                                                           .order_by(table.c.id))), key=str)
                for table in (contacts, conversations, messages, tool_calls, csat_responses)}


def _login(api: httpx.Client, redis_url: str, email: str) -> dict:
    clear_login_limits(redis_url)
    response = api.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _leaks(text: str) -> list[str]:
    return [secret for secret in (CPF, CPF_DIGITS, TEST_SECRET, "52998224725") if secret in text]


def test_cli_export_by_document_holds_everything_about_the_person_and_nothing_else(engine, api, cli_env, tmp_path):
    maria_a, maria_b = _history(engine, api, "A"), _history(engine, api, "B")  # B: same phone, same CPF
    out = tmp_path / "maria.json"
    result = _command(cli_env, "privacy", "export", "--tenant", maria_a.slug, "--document", CPF, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not _leaks(result.stdout + result.stderr + out.read_text(encoding="utf-8"))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    document = json.loads(out.read_text(encoding="utf-8"))
    assert (document["format"], document["version"], document["lookup"]) == ("niochat-privacy-export", 1, "document")
    assert document["tenant"] == {"slug": maria_a.slug, "name": "Provedor A"}
    assert {c["id"] for c in document["contacts"]} == {str(maria_a.ids["maria"]), str(maria_a.ids["other_account"])}
    assert {c["phone"] for c in document["contacts"]} == {PHONE, None}
    assert {c["name"] for c in document["contacts"]} == {"Maria Conceição A", "Maria C."}
    assert all(c["document_masked"] == "***.982.247-**" and "document_hash" not in c for c in document["contacts"])
    talks = {talk["id"]: talk for talk in document["conversations"]}
    assert set(talks) == {str(maria_a.ids["open_talk"]), str(maria_a.ids["closed_talk"])}
    closed = talks[str(maria_a.ids["closed_talk"])]
    assert closed["channel"]["provider"] == "uazapi" and closed["csat"]["response"]["comment"] == \
        "ótimo atendimento da Carla"
    said = [m["text"] for m in closed["messages"]]
    assert "Oi Maria, recebi o comprovante" in said and f"segue o cpf {CPF}" not in said  # never the full CPF...
    assert "segue o cpf ***.982.247-**" in said  # ...the typed one comes masked
    audio = next(m for m in closed["messages"] if m["content_type"] == "audio")
    assert audio["transcript"] == "minha internet caiu de novo" and audio["media"]["url"].endswith("audio-maria")
    image = next(m for m in closed["messages"] if m["content_type"] == "image")
    assert image["media"] == {"url": "https://media.example.test/comprovante-maria", "mime": "image/jpeg",
                              "file_name": "comprovante-maria.jpg", "size": 2048, "seconds": None}
    assert closed["tool_calls"][0]["arguments"] == {"document": "***.982.247-**", "contract": "19180"}
    assert [note["text"] for note in closed["notes"]] == ["Maria confirmou o cpf ***.982.247-**, ligar amanhã"]
    assert [a["details"] for a in document["audit_log"] if a["action"] == "conversation.close"] == [
        {"reason": "Maria satisfeita"}]
    assert [m["text"] for m in talks[str(maria_a.ids["open_talk"])]["messages"]][0] == "Oi"
    for value in (document["generated_at"], closed["created_at"], closed["messages"][0]["created_at"]):
        assert datetime.fromisoformat(value).tzinfo is not None
    dump = json.dumps(document, ensure_ascii=False)
    assert "Pedro" not in dump and str(maria_a.ids["pedro"]) not in dump
    assert not {str(v) for v in maria_b.ids.values()} & set(_strings(document)) and "de B" not in dump
    with engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.tenant_id == maria_a.tenant_id,
                                                     audit_log.c.action == "privacy.export")).one()
    assert (entry.actor_kind, entry.details["via"], entry.details["lookup"]) == ("system", "cli", "document")
    assert (entry.details["contacts"], entry.details["conversations"], entry.details["messages"]) == (2, 2, 6)
    assert PHONE not in json.dumps(entry.details) and not _leaks(json.dumps(entry.details))

    # by phone, written any way a person gives it: the number's contact and, by its CPF, the LID account
    for phone in ("(11) 91234-0001", "11912340001", "+55 11 91234-0001"):
        by_phone = _command(cli_env, "privacy", "export", "--tenant", maria_a.slug, "--phone", phone)
        assert by_phone.returncode == 0, by_phone.stderr
        assert {c["id"] for c in json.loads(by_phone.stdout)["contacts"]} == {
            str(maria_a.ids["maria"]), str(maria_a.ids["other_account"])}
    # after a key rotation (new key first, the old one after it) documents hashed with the old key are found
    rotated = {**cli_env, "NIOCHAT_SECRET_KEY": "rotated-key-" + "y" * 32 + "," + TEST_SECRET}
    by_old_hash = _command(rotated, "privacy", "export", "--tenant", maria_a.slug, "--document", CPF_DIGITS)
    assert by_old_hash.returncode == 0, by_old_hash.stderr
    assert len(json.loads(by_old_hash.stdout)["contacts"]) == 2
    nobody = _command(cli_env, "privacy", "export", "--tenant", maria_a.slug, "--phone", "5521999990000")
    assert nobody.returncode == 1 and "no contact" in nobody.stderr and nobody.stdout == ""
    invalid = _command(cli_env, "privacy", "export", "--tenant", maria_a.slug, "--document", "529.982.247-24")
    assert invalid.returncode == 1 and "not a valid CPF" in invalid.stderr and "529.982.247-24" not in invalid.stderr


@pytest.mark.parametrize(("given", "variants"), [
    ("5511981234567", ("5511981234567", "551181234567")),  # WhatsApp drops the mobile 9 of older accounts
    ("(11) 8123-4567", ("1181234567", "551181234567", "5511981234567")),  # 55 added when left out
    ("+55 11 3123-4567", ("551131234567",)),  # a landline has no 9 to add
    ("+1 415 555 2671", ("14155552671", "5514155552671")),  # 11 digits: a foreign number, or a Brazilian one
])
def test_a_phone_is_looked_up_as_whatsapp_may_have_stored_it(given, variants):
    assert privacy.phone_variants(given) == variants


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_cli_erase_asks_then_anonymises_everywhere_and_a_new_message_starts_afresh(engine, api, cli_env):
    maria, same_phone_elsewhere = _history(engine, api, "A"), _history(engine, api, "B")
    before, elsewhere = _state(engine, maria), _state(engine, same_phone_elsewhere)

    declined = CliRunner().invoke(cli_app, ["privacy", "erase", "--tenant", maria.slug, "--document", "-"],
                                  env=cli_env, input=f"{CPF}\nn\n")
    assert declined.exit_code == 1 and "nothing was erased" in declined.output
    assert "5511*****0001" in declined.output and "Maria Conceição A" in declined.output
    assert not _leaks(declined.output) and _state(engine, maria) == before

    result = _command(cli_env, "privacy", "erase", "--tenant", maria.slug, "--phone", PHONE, input="y\n")
    assert result.returncode == 0, result.stderr
    assert "erased" in result.stderr and "2 contacts" in result.stderr and "6 messages" in result.stderr
    with engine.connect() as conn:
        people = conn.execute(select(contacts).where(contacts.c.id.in_([maria.ids["maria"],
                                                                        maria.ids["other_account"]]))).all()
        assert len(people) == 2
        for row in people:
            assert (row.phone, row.whatsapp_lid, row.name, row.document_encrypted, row.document_hash,
                    row.document_masked, row.sgp_customer_id) == (None,) * 7
            assert row.erased_at is not None
        talks = {row.id: row for row in conn.execute(select(conversations).where(
            conversations.c.contact_id.in_([maria.ids["maria"], maria.ids["other_account"]])))}
        opened = talks[maria.ids["open_talk"]]
        assert (opened.status, opened.close_reason, opened.closed_by) == ("closed", "erased", "system")
        assert (opened.sgp_customer_id, opened.sgp_contract_id, opened.bot_state) == (None, None, {})
        closed = talks[maria.ids["closed_talk"]]
        assert (closed.status, closed.closed_by, closed.handoff_reason) == ("closed", "agent", "erased")
        assert closed.created_at < closed.closed_at and closed.handoff_at is not None  # the KPIs' times stay
        rows = conn.execute(select(messages).where(messages.c.conversation_id.in_(list(talks)))).all()
        assert len(rows) == 6, "messages stay as rows, for the counts"
        for row in rows:
            assert (row.text, row.transcript, row.media_url, row.media_file_name, row.provider_message_id) == \
                (None,) * 5
            assert row.redacted_at is not None
        assert {(row.direction, row.sender_kind, row.status, row.error) for row in rows if row.sender_kind == "bot"} \
            == {("outbound", "bot", "failed", "erased")}, "the pending reply is not sent any more"
        assert {row.content_type for row in rows} == {"text", "audio", "image"}
        call = conn.execute(select(tool_calls).where(tool_calls.c.conversation_id == closed.id)).one()
        assert (call.tool, call.outcome, call.arguments) == ("identify_customer", "found", {})
        answer = conn.execute(select(csat_responses).where(csat_responses.c.conversation_id == closed.id)).one()
        assert (answer.rating, answer.comment, answer.raw_text) == (5, None, None)
        assert conn.scalar(select(func.count()).select_from(conversation_notes).where(
            conversation_notes.c.conversation_id == closed.id)) == 0, "the agents' notes about her are gone"
        entries = conn.execute(select(audit_log).where(audit_log.c.tenant_id == maria.tenant_id)
                               .order_by(audit_log.c.created_at)).all()
    assert [e.details for e in entries if e.action == "conversation.close"] == [{}]
    erased = [e for e in entries if e.action == "privacy.erase"]
    assert len(erased) == 1 and erased[0].actor_kind == "system"
    details = erased[0].details
    assert (details["via"], details["lookup"], details["contacts"], details["messages"], details["media"]) == (
        "cli", "phone", 2, 6, 2)
    assert not _leaks(json.dumps(details)) and PHONE not in json.dumps(details) and "Maria" not in json.dumps(details)
    # Pedro, and the other tenant's Maria with the same phone and CPF, are as they were
    after = _state(engine, maria)
    assert [row for row in after["contacts"] if row[0] == maria.ids["pedro"]] == [
        row for row in before["contacts"] if row[0] == maria.ids["pedro"]]
    assert any(row for row in after["messages"] if "mensagem do Pedro" in row)
    assert _state(engine, same_phone_elsewhere) == elsewhere

    # Maria writes again from the same number: a new contact, with no history
    again = api.post(f"/webhooks/uazapi/{maria.webhook_key}", json=uazapi_message(f"{maria.slug}-again", "oi de novo"))
    assert again.status_code == 200 and again.json()["results"] == ["stored"], again.text
    with engine.connect() as conn:
        fresh = conn.execute(select(contacts).where(contacts.c.tenant_id == maria.tenant_id,
                                                    contacts.c.phone == PHONE)).one()
        assert fresh.id not in (maria.ids["maria"], maria.ids["other_account"])
        assert (fresh.whatsapp_lid, fresh.document_hash, fresh.erased_at) == (LID, None, None)
        history = conn.execute(select(conversations.c.id).where(conversations.c.contact_id == fresh.id)).all()
        assert len(history) == 1
        texts = conn.execute(select(messages.c.text).where(messages.c.conversation_id == history[0].id)).all()
        assert [row.text for row in texts] == ["oi de novo"]
    # and exporting her now shows the new contact only: the erased one is not found by phone any more
    now = _command(cli_env, "privacy", "export", "--tenant", maria.slug, "--phone", PHONE)
    assert [c["id"] for c in json.loads(now.stdout)["contacts"]] == [str(fresh.id)]
    gone = _command(cli_env, "privacy", "erase", "--tenant", maria.slug, "--document", CPF, "--yes")
    assert gone.returncode == 1 and "no contact" in gone.stderr


def test_api_export_and_erase_for_admins_only_and_only_in_their_tenant(engine, api, redis_url):
    a, b = _history(engine, api, "A"), _history(engine, api, "B")  # same phone and CPF in both tenants
    admin_a = _login(api, redis_url, f"admin@{a.slug}.test")
    admin_b = _login(api, redis_url, f"admin@{b.slug}.test")
    for role in ("manager", "agent"):
        headers = _login(api, redis_url, f"{role}@{a.slug}.test")
        assert api.post("/api/v1/privacy/export", headers=headers, json={"phone": PHONE}).status_code == 403
        assert api.post("/api/v1/privacy/erase", headers=headers,
                        json={"phone": PHONE, "confirm": True}).status_code == 403
    assert api.post("/api/v1/privacy/export", json={"phone": PHONE}).status_code == 401
    for body in ({}, {"phone": PHONE, "document": CPF}, {"phone": "12"}, {"document": "123"}):
        response = api.post("/api/v1/privacy/export", headers=admin_a, json=body)
        assert response.status_code == 422, (body, response.text)

    exported = api.post("/api/v1/privacy/export", headers=admin_a, json={"document": CPF})
    assert exported.status_code == 200, exported.text
    document = exported.json()
    assert document["format"] == "niochat-privacy-export" and document["tenant"]["slug"] == a.slug
    assert {c["id"] for c in document["contacts"]} == {str(a.ids["maria"]), str(a.ids["other_account"])}
    assert not {str(v) for v in b.ids.values()} & set(_strings(document)) and not _leaks(exported.text)
    # a person only tenant B has is not found by A's admin, whatever the key
    with engine.begin() as conn:
        conn.execute(insert(contacts).values(tenant_id=b.tenant_id, phone="5581981012201", name="Renata"))
    assert api.post("/api/v1/privacy/export", headers=admin_a, json={"phone": "5581981012201"}).status_code == 404
    assert api.post("/api/v1/privacy/erase", headers=admin_a,
                    json={"phone": "5581981012201", "confirm": True}).status_code == 404

    b_before = _state(engine, b)
    refused = api.post("/api/v1/privacy/erase", headers=admin_a, json={"phone": PHONE})
    assert refused.status_code == 422 and "confirm" in refused.text
    preview = api.post("/api/v1/privacy/erase", headers=admin_a, json={"phone": PHONE, "dry_run": True})
    assert preview.status_code == 200 and preview.json()["erased"] is False
    assert preview.json()["counts"]["contacts"] == 2 and preview.json()["counts"]["open_conversations"] == 1
    assert {c["phone"] for c in preview.json()["contacts"]} == {"5511*****0001", None}
    with engine.connect() as conn:
        assert conn.scalar(select(contacts.c.phone).where(contacts.c.id == a.ids["maria"])) == PHONE
    erased = api.post("/api/v1/privacy/erase", headers=admin_a, json={"document": CPF, "confirm": True})
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True and erased.json()["counts"]["messages"] == 6
    assert not _leaks(erased.text)
    assert _state(engine, b) == b_before, "tenant B's Maria, same phone and CPF, is untouched"
    with engine.connect() as conn:
        row = conn.execute(select(contacts).where(contacts.c.id == a.ids["maria"])).one()
        assert (row.phone, row.name, row.erased_at is not None) == (None, None, True)
        entries = conn.execute(select(audit_log).where(audit_log.c.tenant_id == a.tenant_id,
                                                       audit_log.c.action.like("privacy.%"))
                               .order_by(audit_log.c.created_at)).all()
        admin_id = conn.scalar(select(users.c.id).where(users.c.email == f"admin@{a.slug}.test"))
    assert [(e.action, e.details["via"], e.actor_kind, e.actor_user_id) for e in entries] == [
        ("privacy.export", "api", "user", admin_id), ("privacy.erase", "api", "user", admin_id)]
    assert api.post("/api/v1/privacy/export", headers=admin_a, json={"document": CPF}).status_code == 404
    # B's admin still finds B's Maria
    still = api.post("/api/v1/privacy/export", headers=admin_b, json={"phone": PHONE})
    assert still.status_code == 200 and {c["id"] for c in still.json()["contacts"]} == {
        str(b.ids["maria"]), str(b.ids["other_account"])}
    listed = api.get("/api/v1/contacts", headers=admin_a, params={"limit": 200}).json()
    assert {c["id"] for c in listed["items"]} == {str(a.ids["pedro"])}, "erased contacts are not listed"
    audit = api.get("/api/v1/audit", headers=admin_a, params={"action": "privacy.erase"})
    assert audit.status_code == 200 and audit.json()["total"] == 1
