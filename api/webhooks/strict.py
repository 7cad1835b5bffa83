"""Reads of the fields a webhook payload cannot do without, for both providers: a value of the wrong type
raises `MalformedPayload` naming the field (the route answers 422 with that message)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from api.webhooks.events import MalformedPayload
from api.webhooks.fields import MAX_EPOCH_SECONDS, kind, show


def optional_str(payload: dict, key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} must be a string or null, got {kind(value)}")
    return value or None


def required_str(obj: dict, key: str, field: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise MalformedPayload(f"{field} is missing")
    if not isinstance(value, str) or not value.strip():
        raise MalformedPayload(f"{field} must be a non-empty string, got {show(value)}")
    return value.strip()


def boolean(value: object, field: str, default: bool | None = False) -> bool | None:
    """true/false as providers write them: a JSON boolean, "true"/"false", 0/1; missing or "" is `default`."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise MalformedPayload(f"{field} must be a boolean, got {show(value)}")


def flag(value: object, field: str) -> bool:
    """A boolean that is false when missing (fromMe and the like)."""
    return bool(boolean(value, field))


def epoch(value: object, field: str, *, per_second: int, longs: bool = False) -> datetime:
    """A moment as a number of seconds (`per_second` 1) or milliseconds (1000) since the epoch: a number or a
    numeric string; with `longs`, a protobuf Long ({"low", "high", "unsigned"}) too, as Baileys writes them."""
    unit = "seconds" if per_second == 1 else "milliseconds"
    if value is None or value == "":
        raise MalformedPayload(f"{field} is missing")
    number: float | int
    if longs and isinstance(value, dict):
        low, high = value.get("low"), value.get("high")
        if not (isinstance(low, int) and isinstance(high, int)) or isinstance(low, bool) or isinstance(high, bool):
            raise MalformedPayload(f"{field} must be a number of {unit}, got {show(value)}")
        number = (high << 32) | (low & 0xFFFFFFFF) if 0 <= high < 2**32 else -1
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedPayload(f"{field} must be a number of {unit}, got {show(value)}")
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            try:
                number = float(value.strip())
            except ValueError:
                raise MalformedPayload(f"{field} must be a number of {unit}, got {show(value)}") from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise MalformedPayload(f"{field} must be a finite number, got {show(value)}")
    if not 0 <= number <= MAX_EPOCH_SECONDS * per_second:
        raise MalformedPayload(f"{field} is out of range: {show(value)}")
    return datetime.fromtimestamp(number / per_second if per_second != 1 else number, tz=UTC)
