"""The API's smaller defences over real HTTP: a body cap on /api/v1 (413), /metrics not public, and login answers
that never tell which e-mails exist."""

from __future__ import annotations

import socket
import statistics
import time

import httpx
import pytest
from sqlalchemy import update

from api.app import create_app
from api.bodylimit import MAX_API_BODY_BYTES
from api.security import issue_token
from niochat import accounts
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import tenants, users
from tests.support.basics import TEST_SECRET
from tests.support.factories import PASSWORD, clear_login_limits, full_tenant
from tests.support.servers import serving

METRICS_TOKEN = "metrics-" + "t" * 32


@pytest.fixture(scope="module")
def urls(database_url, redis_url):
    return ServiceUrls(database_url, database_url, redis_url)


@pytest.fixture(scope="module")
def api(tmp_path_factory, urls):
    settings = Settings(data_dir=tmp_path_factory.mktemp("hardening"), secret_key=TEST_SECRET, _env_file=None)
    with serving(create_app(settings, urls)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def people(engine):
    """An active agent, a disabled user, a user of a disabled tenant, an admin (for a token)."""
    with engine.begin() as conn:
        rows, off = full_tenant(conn), full_tenant(conn)
        disabled = accounts.create_user(conn, rows.slug, f"off@{rows.slug}.test", "Off", PASSWORD, "manager")
        conn.execute(update(users).where(users.c.id == disabled).values(is_active=False))
        conn.execute(update(tenants).where(tenants.c.id == off.tenant_id).values(is_active=False))
        admin_id = accounts.create_user(conn, rows.slug, f"admin@{rows.slug}.test", "Admin", PASSWORD, "admin")
    token = issue_token(Keyring(TEST_SECRET), admin_id, rows.tenant_id, 60)
    return {"agent": f"agent@{rows.slug}.test", "disabled": f"off@{rows.slug}.test",
            "other_tenant": f"agent@{off.slug}.test", "token": token}


# --- body cap -----------------------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_413_before_it_is_read(api, people):
    headers = {"Authorization": f"Bearer {people['token']}", "content-type": "application/json"}
    big = b'{"persona": {"company": "' + b"x" * (MAX_API_BODY_BYTES + 10) + b'"}}'
    declared = httpx.patch(f"{api}/api/v1/settings", content=big, headers=headers, timeout=30)
    assert declared.status_code == 413 and "larger than" in declared.json()["detail"]

    def chunks():  # no Content-Length: counted while read
        for start in range(0, len(big), 64_000):
            yield big[start:start + 64_000]

    streamed = httpx.patch(f"{api}/api/v1/settings", content=chunks(), headers=headers, timeout=30)
    assert streamed.status_code == 413
    login = {"username": "a@b.c", "password": "p" * (MAX_API_BODY_BYTES + 1)}
    form = httpx.post(f"{api}/api/v1/auth/token", data=login, timeout=30)
    assert form.status_code == 413
    small = httpx.patch(f"{api}/api/v1/settings", json={"persona": {"company": "Fibra"}}, headers=headers)
    assert small.status_code == 200


def test_the_declared_length_is_refused_without_sending_the_body(api):
    host, port = api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                    b"\r\nContent-Length: 50000000\r\n\r\n")
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


# --- /metrics ------------------------------------------------------------------------------------------------


def test_metrics_answer_loopback_but_not_a_client_behind_a_proxy(api):
    assert httpx.get(f"{api}/metrics").status_code == 200
    # what uvicorn sees when a reverse proxy on the host forwards a remote client's request
    proxied = httpx.get(f"{api}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403 and "niochat_" not in proxied.text


def test_with_a_token_metrics_need_it_from_everyone(tmp_path, urls):
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, metrics_token=METRICS_TOKEN, _env_file=None)
    with serving(create_app(settings, urls)) as base_url:
        assert httpx.get(f"{base_url}/metrics").status_code == 401  # loopback too
        wrong = httpx.get(f"{base_url}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "niochat_" not in wrong.text
        right = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}",
                                                           "X-Forwarded-For": "203.0.113.9"})
        assert right.status_code == 200 and "niochat_http_requests_total" in right.text


# --- login answers -------------------------------------------------------------------------------------------


def _attempt(api: str, email: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    response = httpx.post(f"{api}/api/v1/auth/token", data={"username": email, "password": "wrong-password-1"},
                          timeout=30)
    return response.status_code, response.text, time.perf_counter() - started


def test_login_answers_never_tell_which_emails_exist(api, people, redis_url):
    """Unknown e-mail, wrong password, a disabled user, a disabled tenant's user: the same answer, in similar time
    (one password hash check each)."""
    kinds = {"unknown": "nobody-here@nowhere.test", "wrong password": people["agent"],
             "disabled user": people["disabled"], "disabled tenant": people["other_tenant"]}
    answers, times = {}, {}
    for kind, email in kinds.items():
        clear_login_limits(redis_url)
        tries = [_attempt(api, email) for _ in range(5)]
        answers[kind] = {(status, text) for status, text, _ in tries}
        times[kind] = statistics.median(seconds for _, _, seconds in tries)
    clear_login_limits(redis_url)
    assert all(found == {(401, '{"detail":"incorrect e-mail or password"}')} for found in answers.values()), answers
    assert max(times.values()) < 2.5 * min(times.values()), times
