"""Configurações do atendimento in headless Chromium (Debian's /usr/bin/chromium driven by playwright), on a real
API server: an admin opens the page from the menu, sees the teams, labels and quick replies, creates a label and
is told so, writes a quick reply and sees it filled in for the example customer. The screenshot goes to
NIOCHAT_SCREENSHOTS_DIR (docs/img for the docs':
`NIOCHAT_SCREENSHOTS_DIR=docs/img .venv/bin/pytest tests/browser/test_workspace_settings_browser.py`).

Chromium comes from tests/browser/conftest.py (where it is missing this fails, it does not skip)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from api.app import create_app as create_api
from niochat.embedded import ServiceUrls
from tests.support.dashboard import dash_settings
from tests.support.desk import api_settings, make_desk
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.servers import serving

SCREENSHOTS = Path(os.environ.get("NIOCHAT_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="niochat-settings-"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, database_url, redis_url, engine):
    urls = ServiceUrls(database_url, database_url, redis_url)
    with ExitStack() as exits:
        api_url = exits.enter_context(serving(create_api(api_settings(tmp_path_factory), urls)))
        api = exits.enter_context(httpx.Client(base_url=api_url, timeout=20))
        desk = make_desk(api, engine)
        _a_tenant_in_use(desk)
        from dash_app import create_app

        app = create_app(dash_settings(tmp_path_factory.mktemp("dash"), api_url=api_url), urls)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        http = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        exits.callback(http.shutdown)
        clear_login_limits(redis_url)
        yield desk, f"http://127.0.0.1:{http.server_port}"


def _a_tenant_in_use(desk) -> None:
    """What an admin would have set up already: another team, labels, quick replies, a target."""
    vendas = desk.post("admin", "/teams", {"slug": "vendas", "name": "Vendas"}).json()
    desk.patch("admin", f"/users/{desk.people['manager']}", {"team_ids": [vendas["id"], str(desk.team_id)]})
    for name, color in (("Urgente", "#d1495b"), ("Retorno", "#f2a541")):
        assert desk.post("admin", "/labels", {"name": name, "color": color}).status_code == 201
    for body in ({"shortcut": "boas-vindas", "text": "Olá {primeiro_nome}! Sou {agente}, como posso ajudar?"},
                 {"shortcut": "segunda-via-pdf", "text": "Segue a segunda via do seu boleto, {nome}.",
                  "media_url": "https://arquivos.example/boleto-exemplo.pdf", "team_id": str(desk.other_team_id)},
                 {"shortcut": "visita", "text": "Agendamos a visita técnica; protocolo {protocolo}.",
                  "team_id": str(desk.team_id)}):
        assert desk.post("admin", "/quick-replies", body).status_code == 201
    assert desk.patch("admin", "/settings", {"first_response_target_minutes": 10}).status_code == 200


def test_an_admin_keeps_the_workspace_settings(world, browser):
    desk, base = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/login")
    page.fill("#email", f"admin@{desk.rows.slug}.test")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/")
    page.click("#nav-settings")
    page.wait_for_url(base + "/atendimento/configuracoes")
    page.wait_for_selector("#cfg-teams-table:has-text('Vendas')", timeout=15000)
    page.wait_for_selector("#cfg-replies-table:has-text('/segunda-via-pdf')", timeout=15000)
    page.wait_for_selector("#cfg-target-now:has-text('10 min')", timeout=15000)
    assert "Manager" in page.inner_text("#cfg-teams-table")

    page.fill("#cfg-label-name", "Cancelamento")
    page.fill("#cfg-label-color", "#3d5a80")
    page.click("#cfg-label-create")
    page.wait_for_selector("#cfg-labels-ok:has-text('Etiqueta “Cancelamento” criada.')", timeout=15000)
    page.wait_for_selector("#cfg-labels-table:has-text('Cancelamento')", timeout=15000)

    page.fill("#cfg-reply-shortcut", "protocolo")
    page.fill("#cfg-reply-text", "Olá {primeiro_nome}, aqui é {agente}. Seu protocolo é {protocolo}.")
    page.wait_for_selector("#cfg-reply-preview-text:has-text('Olá Maria, aqui é Admin. Seu protocolo é 2024001234.')",
                           timeout=15000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "workspace-settings.png"), full_page=True)
    page.click("#cfg-reply-create")
    page.wait_for_selector("#cfg-replies-ok:has-text('/protocolo criada')", timeout=15000)
    page.fill("#cfg-reply-shortcut", "protocolo")
    page.click("#cfg-reply-create")
    page.wait_for_selector("#cfg-replies-error:has-text('O atalho /protocolo já existe')", timeout=15000)
    assert not errors, errors
    context.close()
