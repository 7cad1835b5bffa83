"""Whether a WhatsApp number is one of the phones registered for a customer."""

from __future__ import annotations

import re


def _national(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    return digits


def same_phone(whatsapp: str, registered: str) -> bool:
    """Same area code and last 8 digits: WhatsApp drops the mobile 9 for older accounts, and SGPs store
    numbers with or without country code and punctuation."""
    a, b = _national(whatsapp), _national(registered)
    if len(a) < 10 or len(b) < 10:
        return False
    return a[:2] == b[:2] and a[-8:] == b[-8:]


def registered(whatsapp: str | None, phones: tuple[str, ...]) -> bool:
    """Whether the customer writes from a phone on file. A customer WhatsApp shows only by LID (no phone) is
    treated like an unregistered number."""
    return whatsapp is not None and any(same_phone(whatsapp, phone) for phone in phones)
