"""Retention (LGPD): the tenant setting through `PATCH /api/v1/settings` over HTTP, enforced by the worker's cron
job in a real `niochat worker` process (it runs once at start, then hourly), with its figures in the audit log.

The module has its own operational database: the worker's sweeper would otherwise pick up other tests' work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack

import httpx
import pytest
import redis
from sqlalchemy import func, insert, select

from api.app import create_app
from niochat import accounts, migrate
from niochat.database import drop_database, ensure_database, sync_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import audit_log, contacts, conversations, csat_requests, csat_responses, messages
from tests.support.basics import TEST_SECRET, unique_slug
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving


@pytest.fixture(scope="module")
def database(pg_server_url):
    name = f"niochat_ret_{uuid.uuid4().hex[:8]}"
    url = ensure_database(pg_server_url, name)
    migrate.upgrade(url)
    engine = sync_engine(url)
    yield url, engine
    engine.dispose()
    drop_database(pg_server_url, name)


@pytest.fixture(scope="module")
def api(tmp_path_factory, database, redis_url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("ret"), secret_key=TEST_SECRET, _env_file=None)
    with ExitStack() as stack:
        base = stack.enter_context(serving(create_app(settings, ServiceUrls(database[0], database[0], redis_url))))
        yield stack.enter_context(httpx.Client(base_url=base, timeout=30))


def _days_ago(days: float):
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, days * 86400)


def _tenant_with_history(engine) -> dict:
    """A closed conversation 400 days old (text, voice note, photo, survey comment, the bot's state), a photo
    100 days old, a message of today, and a send still queued from 400 days ago."""
    slug = unique_slug("ret")
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, "Provedor Retenção")
        accounts.create_user(conn, slug, f"admin@{slug}.test", "Admin", PASSWORD, "admin")
        channel = accounts.create_channel(conn, Keyring(TEST_SECRET), "http://x", slug, "uazapi", "WhatsApp",
                                       "http://127.0.0.1:9", slug, "tok")
        contact = conn.execute(insert(contacts).values(tenant_id=tenant_id, phone="5511900001111", name="Ana")
                               .returning(contacts.c.id)).scalar_one()
        old_talk = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel.id, contact_id=contact, status="closed", closed_by="bot",
            created_at=_days_ago(400), closed_at=_days_ago(400), bot_state={"document": "gAAAA-encrypted"},
        ).returning(conversations.c.id)).scalar_one()
        new_talk = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel.id, contact_id=contact, status="bot",
        ).returning(conversations.c.id)).scalar_one()
        ids = {"tenant": tenant_id, "slug": slug, "old_talk": old_talk}

        def message(name, talk, age, **values):
            ids[name] = conn.execute(insert(messages).values(
                tenant_id=tenant_id, conversation_id=talk, channel_id=channel.id, created_at=_days_ago(age),
                **{"direction": "inbound", "sender_kind": "customer", "status": "processed", **values},
            ).returning(messages.c.id)).scalar_one()

        message("old_text", old_talk, 400, text="minha senha do wifi é cachorro123")
        message("old_audio", old_talk, 400, content_type="audio", transcript="a internet caiu",
                media_url="https://media.example.test/a1", media_mime="audio/ogg", media_seconds=3)
        message("old_photo", old_talk, 400, content_type="image", media_url="https://media.example.test/p1",
                media_file_name="rg-ana.jpg", media_mime="image/jpeg")
        message("old_queued", old_talk, 400, direction="outbound", sender_kind="bot", status="queued",
                text="envio pendente")
        message("photo_100", new_talk, 100, content_type="image", text="segue a foto do roteador",
                media_url="https://media.example.test/p2", media_file_name="roteador.jpg")
        message("today", new_talk, 0, text="oi, hoje")
        survey = conn.execute(insert(csat_requests).values(
            tenant_id=tenant_id, conversation_id=old_talk, contact_id=contact, status="answered",
            scheduled_for=_days_ago(400), created_at=_days_ago(400)).returning(csat_requests.c.id)).scalar_one()
        conn.execute(insert(csat_responses).values(
            tenant_id=tenant_id, csat_request_id=survey, conversation_id=old_talk, rating=4, sentiment="positive",
            comment="atendente Ana foi ótima", raw_text="4 atendente Ana foi ótima", created_at=_days_ago(400)))
    return ids


def _admin(api: httpx.Client, redis_url: str, slug: str) -> dict:
    clear_login_limits(redis_url)
    token = api.post("/api/v1/auth/token", data={"username": f"admin@{slug}.test", "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_retention_is_a_tenant_setting_off_by_default(api, database, redis_url):
    ids = _tenant_with_history(database[1])
    headers = _admin(api, redis_url, ids["slug"])
    assert api.get("/api/v1/settings", headers=headers).json()["retention"] == {"messages_days": None,
                                                                              "media_days": None}
    for bad in ({"messages_days": 0}, {"media_days": -1}, {"messages_days": "muito"}, {"days": 30}):
        assert api.patch("/api/v1/settings", headers=headers, json={"retention": bad}).status_code == 422, bad
    both = api.patch("/api/v1/settings", headers=headers, json={"retention": {"messages_days": 365,
                                                                              "media_days": 90}})
    assert both.status_code == 200 and both.json()["retention"] == {"messages_days": 365, "media_days": 90}
    partial = api.patch("/api/v1/settings", headers=headers, json={"retention": {"media_days": None}})
    assert partial.json()["retention"] == {"messages_days": 365, "media_days": None}
    off = api.patch("/api/v1/settings", headers=headers, json={"retention": None})
    assert off.json()["retention"] == {"messages_days": None, "media_days": None}
    changes = api.get("/api/v1/audit", headers=headers, params={"action": "settings.update"}).json()["items"]
    assert {item["details"]["changed"] for item in changes} == {
        "retention.media_days,retention.messages_days", "retention.media_days",
        "retention.messages_days,retention.media_days"}


def test_the_worker_removes_old_content_of_tenants_that_ask_and_audits_the_figures(api, database, redis_url,
                                                                                   tmp_path):
    url, engine = database
    kept, trimmed = _tenant_with_history(engine), _tenant_with_history(engine)  # `kept` sets no retention
    headers = _admin(api, redis_url, trimmed["slug"])
    response = api.patch("/api/v1/settings", headers=headers,
                         json={"retention": {"messages_days": 365, "media_days": 90}})
    assert response.status_code == 200, response.text
    redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "NIOCHAT_DATABASE_URL": url, "NIOCHAT_REDIS_URL": redis_url,
           "NIOCHAT_SECRET_KEY": TEST_SECRET, "NIOCHAT_DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below, after the process
    worker = subprocess.Popen([sys.executable, "-m", "niochat", "worker"], env=env, stdout=log, stderr=log)
    try:
        deadline, entry = time.monotonic() + 90, None
        while entry is None and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
            with engine.connect() as conn:
                entry = conn.execute(select(audit_log).where(audit_log.c.tenant_id == trimmed["tenant"],
                                                             audit_log.c.action == "privacy.retention")).first()
        assert entry is not None, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    assert (entry.actor_kind, entry.entity_type, entry.entity_id) == ("system", "tenant", str(trimmed["tenant"]))
    assert entry.details == {"messages_days": 365, "media_days": 90, "messages": 3, "media": 3, "csat_answers": 1,
                             "conversations": 1}
    with engine.connect() as conn:
        rows = {row.id: row for row in conn.execute(select(messages).where(messages.c.tenant_id == trimmed["tenant"]))}
        for name in ("old_text", "old_audio", "old_photo"):
            row = rows[trimmed[name]]
            assert (row.text, row.transcript, row.media_url, row.media_file_name) == (None,) * 4, name
            assert row.redacted_at is not None and row.content_type in ("text", "audio", "image")
        assert rows[trimmed["old_queued"]].text == "envio pendente", "work in flight is left alone"
        photo = rows[trimmed["photo_100"]]
        assert (photo.text, photo.media_url, photo.media_file_name, photo.redacted_at) == (
            "segue a foto do roteador", None, None, None), "past media_days, before messages_days"
        assert rows[trimmed["today"]].text == "oi, hoje"
        answer = conn.execute(select(csat_responses).where(csat_responses.c.tenant_id == trimmed["tenant"])).one()
        assert (answer.rating, answer.comment, answer.raw_text) == (4, None, None)
        state = conn.scalar(select(conversations.c.bot_state).where(conversations.c.id == trimmed["old_talk"]))
        assert state == {}
        untouched = {row.id: row for row in conn.execute(select(messages).where(
            messages.c.tenant_id == kept["tenant"]))}
        assert untouched[kept["old_text"]].text == "minha senha do wifi é cachorro123"
        assert untouched[kept["old_photo"]].media_url == "https://media.example.test/p1"
        assert conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.tenant_id == kept["tenant"], audit_log.c.action == "privacy.retention")) == 0
