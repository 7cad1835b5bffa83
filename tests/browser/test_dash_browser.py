"""The dashboards in headless Chromium (Debian's /usr/bin/chromium driven by playwright): log in, visit every page,
check that the charts rendered with data, and save screenshots (see SCREENSHOTS)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.dashboard import PASSWORD, dash_settings, dash_warehouse, set_live_counters

# Screenshots go to a temp folder; to refresh the README's:
#   NIOCHAT_SCREENSHOTS_DIR=docs/screenshots .venv/bin/pytest tests/browser/test_dash_browser.py
SCREENSHOTS = Path(os.environ.get("NIOCHAT_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="niochat-screens-"))
PAGES = [  # path, screenshot, what must be on the page
    ("/", "overview", "Visão geral"),
    ("/volume", "volume", "Volume de atendimento"),
    ("/csat", "csat", "Satisfação dos clientes"),
    ("/ia-sgp", "ia-sgp", "IA e integração com o SGP"),
    ("/atendentes", "atendentes", "Atendentes"),
    ("/ao-vivo", "ao-vivo", "Ao vivo"),
]

@pytest.fixture(scope="module")
def server(pg_server_url, redis_url, tmp_path_factory):
    from dash_app import create_app

    with dash_warehouse(pg_server_url, redis_url) as built:
        set_live_counters(redis_url, built.tenants["a"], 3)
        app = create_app(dash_settings(tmp_path_factory.mktemp("dash")), built.urls)
        # werkzeug logs each request from the server thread; quiet it, or its lines outlive pytest's capture.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        http = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{http.server_port}", built
        http.shutdown()


def _charts_with_data(page) -> list[int]:
    """Traces with at least one point, per rendered Plotly chart on the page."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el =>
        (el.data || []).filter(t => ['x', 'y', 'z', 'values'].some(k => t[k] && t[k].length)).length)""")


def test_login_every_page_renders_charts_with_data(server, browser):
    base, built = server
    manager = built.tenants["a"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="pt-BR")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(base + "/")
    assert page.url.endswith("/login")
    page.screenshot(path=str(SCREENSHOTS / "login.png"))
    page.fill("#email", manager.manager_email)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(base + "/")

    for path, name, heading in PAGES:
        page.goto(base + path)
        page.wait_for_selector(f"h2:has-text('{heading}')", timeout=15000)
        page.wait_for_function("""() => {
            const charts = document.querySelectorAll('.js-plotly-plot');
            return charts.length > 0 && Array.from(charts).every(el => el.data && el.data.length > 0)
                && !document.querySelector('[data-dash-is-loading="true"]');
        }""", timeout=20000)
        page.wait_for_timeout(400)  # let the last transitions settle before the screenshot
        charts = _charts_with_data(page)
        assert charts and all(count > 0 for count in charts), (path, charts)
        assert manager.name in page.inner_text("#tenant-name")
        assert "Gestora A" in page.inner_text(".user-box")
        for marker in built.tenants["b"].markers:
            assert marker not in page.content(), (path, marker)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        if path == "/":
            cards = page.locator(".kpi-card")
            assert cards.count() == 6
            assert cards.first.locator(".kpi-value").inner_text() == str(manager.conversations)
        if path == "/csat":
            assert page.locator("#csat-comments-table tbody tr").count() > 0
            with page.expect_download() as download:
                page.click("#csat-comments-csv-button")
            assert download.value.suggested_filename.startswith("csat-comentarios_")
        if path == "/ia-sgp":
            assert page.locator("#ai-intents-table tbody tr").count() > 0
            assert "2ª via da fatura" in page.inner_text("#ai-intents-table")
        if path == "/atendentes":
            names = page.inner_text("#agents-table")
            assert all(name in names for name in manager.agent_names), names
        if path == "/ao-vivo":
            assert "Aguardando atendente" in page.inner_text("#live-counters")
    assert not errors, errors

    page.click("#logout")
    page.wait_for_url("**/login?saiu=1")
    page.goto(base + "/csat")
    assert page.url.endswith("/login")
    page.close()


def test_an_agent_sees_the_refusal(server, browser):
    base, built = server
    page = browser.new_page()
    page.goto(base + "/login")
    page.fill("#email", built.tenants["a"].agent_email)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    assert "atendimento está indisponível" in page.inner_text("#login-message")  # this server has no API
    page.goto(base + "/")
    assert page.url.endswith("/login")
    page.close()

