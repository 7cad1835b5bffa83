"""Normalize Evolution API v2 webhook deliveries into `ParsedWebhook`.

Evolution posts `{event, instance, data, destination, date_time, sender, server_url, apikey}`; `event` is
"messages.upsert" / "send.message" / "messages.update" / "messages.edited" / "contacts.update" /
"connection.update" (some versions send "MESSAGES_UPSERT" etc.), and `data` is one object or, in some versions,
a list of them (each becomes one event). See tests/fixtures/evolution/ for the shapes.

Evolution's Baileys socket runs with `emitOwnEvents: false`: a message we send through the API never comes back
as `messages.upsert`; it comes as `send.message` (same `data` shape, `fromMe: true`). What a person types on
the instance's phone does come as `messages.upsert` with `fromMe`. An edit comes as `messages.edited` with the
bare `protocolMessage` as `data` (`key.id` is the edited message's id); its upsert is not delivered.

Identity fields of an `InboundMessage` (phone, lid, name) always describe the customer, the other party of the
chat (`key.remoteJid`), also for `fromMe` messages; in a group they describe the participant who wrote. The
phone of an `@lid` chat comes from `key.remoteJidAlt` (or `key.senderPn` in older 2.x builds); WhatsApp may
withhold it, and then the customer is known by the LID alone. The instance owner's `pushName` on `fromMe`
messages is not reported as the customer's name.

`provider_message_id` is the WhatsApp message id (`key.id`), the same id a send returns in `key.id` and a status
update carries in `keyId` (`data.messageId` of a status update is Evolution's database id, not used).

`parse` is pure and raises only `MalformedPayload`.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime

from api.webhooks.events import (
    ConnectionUpdate,
    ContactUpdate,
    Ignored,
    InboundMessage,
    MalformedPayload,
    ParsedWebhook,
    StatusUpdate,
    WebhookEvent,
)
from api.webhooks.fields import (
    ASCII_DIGITS as _ASCII_DIGITS,
    MAX_EPOCH_SECONDS as _MAX_EPOCH_SECONDS,
    first_lid as _first_lid,
    first_phone as _first_phone,
    kind as _kind,
    location_text as _location_text,
    media_details as _media_details,
    server as _server,
    show as _show,
    text as _text,
)

# Containers whose `message` holds the real content.
_WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "deviceSentMessage",
    "editedMessage",
)
# Content keys of a WhatsApp message, in the order they are looked for, and our content type for each.
_CONTENT_KEYS = {
    "conversation": "text",
    "extendedTextMessage": "text",
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "locationMessage": "location",
    "liveLocationMessage": "location",
    "contactMessage": "contact",
    "contactsArrayMessage": "contact",
    "reactionMessage": "reaction",
    "listResponseMessage": "text",
    "buttonsResponseMessage": "text",
    "templateButtonReplyMessage": "text",
    "interactiveResponseMessage": "text",
    "pollCreationMessage": "other",
    "pollCreationMessageV2": "other",
    "pollCreationMessageV3": "other",
    "pollUpdateMessage": "other",
}
_MEDIA = frozenset({"image", "video", "audio", "document", "sticker"})

# Message status (normalized: upper case, "_" for separators) -> our status. PENDING (still queued on the phone)
# and DELETED are not delivery states and are ignored. Some versions send Baileys' numeric codes instead.
_STATUSES = {
    "ERROR": "failed",
    "FAILED": "failed",
    "SERVER_ACK": "sent",
    "SENT": "sent",
    "DELIVERY_ACK": "delivered",
    "DELIVERED": "delivered",
    "READ": "read",
    "PLAYED": "read",
}
_NUMERIC_STATUSES = {0: "failed", 2: "sent", 3: "delivered", 4: "read", 5: "read"}

_CONNECTION_STATES = {
    "open": "connected",
    "connected": "connected",
    "connecting": "connecting",
    "close": "disconnected",
    "closed": "disconnected",
    "refused": "disconnected",
    "disconnected": "disconnected",
}


def parse(payload: object) -> ParsedWebhook:
    """Parse one Evolution API webhook body (already decoded from JSON)."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"Evolution payload must be a JSON object, got {_kind(payload)}")
    event_name = payload.get("event")
    if event_name is None:
        raise MalformedPayload("Evolution payload has no 'event'")
    if not isinstance(event_name, str) or not event_name.strip():
        raise MalformedPayload(f"'event' must be a non-empty string, got {_show(event_name)}")
    token = _optional_str(payload, "apikey")
    instance = _optional_str(payload, "instance")

    kind = event_name.strip().lower().replace("_", ".").replace("-", ".")
    handler = _HANDLERS.get(kind)
    if handler is None:
        return ParsedWebhook(token=token, instance=instance, events=(Ignored(f"unsupported_event:{event_name}"),))

    data = payload.get("data")
    if data is None:
        raise MalformedPayload(f"'{event_name}' event without 'data'")
    if isinstance(data, dict) and kind in _MESSAGE_EVENTS and "key" not in data and "messages" in data:
        data = data["messages"]  # Baileys-style {"messages": [...], "type": "notify"}
    if isinstance(data, dict):
        items = [("data", data)]
    elif isinstance(data, list):
        items = []
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise MalformedPayload(f"data[{index}] must be an object, got {_kind(item)}")
            items.append((f"data[{index}]", item))
    else:
        raise MalformedPayload(f"'data' must be an object or a list of objects, got {_kind(data)}")
    return ParsedWebhook(token=token, instance=instance, events=tuple(handler(item, path) for path, item in items))


# --------------------------------------------------------------------------------------------- messages


def _message(data: dict, path: str) -> WebhookEvent:
    key = data.get("key")
    if not isinstance(key, dict):
        raise MalformedPayload(f"{path}.key must be an object, got {_kind(key)}")
    provider_id = _required_str(key, "id", f"{path}.key.id")
    remote_jid = _required_str(key, "remoteJid", f"{path}.key.remoteJid")
    from_me = _bool(key.get("fromMe"), f"{path}.key.fromMe")
    timestamp = _timestamp_s(data.get("messageTimestamp"), f"{path}.messageTimestamp")

    server = _server(remote_jid)
    if server in ("broadcast", "newsletter"):
        return Ignored(f"unsupported_chat:{server}")
    is_group = server == "g.us" or data.get("isGroup") is True

    if is_group:
        candidates = [_text(key.get(k)) for k in ("participant", "participantAlt", "participantPn")]
        candidates.append(_text(data.get("participant")))
        phone = _first_phone(*candidates) or _group_digits(remote_jid)
        lid = _first_lid(*candidates)
    else:
        candidates = [remote_jid, _text(key.get("remoteJidAlt")), _text(key.get("senderPn"))]
        phone = _first_phone(*candidates)
        lid = _first_lid(*candidates, _text(key.get("senderLid")))
        if phone is None and lid is None:
            raise MalformedPayload(
                f"cannot tell who wrote: {path}.key.remoteJid is {_show(remote_jid)}, neither a phone nor a LID, "
                f"and {path}.key.remoteJidAlt holds neither"
            )
    name = None if from_me else _text(data.get("pushName"))

    message = data.get("message")
    if message is None:
        return Ignored("empty_message")  # e.g. a message the instance could not decrypt (messageStubType)
    if not isinstance(message, dict):
        raise MalformedPayload(f"{path}.message must be an object, got {_kind(message)}")
    s3_url = _text(message.get("mediaUrl")) or _text(data.get("mediaUrl"))
    message, edit_of = _unwrap(message)
    if message is None:
        return Ignored("unsupported_message:protocolMessage")

    content_key = _content_key(message, _text(data.get("messageType")))
    content_type = _CONTENT_KEYS.get(content_key or "", "other")
    raw = message.get(content_key) if content_key else None
    content = raw if isinstance(raw, dict) else {}

    text: str | None = None
    media_url = media_mime = file_name = size = seconds = choice_id = None
    context = content.get("contextInfo") if isinstance(content.get("contextInfo"), dict) else data.get("contextInfo")
    quoted = _text(context.get("stanzaId")) if isinstance(context, dict) else None
    if content_key == "conversation":
        text = _text(raw)
    elif content_key == "extendedTextMessage":
        text = _text(content.get("text"))
    elif content_type in _MEDIA:
        text = _text(content.get("caption"))
        media_url = s3_url or _text(content.get("url"))
        media_mime = _text(content.get("mimetype"))
        file_name, size, seconds = _media_details(content)
    elif content_type == "location":
        text = _location_text(content)
    elif content_key == "contactMessage":
        text = _text(content.get("vcard")) or _text(content.get("displayName"))
    elif content_key == "contactsArrayMessage":
        contacts = content.get("contacts") if isinstance(content.get("contacts"), list) else []
        cards = [_text(c.get("vcard")) or _text(c.get("displayName")) for c in contacts if isinstance(c, dict)]
        text = "\n".join(c for c in cards if c) or _text(content.get("displayName"))
    elif content_type == "reaction":
        text = _text(content.get("text"))
        reacted = content.get("key")
        quoted = (_text(reacted.get("id")) if isinstance(reacted, dict) else None) or quoted
    elif content_key == "listResponseMessage":
        reply = content.get("singleSelectReply") if isinstance(content.get("singleSelectReply"), dict) else {}
        choice_id = _text(reply.get("selectedRowId"))
        text = _text(content.get("title")) or choice_id
    elif content_key == "buttonsResponseMessage":
        choice_id = _text(content.get("selectedButtonId"))
        text = _text(content.get("selectedDisplayText")) or choice_id
    elif content_key == "templateButtonReplyMessage":
        choice_id = _text(content.get("selectedId"))
        text = _text(content.get("selectedDisplayText")) or choice_id
    elif content_key == "interactiveResponseMessage":
        body = content.get("body") if isinstance(content.get("body"), dict) else {}
        choice_id = _native_flow_id(content.get("nativeFlowResponseMessage"))
        text = _text(body.get("text")) or choice_id
    elif content_key is not None and content_key.startswith("pollCreationMessage"):
        text = _text(content.get("name"))

    return InboundMessage(
        provider_message_id=provider_id,
        phone=phone,
        lid=lid,
        name=name,
        content_type=content_type,
        text=text,
        media_url=media_url,
        media_mime=media_mime,
        quoted_provider_id=quoted,
        timestamp=timestamp,
        from_me=from_me,
        sent_by_api=None,
        is_group=is_group,
        edit_of=edit_of,
        media_file_name=file_name,
        media_size=size,
        media_seconds=seconds,
        choice_id=choice_id,
    )


def _native_flow_id(flow: object) -> str | None:
    """The id of an interactive (native flow) reply: `paramsJson` is a JSON string like '{"id": "..."}'."""
    if not isinstance(flow, dict) or not isinstance(flow.get("paramsJson"), str):
        return None
    try:
        params = json.loads(flow["paramsJson"])
    except ValueError:
        return None
    return _text(params.get("id")) if isinstance(params, dict) else None


def _unwrap(message: dict) -> tuple[dict | None, str | None]:
    """Strip ephemeral/view-once/edit containers; an edit yields its new content and the edited message's id
    (None when it does not say which message it replaces: then it is read as a new message, not lost).

    Returns (None, None) for protocol messages that are not edits (revokes, ephemeral settings, key shares).
    """
    edit_of: str | None = None
    for _ in range(8):  # containers nest at most a few levels deep; bound the walk anyway
        for wrapper in _WRAPPERS:
            inner = message.get(wrapper)
            if isinstance(inner, dict) and isinstance(inner.get("message"), dict):
                message = inner["message"]
                break
        else:
            protocol = message.get("protocolMessage")
            if not isinstance(protocol, dict):
                return message, edit_of
            new_content = protocol.get("editedMessage")
            if not isinstance(new_content, dict):
                return None, None
            edited_key = protocol.get("key") if isinstance(protocol.get("key"), dict) else {}
            edit_of = _text(edited_key.get("id")) or edit_of
            message = new_content
    return message, edit_of


def _edit(data: dict, path: str) -> WebhookEvent:
    """`messages.edited`: Evolution sends the protocolMessage itself ({key, type, editedMessage, timestampMs})."""
    protocol = data.get("protocolMessage") if isinstance(data.get("protocolMessage"), dict) else data
    key = protocol.get("key")
    if not isinstance(key, dict):
        raise MalformedPayload(f"{path}.key must be an object (the edited message's key), got {_kind(key)}")
    edited_id = _required_str(key, "id", f"{path}.key.id")
    remote_jid = _required_str(key, "remoteJid", f"{path}.key.remoteJid")
    content = protocol.get("editedMessage")
    if not isinstance(content, dict):
        return Ignored("edit_without_content")
    content, _ = _unwrap(content)
    content_key = _content_key(content or {}, None)
    raw = (content or {}).get(content_key) if content_key else None
    if content_key == "conversation":
        new_text = _text(raw)
    elif isinstance(raw, dict):
        new_text = _text(raw.get("text")) or _text(raw.get("caption"))
    else:
        new_text = None
    if new_text is None:
        return Ignored("edit_without_text")
    candidates = [remote_jid, _text(key.get("remoteJidAlt")), _text(key.get("senderPn"))]
    phone, lid = _first_phone(*candidates), _first_lid(*candidates)
    moment = protocol.get("timestampMs")
    timestamp = (_timestamp_s(moment // 1000, f"{path}.timestampMs") if _is_count(moment)
                 else datetime.now(UTC))
    if phone is None and lid is None:
        raise MalformedPayload(f"cannot tell whose message was edited: {path}.key.remoteJid is {_show(remote_jid)}")
    return InboundMessage(
        # the same edit delivered again gets the same id (dedup); another edit of the same message does not
        provider_message_id=f"{edited_id}:edit:{hashlib.sha256(new_text.encode()).hexdigest()[:16]}",
        phone=phone, lid=lid, name=None, content_type="text", text=new_text, media_url=None, media_mime=None,
        quoted_provider_id=None, timestamp=timestamp, from_me=_bool(key.get("fromMe"), f"{path}.key.fromMe"),
        sent_by_api=None, is_group=_server(remote_jid) == "g.us", edit_of=edited_id,
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _content_key(message: dict, message_type: str | None) -> str | None:
    if message_type in _CONTENT_KEYS and message.get(message_type) is not None:
        return message_type
    for key in _CONTENT_KEYS:
        if message.get(key) is not None:
            return key
    return None


# --------------------------------------------------------------------------------------------- status


def _status_update(data: dict, path: str) -> WebhookEvent:
    message_id = data.get("keyId")
    id_field = f"{path}.keyId"
    if message_id is None and isinstance(data.get("key"), dict):  # older shape: {"key": {...}, "update": {...}}
        message_id, id_field = data["key"].get("id"), f"{path}.key.id"
    if message_id is None or message_id == "":
        raise MalformedPayload(f"{path}.keyId is missing (the WhatsApp id of the updated message)")
    if not isinstance(message_id, str) or not message_id.strip():
        raise MalformedPayload(f"{id_field} must be a non-empty string, got {_show(message_id)}")

    key = data.get("key") if isinstance(data.get("key"), dict) else {}
    if data.get("fromMe") is False or key.get("fromMe") is False:
        # a receipt for a message the customer sent (e.g. the instance read it): not a delivery state of ours
        return Ignored("status_of_received_message")

    status = data.get("status")
    if status is None and isinstance(data.get("update"), dict):
        status = data["update"].get("status")
    if status is None or status == "":
        return Ignored("update_without_status")  # e.g. an edit or a poll vote delivered as an update
    if isinstance(status, int) and not isinstance(status, bool):
        mapped = _NUMERIC_STATUSES.get(status)
    elif isinstance(status, str):
        mapped = _STATUSES.get(status.strip().upper().replace("-", "_").replace(" ", "_"))
    else:
        raise MalformedPayload(f"{path}.status must be a string, got {_show(status)}")
    if mapped is None:
        return Ignored(f"unsupported_status:{str(status).strip()}")
    return StatusUpdate(provider_message_ids=(message_id.strip(),), status=mapped)


# --------------------------------------------------------------------------------------------- contacts


def _contact(data: dict, path: str) -> WebhookEvent:
    """`contacts.update` / `contacts.upsert`: worth something only when it pairs a LID with a phone (newer
    builds carry `remoteJidAlt`, `lid` or `phoneNumber` beside `remoteJid`); a name or a picture alone is not."""
    candidates = [_text(data.get(k)) for k in ("remoteJid", "remoteJidAlt", "id", "lid", "phoneNumber", "jid")]
    phone, lid = _first_phone(*candidates), _first_lid(*candidates)
    if phone is None or lid is None:
        return Ignored("contact_without_lid_and_phone")
    return ContactUpdate(lid=lid, phone=phone, name=_text(data.get("pushName")))


# --------------------------------------------------------------------------------------------- connection


def _connection(data: dict, path: str) -> WebhookEvent:
    state = data.get("state")
    if state is None:
        raise MalformedPayload(f"{path}.state is missing")
    if not isinstance(state, str) or not state.strip():
        raise MalformedPayload(f"{path}.state must be a non-empty string, got {_show(state)}")
    mapped = _CONNECTION_STATES.get(state.strip().lower())
    if mapped is None:
        return Ignored(f"unsupported_connection_state:{state.strip()}")
    return ConnectionUpdate(state=mapped)


# --------------------------------------------------------------------------------------------- helpers


def _optional_str(payload: dict, key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} must be a string or null, got {_kind(value)}")
    return value or None


def _required_str(obj: dict, key: str, field: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise MalformedPayload(f"{field} is missing")
    if not isinstance(value, str) or not value.strip():
        raise MalformedPayload(f"{field} must be a non-empty string, got {_show(value)}")
    return value.strip()


def _bool(value: object, field: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise MalformedPayload(f"{field} must be a boolean, got {_show(value)}")


def _timestamp_s(value: object, field: str) -> datetime:
    """Seconds since the epoch: a number, a numeric string, or a protobuf Long ({"low", "high", "unsigned"})."""
    if value is None or value == "":
        raise MalformedPayload(f"{field} is missing")
    number: float | int
    if isinstance(value, dict):
        low, high = value.get("low"), value.get("high")
        if not (isinstance(low, int) and isinstance(high, int)) or isinstance(low, bool) or isinstance(high, bool):
            raise MalformedPayload(f"{field} must be a number of seconds, got {_show(value)}")
        number = (high << 32) | (low & 0xFFFFFFFF) if 0 <= high < 2**32 else -1
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedPayload(f"{field} must be a number of seconds, got {_show(value)}")
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            try:
                number = float(value.strip())
            except ValueError:
                raise MalformedPayload(f"{field} must be a number of seconds, got {_show(value)}") from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise MalformedPayload(f"{field} must be a finite number, got {_show(value)}")
    if not 0 <= number <= _MAX_EPOCH_SECONDS:
        raise MalformedPayload(f"{field} is out of range: {_show(value)}")
    return datetime.fromtimestamp(number, tz=UTC)


def _group_digits(jid: str) -> str | None:
    digits = "".join(c for c in jid.partition("@")[0] if c in _ASCII_DIGITS)
    return digits or None


_MESSAGE_EVENTS = ("messages.upsert", "send.message")
_HANDLERS = {
    "messages.upsert": _message,
    "send.message": _message,  # our own sends: Evolution does not echo them as upserts
    "messages.update": _status_update,
    "messages.edited": _edit,
    "contacts.update": _contact,
    "contacts.upsert": _contact,
    "connection.update": _connection,
}
