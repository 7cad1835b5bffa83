"""The customer panel beside the chat in headless Chromium (Debian's /usr/bin/chromium via playwright): an agent
opens a conversation whose customer the bot identified (a registered phone, the real SGP sandbox), sees the
customer's contract, plan, situation, open invoice, connection now and the ticket opened in this conversation,
presses "Enviar de novo" and is told it went; an unverified contact's panel says "Não verificado" (Chromium:
tests/browser/conftest.py). The screenshot
goes to NIOCHAT_SCREENSHOTS_DIR (docs/img for the README's:
`NIOCHAT_SCREENSHOTS_DIR=docs/img .venv/bin/pytest tests/browser/test_customer_panel_browser.py`)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert
from werkzeug.serving import make_server

from api.app import create_app
from niochat.embedded import ServiceUrls
from niochat.settings import Settings
from niochat.tables import contacts, conversations, messages
from tests.support.basics import TEST_SECRET
from tests.support.customer import bot_identifies, point_sgp_at
from tests.support.dashboard import dash_settings
from tests.support.desk import make_desk
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving

SCREENSHOTS = Path(os.environ.get("NIOCHAT_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="niochat-customer-"))
MARIA = ("5511912340001", "529.982.247-25")
CHAT = (("customer", "oi, a internet caiu e preciso da segunda via da fatura"),
        ("bot", "Encontrei seu cadastro, Maria! Sua conexão aparece offline aqui: abri um chamado técnico para você."),
        ("customer", "obrigada, mas quero falar com um atendente, por favor"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_url, redis_url, engine, sgp_url):
    urls = ServiceUrls(database_url, database_url, redis_url)
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, egress_allow="127.0.0.1",
                        _env_file=None)
    with serving(create_app(settings, urls)) as api_url, httpx.Client(base_url=api_url, timeout=30) as api:
        desk = make_desk(api, engine)
        point_sgp_at(engine, desk.tenant_id, sgp_url)
        from dash_app import create_app as create_dash

        app = create_dash(dash_settings(tmp_path_factory.mktemp("dash"), api_url=api_url), urls)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        http = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        clear_login_limits(redis_url)
        try:
            yield desk, f"http://127.0.0.1:{http.server_port}"
        finally:
            http.shutdown()


def _conversation(engine, desk, phone: str, name: str, chat=()) -> tuple:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        contact_id = conn.execute(insert(contacts).values(tenant_id=desk.tenant_id, phone=phone, name=name)
                                  .returning(contacts.c.id)).scalar_one()
        conversation_id = conn.execute(insert(conversations).values(
            tenant_id=desk.tenant_id, channel_id=desk.channel_id, contact_id=contact_id, status="open",
            assignee_id=desk.people["agent"], team_id=desk.team_id, handoff_reason="customer_request",
            handoff_at=now - timedelta(minutes=4), last_message_at=now).returning(conversations.c.id)).scalar_one()
        for index, (who, text) in enumerate(chat):
            conn.execute(insert(messages).values(
                tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
                direction="inbound" if who == "customer" else "outbound", sender_kind=who, text=text,
                status="processed" if who == "customer" else "delivered",
                created_at=now - timedelta(minutes=6 - index)))
    return conversation_id, contact_id


def _agent_page(browser, base: str, email: str, conversation_id):
    context = browser.new_context(viewport={"width": 1600, "height": 950}, locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/atendimento")
    page.goto(f"{base}/atendimento?conversa={conversation_id}")
    return page, errors


def test_the_agent_sees_the_verified_customer_and_sends_the_invoice_again(world, browser, engine, database_url,
                                                                         sgp_url):
    desk, base = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    conversation_id, contact_id = _conversation(engine, desk, MARIA[0], "Maria da Silva", CHAT)
    bot_identifies(database_url, sgp_url, desk.tenant_id, conversation_id, contact_id, MARIA[0], MARIA[1],
                   ticket=True)
    page, errors = _agent_page(browser, base, f"agent@{desk.rows.slug}.test", conversation_id)
    page.wait_for_selector("#ws-customer .customer-section", timeout=20000)
    panel = page.inner_text("#ws-customer-panel").lower()  # section titles are in capitals (CSS)
    for words in ("Cliente", "MARIA DA SILVA", "***.982.247-**", "Contrato 10269", "FIBRA 300MB", "Ativo",
                  "Offline", "R$ 99,90", "Enviar de novo", "Chamados desta conversa"):
        assert words.lower() in panel, (words, panel)
    page.wait_for_selector(".msg-customer", timeout=15000)
    page.click("#ws-view label:has-text('Minhas')")
    page.wait_for_selector(f".inbox-row[data-conversation='{conversation_id}']", timeout=15000)
    page.screenshot(path=str(SCREENSHOTS / "workspace-customer.png"))

    page.click("#ws-customer-panel button:has-text('Enviar de novo')")
    page.wait_for_selector("#ws-customer-feedback .notice", timeout=20000)
    assert "Fatura enviada de novo ao cliente" in page.inner_text("#ws-customer-feedback")
    assert not errors, errors


def test_an_unverified_contact_shows_not_verified(world, browser, engine):
    desk, base = world
    conversation_id, _ = _conversation(engine, desk, "5511944440002", "Desconhecido")
    page, errors = _agent_page(browser, base, f"agent@{desk.rows.slug}.test", conversation_id)
    page.wait_for_selector("#ws-customer-unverified", timeout=20000)
    assert "Não verificado" in page.inner_text("#ws-customer-panel")
    assert page.locator("#ws-customer-panel button").count() == 0
    assert not errors, errors
