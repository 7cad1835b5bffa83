"""What the webhook parsers' tests share: the captures in tests/fixtures/{uazapi,evolution}/, the people in
them, and builders of the events the parsers must return."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.webhooks import evolution, uazapi
from api.webhooks.events import (
    ConnectionUpdate,
    InboundMessage,
    ParsedWebhook,
)
from tests.support.basics import fixtures_dir

PROVIDERS = ("uazapi", "evolution")
PARSERS: dict[str, Callable[[object], ParsedWebhook]] = {"uazapi": uazapi.parse, "evolution": evolution.parse}


FIXTURES = fixtures_dir()
FIXTURE_CASES = [
    f"{provider}/{path.name}" for provider in PROVIDERS for path in sorted((FIXTURES / provider).glob("*.json"))
]


def load(case: str) -> Any:
    return json.loads((FIXTURES / case).read_text(encoding="utf-8"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------ expectations

CUSTOMER = "5511912340001"
CUSTOMER_LID = "100000000000001@lid"
OWNER = "5511987650000"  # the instance's own number
OWNER_LID = "100000000000002@lid"
MEDIA = "https://media.example.invalid/redacted"
UAZAPI_TOKEN = "xxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
EVOLUTION_INSTANCE = "provedor-exemplo"


def uaz_connection(state: str, instance: str) -> ParsedWebhook:
    return ParsedWebhook(token=UAZAPI_TOKEN, instance=instance, events=(ConnectionUpdate(state=state),))


def uaz_message(message_id: str, at: str, content_type: str, *, from_me: bool, **fields: Any) -> ParsedWebhook:
    """A 1:1 message with the customer, as the captures have it (customer addressed by LID, phone known)."""
    values: dict[str, Any] = {
        "provider_message_id": message_id,
        "phone": CUSTOMER,
        "lid": CUSTOMER_LID,
        "name": "Cliente Exemplo",
        "content_type": content_type,
        "text": None,
        "media_url": None,
        "media_mime": None,
        "quoted_provider_id": None,
        "timestamp": utc(at),
        "from_me": from_me,
        "sent_by_api": False,
        "is_group": False,
    }
    values.update(fields)
    return ParsedWebhook(token=UAZAPI_TOKEN, instance="eKoB39", events=(InboundMessage(**values),))


def uaz_media(message_id: str, at: str, content_type: str, mime: str, *, from_me: bool, size: int,
              seconds: int | None = None, file_name: str | None = None) -> ParsedWebhook:
    """A media message: the provider's declared size, duration and file name come along (limits, receipts)."""
    return uaz_message(message_id, at, content_type, from_me=from_me, media_url=MEDIA, media_mime=mime,
                       media_size=size, media_seconds=seconds, media_file_name=file_name)


def evo_message(message_id: str, at: str, **fields: Any) -> ParsedWebhook:
    values: dict[str, Any] = {
        "provider_message_id": message_id,
        "phone": CUSTOMER,
        "lid": None,
        "name": "Cliente Exemplo",
        "content_type": "text",
        "text": None,
        "media_url": None,
        "media_mime": None,
        "quoted_provider_id": None,
        "timestamp": utc(at),
        "from_me": False,
        "sent_by_api": None,
        "is_group": False,
    }
    values.update(fields)
    return ParsedWebhook(token=None, instance=EVOLUTION_INSTANCE, events=(InboundMessage(**values),))


OPUS = "audio/ogg; codecs=opus"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ------------------------------------------------------------------------------------------ malformed


def uaz_text() -> dict:
    return load("uazapi/user-chat__from-others__text.sent.json")


def evo_text() -> dict:
    return load("evolution/messages.upsert.text.json")


def with_changes(payload: dict, changes: dict[tuple, Any]) -> dict:
    """Copy `payload` and set (or, with DROP, delete) the values at the given key paths."""
    result = copy.deepcopy(payload)
    for path, value in changes.items():
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        if value is DROP:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return result


DROP = object()


def _materialize(body: Any) -> Any:
    return body() if callable(body) else body


# ------------------------------------------------------------------------------------------ uazapi variants


def only_event(result: ParsedWebhook):
    assert len(result.events) == 1
    return result.events[0]


def receipt(state: str, ids: list[str], **extra: Any) -> dict:
    """messages_update as uazapiGO v2 delivers a receipt (see the shape documented in api/webhooks/uazapi.py)."""
    return {
        "BaseUrl": "https://xxxx.uazapi.com",
        "EventType": "messages_update",
        "type": "ReadReceipt",
        "state": state,
        "token": UAZAPI_TOKEN,
        "owner": OWNER,
        "instanceName": "eKoB39",
        "event": {
            "MessageIDs": ids,
            "Chat": f"{CUSTOMER}@s.whatsapp.net",
            "Sender": CUSTOMER_LID,
            "IsFromMe": "False",
            "IsGroup": "False",
            "Timestamp": "1770146300",
            "Type": state,
        },
        **extra,
    }


# ------------------------------------------------------------------------------------------ evolution variants


def evo_with_message(message: dict, **data: Any) -> dict:
    payload = evo_text()
    payload["data"]["message"] = message
    payload["data"].update(data)
    return payload

