"""Identifiers as WhatsApp and the providers write them: JIDs, LIDs, message ids, timestamps."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from datetime import UTC, datetime

PN_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"


def digits(number: str) -> str:
    """The phone digits of "+55 (11) 91234-0001", "5511912340001@s.whatsapp.net" or "5511912340001"."""
    return re.sub(r"\D", "", number.split("@", 1)[0].split(":", 1)[0])


def pn_jid(phone: str) -> str:
    return f"{phone}@{PN_SERVER}"


def jid_for(number: str) -> str:
    """The chat JID a send addresses: a JID given as is, a bare number as a phone-number JID."""
    return number if "@" in number else pn_jid(digits(number))


def lid_for(phone: str) -> str:
    """A stable @lid for a phone, shaped like WhatsApp's (15 digits), so replays address the same sender."""
    seed = int(hashlib.sha256(phone.encode()).hexdigest(), 16) % 10**14
    return f"{10**14 + seed}@{LID_SERVER}"


def display_phone(phone: str) -> str:
    """How Uazapi writes `chat.phone`: "+55 11 91234-0001"."""
    if phone.startswith("55") and len(phone) in (12, 13):
        local = phone[4:]
        return f"+55 {phone[2:4]} {local[:-4]}-{local[-4:]}"
    return f"+{phone}"


def api_message_id() -> str:
    """Id of a message sent through the API (whatsmeow/Baileys style: 3EB0 + 18 hex)."""
    return "3EB0" + secrets.token_hex(9).upper()


def phone_message_id() -> str:
    """Id of a message typed on a phone, as Uazapi delivers them (AC + 30 hex)."""
    return "AC" + secrets.token_hex(15).upper()


def evolution_inbound_id() -> str:
    """Id of a customer's message as Evolution delivers them (3EB0 + 16 hex, like the fixtures)."""
    return "3EB0" + secrets.token_hex(8).upper()


def cuid() -> str:
    """Evolution's database ids (Prisma cuid): "cm" + 23 lowercase alphanumerics."""
    alphabet = string.ascii_lowercase + string.digits
    return "cm" + "".join(secrets.choice(alphabet) for _ in range(23))


def uazapi_chat_id(instance: str, phone: str) -> str:
    """Uazapi's internal chat id: "r" + 14 hex, stable per instance and contact."""
    return "r" + hashlib.sha1(f"{instance}:{phone}".encode()).hexdigest()[:14]


def now() -> datetime:
    return datetime.now(UTC)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as Evolution writes `date_time`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
