"""Business hours per tenant: whether a human can answer now, and how to say when they can."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"mon": "seg", "tue": "ter", "wed": "qua", "thu": "qui", "fri": "sex", "sat": "sáb", "sun": "dom"}
DEFAULT_HOURS = {**{day: [["08:00", "18:00"]] for day in DAYS[:5]}, "sat": [["08:00", "12:00"]], "sun": []}


def _hours(settings: dict) -> dict:
    configured = settings.get("business_hours")
    return configured if isinstance(configured, dict) else DEFAULT_HOURS


def is_open(settings: dict, timezone: str, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(timezone))
    for start, end in _hours(settings).get(DAYS[local.weekday()], []):
        if time.fromisoformat(start) <= local.time() < time.fromisoformat(end):
            return True
    return False


def describe(settings: dict) -> str:
    """'seg a sex, 08:00–18:00; sáb, 08:00–12:00' from the configured week."""
    groups: list[tuple[list[str], str]] = []
    for day in DAYS:
        spans = ", ".join(f"{a}–{b}" for a, b in _hours(settings).get(day, []))
        if not spans:
            continue
        if groups and groups[-1][1] == spans and DAYS.index(groups[-1][0][-1]) == DAYS.index(day) - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    parts = []
    for days, spans in groups:
        label = DAY_NAMES[days[0]] if len(days) == 1 else f"{DAY_NAMES[days[0]]} a {DAY_NAMES[days[-1]]}"
        parts.append(f"{label}, {spans}")
    return "; ".join(parts) or "sem horário definido"
