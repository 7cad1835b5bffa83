"""What the callbacks need, built once per app: the marts, Redis, the accounts, the API client and the sessions'
API tokens; and the shared period."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis

from dash_app.auth import Accounts
from dash_app.components import Column
from dash_app.warehouse import Marts
from dash_app.workspace.client import ApiClient
from dash_app.workspace.tokens import TokenStore

DEFAULT_DAYS = 30
MAX_DAYS = 366
DEFAULT_TZ = ZoneInfo("America/Sao_Paulo")


@dataclass
class Deps:
    marts: Marts
    redis: redis.Redis
    accounts: Accounts
    api: ApiClient  # the workspace's way to the API
    tokens: TokenStore  # each session's API token
    ws_url: str  # where browsers open the API's live socket


@dataclass(frozen=True)
class TableSpec:
    """A table on a page: fetched for the session's tenant and period, shown, and downloadable as CSV."""

    table_id: str
    title: str
    columns: Sequence[Column]
    fetch: Callable[[Deps, str, date, date], list[dict]]
    empty_title: str
    empty_hint: str | None = None
    filename: str = field(default="")


def today() -> date:
    return datetime.now(DEFAULT_TZ).date()


def default_period() -> dict:
    end = today()
    return {"start": (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "end": end.isoformat()}


def parse_period(data) -> tuple[date, date]:
    """The period in the shared store, validated (malformed -> the default; at most MAX_DAYS long)."""
    try:
        start, end = date.fromisoformat(str(data["start"])[:10]), date.fromisoformat(str(data["end"])[:10])
    except (TypeError, KeyError, ValueError):
        fallback = default_period()
        start, end = date.fromisoformat(fallback["start"]), date.fromisoformat(fallback["end"])
    if end < start:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end
