"""The workspace's conversation pane (issue #18) in headless Chromium (Debian's /usr/bin/chromium via playwright),
against a real API and Dash server on real PostgreSQL and Redis: the history's system events between the messages,
a failed send's "Tentar de novo", label chips added and removed, an emoji and a quick reply put in the composer at
the cursor. The screenshot of the pane goes to NIOCHAT_SCREENSHOTS_DIR (docs/img for the docs':
`NIOCHAT_SCREENSHOTS_DIR=docs/img .venv/bin/pytest tests/browser/test_conversation_pane_browser.py`).

Chromium comes from tests/browser/conftest.py (where it is missing this fails, it does not skip).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select
from werkzeug.serving import make_server

from api.app import create_app as create_api
from api.engine.handoff import BOT, to_queue
from niochat.database import async_engine, tenant_transaction
from niochat.embedded import ServiceUrls
from niochat.tables import messages
from tests.support.dashboard import dash_settings
from tests.support.desk import add_conversation, api_settings, make_desk
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving

SCREENSHOTS = Path(os.environ.get("NIOCHAT_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="niochat-pane-"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_url, redis_url, engine):
    urls = ServiceUrls(database_url, database_url, redis_url)
    with ExitStack() as exits:
        api_url = exits.enter_context(serving(create_api(api_settings(tmp_path_factory), urls)))
        api = exits.enter_context(httpx.Client(base_url=api_url, timeout=20))
        desk = make_desk(api, engine)
        conv, failed = _history(engine, database_url, desk)  # before playwright's loop (asyncio.run inside)
        from dash_app import create_app

        app = create_app(dash_settings(tmp_path_factory.mktemp("dash"), api_url=api_url), urls)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        http = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        exits.callback(http.shutdown)
        clear_login_limits(redis_url)
        yield desk, f"http://127.0.0.1:{http.server_port}", conv, failed


def _history(engine, database_url, desk) -> tuple[str, str]:
    """A customer handed to people by the bot, taken by the agent; one of the agent's messages failed."""
    start = datetime.now(UTC) - timedelta(minutes=30)
    conv = add_conversation(engine, desk, "bot", name="Sofia Cliente")

    def message(minutes: int | None, **values):
        defaults = {"direction": "inbound", "sender_kind": "customer", "status": "processed"}
        if minutes is not None:
            values["created_at"] = start + timedelta(minutes=minutes)
        with engine.begin() as conn:
            return conn.execute(insert(messages).values(
                tenant_id=desk.tenant_id, conversation_id=conv, channel_id=desk.channel_id,
                **{**defaults, **values}).returning(messages.c.id)).scalar_one()

    message(0, text="minha internet caiu de novo")
    message(1, direction="outbound", sender_kind="bot", status="read",
            text="Vi aqui que há uma instabilidade na sua região. Quer falar com um atendente?")
    message(2, text="quero falar com um atendente")

    async def hand_off() -> None:
        async_db = async_engine(database_url)
        try:
            async with tenant_transaction(async_db, desk.tenant_id) as conn:
                await to_queue(conn, conv, actor=BOT, reason="customer_request", team_id=desk.team_id)
        finally:
            await async_db.dispose()

    asyncio.run(hand_off())
    assert desk.post("agent", f"/conversations/{conv}/take").status_code == 200
    failed = message(None, direction="outbound", sender_kind="agent", sender_user_id=desk.people["agent"],
                     text="Oi Sofia, já estou verificando o sinal na sua rua.", status="failed",
                     error="provider reported delivery failure")
    assert desk.post("admin", "/labels", {"name": "Sem conexão", "color": "#d1495b"}).status_code == 201
    assert desk.post("admin", "/quick-replies", {"shortcut": "aguarde",
                                                 "text": "Um momento, por favor: estou verificando."}
                     ).status_code == 201
    return str(conv), str(failed)


def test_the_pane_shows_events_retries_a_failed_send_and_helps_the_composer(world, browser, engine):
    desk, base, conv, failed = world
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.fill("#email", f"agent@{desk.rows.slug}.test")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/atendimento")
    page.goto(f"{base}/atendimento?conversa={conv}")
    page.wait_for_selector("#ws-conv-contact:has-text('Sofia Cliente')", timeout=20000)

    page.wait_for_selector(".msg-event", timeout=15000)
    events = page.locator(".msg-event").all_inner_texts()
    assert any("Encaminhada pelo robô à fila Suporte — motivo: Cliente pediu um atendente" in text
               for text in events), events
    assert any("Agente assumiu a conversa" in text for text in events), events

    page.fill("#ws-composer", "Obrigada pela paciência")
    page.click("#ws-composer")
    page.keyboard.press("End")
    page.locator(".emoji", has_text="🙏").click()
    page.wait_for_function("() => document.getElementById('ws-composer').value.endsWith('🙏')", timeout=5000)
    assert page.input_value("#ws-composer") == "Obrigada pela paciência🙏"
    page.fill("#ws-composer", "")
    page.click("#ws-quick-reply")
    page.get_by_text("/aguarde — Um momento", exact=False).first.click()
    page.wait_for_function("() => document.getElementById('ws-composer').value.includes('Um momento')",
                           timeout=5000)

    page.click("#ws-label-add")
    page.get_by_text("Sem conexão", exact=True).first.click()
    page.wait_for_selector("#ws-labels .label-chip:has-text('Sem conexão')", timeout=15000)
    page.wait_for_selector(f"[id*='{failed}']:has-text('Tentar de novo')", timeout=15000)
    page.click("#ws-view label:has-text('Minhas')")  # the inbox beside it shows the conversation too
    page.wait_for_selector(f".inbox-row[data-conversation='{conv}']", timeout=15000)
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "workspace-conversation.png"))

    page.click(f"[id*='{failed}']:has-text('Tentar de novo')")
    page.wait_for_selector("#ws-pane-notice:has-text('colocada na fila')", timeout=15000)
    page.wait_for_selector(".msg-agent .delivery-queued", timeout=15000)
    with engine.connect() as conn:
        assert conn.scalar(select(messages.c.status).where(messages.c.id == failed)) == "queued"
    page.locator("#ws-labels .label-chip:has-text('Sem conexão') .chip-remove").click()
    page.wait_for_selector("#ws-labels .label-chip", state="detached", timeout=15000)
    assert not errors, errors
    context.close()
