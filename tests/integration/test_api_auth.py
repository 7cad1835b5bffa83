"""The API over real HTTP: health, readiness, metrics, login and the tenant-scoped user."""

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from api.app import create_app
from api.security import ALGORITHM, AUDIENCE, issue_token
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.tables import audit_log, tenants, users
from tests.support.basics import TEST_SECRET
from tests.support.factories import PASSWORD, clear_login_limits, full_tenant
from tests.support.servers import serving


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url, redis_url):
    from niochat.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, _env_file=None)
    urls = ServiceUrls(database_url, database_url, redis_url)
    with serving(create_app(settings, urls)) as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            yield client


@pytest.fixture
def tenant(engine):
    with engine.begin() as conn:
        return full_tenant(conn)


def _email(tenant) -> str:
    return f"agent@{tenant.slug}.test"


def _login(api, email, password=PASSWORD) -> httpx.Response:
    return api.post("/api/v1/auth/token", data={"username": email, "password": password})


def _me(api, token) -> httpx.Response:
    return api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_health_ready_and_metrics(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    metrics = api.get("/metrics").text
    assert 'niochat_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics
    api.get("/no/such/page")
    metrics = api.get("/metrics").text
    assert 'niochat_http_requests_total{method="GET",route="unmatched",status="404"}' in metrics


def test_readyz_is_503_when_redis_is_unreachable(tmp_path, database_url):
    from niochat.settings import Settings

    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)
    urls = ServiceUrls(database_url, database_url, "redis://127.0.0.1:1/0")
    with serving(create_app(settings, urls)) as base_url:
        ready = httpx.get(f"{base_url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["checks"]["postgres"] == "ok"
    assert ready.json()["checks"]["redis"].startswith("error")


def test_login_issues_a_token_scoped_to_the_users_tenant(api, tenant, engine):
    response = _login(api, _email(tenant).upper())  # e-mail is case-insensitive
    assert response.status_code == 200, response.text
    assert 'route="/api/v1/auth/token",status="200"' in api.get("/metrics").text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = _me(api, body["access_token"]).json()
    assert me["tenant_id"] == str(tenant.tenant_id) and me["role"] == "agent"
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).where(audit_log.c.tenant_id == tenant.tenant_id)).scalars()
        assert "login" in list(actions)


@pytest.mark.parametrize(
    ("email", "password"), [("known", "wrong-password"), ("nobody@nowhere.test", PASSWORD), ("known", "")]
)
def test_wrong_credentials_get_401(api, tenant, email, password):
    response = _login(api, _email(tenant) if email == "known" else email, password)
    assert response.status_code in (401, 422)
    if password:
        assert response.status_code == 401
        assert response.json()["detail"] == "incorrect e-mail or password"
        assert response.headers["www-authenticate"] == "Bearer"


def test_disabled_user_gets_no_token_and_loses_the_one_it_had(api, tenant, engine):
    token = _login(api, _email(tenant)).json()["access_token"]
    assert _me(api, token).status_code == 200
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.tenant_id == tenant.tenant_id).values(is_active=False))
    assert _login(api, _email(tenant)).status_code == 403
    assert _me(api, token).status_code == 401


def test_disabled_tenant_locks_its_users_out(api, tenant, engine):
    token = _login(api, _email(tenant)).json()["access_token"]
    with engine.begin() as conn:
        conn.execute(update(tenants).where(tenants.c.id == tenant.tenant_id).values(is_active=False))
    assert _login(api, _email(tenant)).status_code == 403
    assert _me(api, token).status_code == 401


def _user_id(engine, tenant):
    with engine.connect() as conn:
        return conn.scalar(select(users.c.id).where(users.c.tenant_id == tenant.tenant_id))


def test_forged_expired_and_garbage_tokens_are_refused(api, tenant, engine):
    user_id = _user_id(engine, tenant)
    forged = issue_token(Keyring("f" * 40), user_id, tenant.tenant_id, 60)
    now = datetime.now(UTC)
    expired = jwt.encode(
        {
            "sub": str(user_id),
            "tid": str(tenant.tenant_id),
            "aud": AUDIENCE,
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(hours=1),
        },
        Keyring(TEST_SECRET).signing_key,
        algorithm=ALGORITHM,
    )
    unsigned = jwt.encode({"sub": str(user_id), "tid": str(tenant.tenant_id), "aud": AUDIENCE}, None, algorithm="none")
    for token in (forged, expired, unsigned, "garbage"):
        assert _me(api, token).status_code == 401, token
    assert api.get("/api/v1/auth/me").status_code == 401


def test_token_naming_another_tenant_finds_no_user(api, engine):
    """A validly signed token whose tenant claim is not the user's tenant resolves to nobody."""
    with engine.begin() as conn:
        a, b = full_tenant(conn), full_tenant(conn)
    token = issue_token(Keyring(TEST_SECRET), _user_id(engine, a), b.tenant_id, 60)
    assert _me(api, token).status_code == 401


@pytest.fixture
def clean_login_limits(redis_url):
    """The login limits are per account and per address (127.0.0.1 here): start clean, leave clean."""
    clear_login_limits(redis_url)
    yield
    clear_login_limits(redis_url)


def test_brute_force_locks_the_account_even_with_the_right_password(api, tenant, engine, clean_login_limits):
    from niochat.lockout import FREE_FAILURES

    tries = [_login(api, _email(tenant), f"guess-{n}").status_code for n in range(FREE_FAILURES)]
    assert tries == [401] * FREE_FAILURES
    refused = _login(api, _email(tenant))  # the right password, too late
    assert refused.status_code == 429, refused.text
    assert "access_token" not in refused.text and "try again in 1 minuto" in refused.json()["detail"]
    assert 50 <= int(refused.headers["retry-after"]) <= 60
    assert _login(api, f"  {_email(tenant).upper()} ").status_code == 429  # the same account, spelled otherwise
    assert 'niochat_logins_total{outcome="locked"}' in api.get("/metrics").text
    with engine.begin() as conn:
        other = full_tenant(conn)
    assert _login(api, _email(other)).status_code == 200  # one account's lock does not lock the others


def test_the_lock_doubles_with_each_further_failure_and_a_right_password_clears_it(api, tenant, redis_url,
                                                                                    clean_login_limits):
    import redis

    from niochat.lockout import FREE_FAILURES, failures_key, lock_key

    client = redis.Redis.from_url(redis_url)
    email = _email(tenant)
    for n in range(FREE_FAILURES):
        _login(api, email, f"guess-{n}")
    waits = []
    for _ in range(3):  # the lock runs out (here: taken away), the next guess is wrong again
        waits.append(client.ttl(lock_key(email)))
        client.delete(lock_key(email))
        assert _login(api, email, "still-guessing").status_code == 401
    assert [round(w / 60) for w in waits] == [1, 2, 4]
    client.delete(lock_key(email))
    assert _login(api, email).status_code == 200
    assert client.exists(failures_key(email), lock_key(email)) == 0  # a right password starts the count afresh
    for n in range(FREE_FAILURES):  # unknown e-mails are locked alike: the lock tells nothing about accounts
        assert _login(api, "nobody@nowhere.test", f"guess-{n}").status_code == 401
    assert _login(api, "nobody@nowhere.test", "again").status_code == 429
    client.close()


def test_logins_are_refused_when_redis_cannot_be_asked(tmp_path, database_url, tenant):
    """The limits and the lockout live in Redis: without it a login is refused (503), never let through."""
    from niochat.settings import Settings

    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)
    urls = ServiceUrls(database_url, database_url, "redis://127.0.0.1:1/0")  # nothing listens there
    with serving(create_app(settings, urls)) as base, httpx.Client(base_url=base, timeout=30) as client:
        refused = _login(client, _email(tenant))
    assert refused.status_code == 503 and "access_token" not in refused.text, refused.text
    assert refused.headers["retry-after"] == "30"


def test_one_address_guessing_many_accounts_is_stopped(api, tenant, clean_login_limits):
    from api.ratelimit import LOGIN_PER_ADDRESS

    tries = [_login(api, f"guess-{n}@nowhere.test", "wrong-password").status_code
             for n in range(LOGIN_PER_ADDRESS.amount)]
    assert tries == [401] * LOGIN_PER_ADDRESS.amount
    refused = _login(api, _email(tenant))  # a real account, right password, never tried before
    assert refused.status_code == 429 and "access_token" not in refused.text


def test_a_new_password_or_logout_everywhere_ends_every_token_at_once(api, tenant, engine, clean_login_limits):
    from niochat.passwords import hash_password

    first, second = (_login(api, _email(tenant)).json()["access_token"] for _ in range(2))
    assert _me(api, first).status_code == 200 and _me(api, second).status_code == 200
    with engine.begin() as conn:  # the password changes (any way: the API, the CLI, SQL)
        conn.execute(update(users).where(users.c.email == _email(tenant))
                     .values(password_hash=hash_password("uma-senha-nova-1")))
    assert _me(api, first).status_code == 401 and _me(api, second).status_code == 401
    assert "revoked" in _me(api, first).json()["detail"]
    fresh = _login(api, _email(tenant), "uma-senha-nova-1").json()["access_token"]
    assert _me(api, fresh).status_code == 200
    other = _login(api, _email(tenant), "uma-senha-nova-1").json()["access_token"]
    ended = api.post("/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {fresh}"})
    assert ended.status_code == 204
    assert _me(api, fresh).status_code == 401 and _me(api, other).status_code == 401
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).where(audit_log.c.tenant_id == tenant.tenant_id)).scalars()
        assert "logout_all" in list(actions)
    forged_version = issue_token(Keyring(TEST_SECRET), _user_id(engine, tenant), tenant.tenant_id, 60, version=99)
    assert _me(api, forged_version).status_code == 401
