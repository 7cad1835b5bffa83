"""The inbox's search in headless Chromium (Debian's /usr/bin/chromium driven by playwright): an agent types in
the toolbar's search box, the hits replace the view (the matched words marked, the conversation's state), a click
opens the conversation, and clearing the box brings the view back; the rows carry their unread badges and label
chips. The API and the Dash app are real servers on real PostgreSQL and Redis. The screenshots go to
NIOCHAT_SCREENSHOTS_DIR (docs/img for the README's:
`NIOCHAT_SCREENSHOTS_DIR=docs/img .venv/bin/pytest tests/browser/test_workspace_search_browser.py`).
Chromium comes from tests/browser/conftest.py (missing, the test fails: it does not skip).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, update
from werkzeug.serving import make_server

from api.app import create_app as create_api
from niochat.embedded import ServiceUrls
from niochat.tables import conversation_labels, messages, tenants
from tests.support.dashboard import dash_settings
from tests.support.desk import Desk, add_conversation, api_settings, make_desk
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving

SCREENSHOTS = Path(os.environ.get("NIOCHAT_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="niochat-search-"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_url, redis_url, engine):
    from dash_app import create_app

    urls = ServiceUrls(database_url, database_url, redis_url)
    with serving(create_api(api_settings(tmp_path_factory), urls)) as api_url, \
            httpx.Client(base_url=api_url, timeout=20) as api:
        desk = make_desk(api, engine)
        opened = _conversations(engine, desk)
        app = create_app(dash_settings(tmp_path_factory.mktemp("dash"), api_url=api_url), urls)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        http = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        clear_login_limits(redis_url)
        try:
            yield desk, f"http://127.0.0.1:{http.server_port}", opened
        finally:
            http.shutdown()


def _conversations(engine, desk: Desk) -> str:
    """The agent's inbox: two waiting customers and one conversation of theirs with unread messages and a label.
    Returns the one the search finds."""
    now = datetime.now(UTC)
    for name, minutes, text in (("Marcos Lima", 9, "minha internet caiu de novo"),
                                ("Rita Alves", 3, "preciso mudar meu plano")):
        waiting = add_conversation(engine, desk, "waiting", team="suporte", name=name,
                                   handoff_at=now - timedelta(minutes=minutes), last_message_at=now)
        _say(engine, desk, waiting, text, now - timedelta(minutes=minutes))
    mine = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Paula Souza",
                            handoff_at=now - timedelta(minutes=30), first_human_reply_at=now - timedelta(minutes=28),
                            last_message_at=now - timedelta(minutes=1))
    for minutes, text in ((20, "Bom dia, quero a segunda via do boleto de novembro"),
                          (2, "O boleto veio com o valor errado, vocês podem conferir?")):
        _say(engine, desk, mine, text, now - timedelta(minutes=minutes))
    with engine.begin() as conn:  # the tenant's "Financeiro" label (tests.support.factories.full_tenant)
        conn.execute(insert(conversation_labels).values(tenant_id=desk.tenant_id, conversation_id=mine,
                                                        label_id=desk.rows.ids["labels"][0]))
        conn.execute(update(tenants).where(tenants.c.id == desk.tenant_id).values(name="Fibra Teste"))  # the header
    return str(mine)


def _say(engine, desk: Desk, conversation_id, text: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(messages).values(
            tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
            direction="inbound", sender_kind="customer", text=text, status="processed", created_at=at))


def test_search_lists_hits_and_a_click_opens_the_conversation(world, browser):
    desk, base, found = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.fill("#email", f"agent@{desk.rows.slug}.test")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/atendimento")
    page.wait_for_selector(".inbox-row", timeout=20000)
    assert page.locator(".inbox-row").count() == 2  # the waiting queue
    page.click("#ws-view label:has-text('Minhas')")
    row = f".inbox-row[data-conversation='{found}']"
    page.wait_for_selector(f"{row} .unread-badge:has-text('2')", timeout=15000)
    assert page.locator(f"{row} .label-chip:has-text('Financeiro')").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "workspace-inbox-unread.png"))  # the badge and the label chip

    page.fill("#ws-search", "boletos")
    page.press("#ws-search", "Enter")
    page.wait_for_selector("#ws-search-summary", timeout=15000)
    hits = page.locator(f".search-hit[data-conversation='{found}']")
    assert hits.count() == 2  # both messages; the stemmer folds boletos into boleto
    assert page.locator(".search-hit mark").first.inner_text().lower() == "boleto"
    assert "Em atendimento" in hits.first.inner_text() and "Paula Souza" in hits.first.inner_text()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "workspace-search.png"))

    hits.first.click()
    page.wait_for_selector("#ws-conv-contact:has-text('Paula Souza')", timeout=15000)
    assert "conversa=" + found in page.url

    page.fill("#ws-search", "")
    page.press("#ws-search", "Enter")
    page.wait_for_selector("#ws-search-summary", state="detached", timeout=15000)
    page.wait_for_selector(f"{row}.selected", timeout=15000)  # the view again ("Minhas"), the open one marked
    page.fill("#ws-search", "xilofone")
    page.press("#ws-search", "Enter")
    page.wait_for_selector("#ws-search-empty:has-text('Nenhum resultado')", timeout=15000)
    assert not errors, errors
    context.close()
