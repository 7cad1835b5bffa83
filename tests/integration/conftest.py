"""The API as the agents' desk meets it (tests/support/desk.py): served on a free port, once per module that asks."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from niochat.embedded import ServiceUrls
from tests.support.desk import Desk, api_settings, make_desk
from tests.support.servers import serving


@pytest.fixture(scope="module")
def urls(database_url, redis_url) -> ServiceUrls:
    return ServiceUrls(database_url, database_url, redis_url)


@pytest.fixture(scope="module")
def api(tmp_path_factory, urls):
    """A client of the API (a module may define its own `api` with other settings)."""
    with serving(create_app(api_settings(tmp_path_factory), urls)) as base_url:
        with httpx.Client(base_url=base_url, timeout=20) as client:
            yield client


@pytest.fixture
def desk(api, engine) -> Desk:
    """A new tenant with agent (suporte), agent2 (financeiro), a manager and an admin, and their tokens."""
    return make_desk(api, engine)
