"""What Uazapi and Evolution payloads share: WhatsApp JIDs, phone digits, loosely typed JSON values."""

from __future__ import annotations

import math

ASCII_DIGITS = frozenset("0123456789")
PHONE_SERVERS = ("s.whatsapp.net", "c.us")
MAX_EPOCH_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def text(value: object) -> str | None:
    """A non-blank string (without NUL characters, which PostgreSQL cannot store); anything else (missing,
    empty, wrong type) as None."""
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "")
    return value if value.strip() else None


def server(jid: str) -> str:
    return jid.rpartition("@")[2].strip().lower() if "@" in jid else ""


def phone(value: str | None) -> str | None:
    """Digits of a phone JID ("5511...@s.whatsapp.net", "5511...:12@s.whatsapp.net") or a plain number."""
    if value is None:
        return None
    user, at, server = value.partition("@")
    if at and server.strip().lower() not in PHONE_SERVERS:
        return None
    user = user.partition(":")[0]  # device suffix
    if not at and not set(user) <= ASCII_DIGITS | set("+-() ."):
        return None
    digits = "".join(c for c in user if c in ASCII_DIGITS)
    return digits if 8 <= len(digits) <= 15 else None


def first_phone(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if (found := phone(candidate)) is not None:
            return found
    return None


def group_digits(jid: str | None) -> str | None:
    """The digits of a group's JID: the last resort for a participant's phone."""
    if jid is None:
        return None
    digits = "".join(c for c in jid.partition("@")[0] if c in ASCII_DIGITS)
    return digits or None


def first_lid(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate is not None and server(candidate) == "lid" and candidate.partition("@")[0].strip():
            return candidate.strip()
    return None


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def show(value: object) -> str:
    """A short rendering of an offending value for error messages (never the whole of a large value)."""
    if isinstance(value, dict | list):
        return kind(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return "a very large number"
    return repr(value)[:60]


def count(value: object) -> int | None:
    """A non-negative whole number as providers write sizes and durations: 4920, "4920", or a protobuf Long
    ({"low": 4920, "high": 0}); anything else (missing, negative, garbage) as None. Never raises: these are
    hints for limits, not identity."""
    if isinstance(value, dict):
        low, high = value.get("low"), value.get("high")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool) and 0 <= high < 2**21:
            return (high << 32) | (low & 0xFFFFFFFF)
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if is_number(value) and value >= 0 and float(value).is_integer():
        return int(value)
    return None

