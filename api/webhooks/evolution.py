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

This module maps only Evolution's envelope and message shapes; what both providers share lives beside it:
fields.py (JIDs, phone digits, loose values), strict.py (required fields and their 422 messages), content.py
(kinds of content, media fields, building the `InboundMessage`).

`parse` is pure and raises only `MalformedPayload`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from api.webhooks.content import (
    CONTENT_KEYS as _CONTENT_KEYS,
    MEDIA_KINDS,
    NO_MEDIA,
    Content,
    Sender,
    inbound,
    location_text as _location_text,
    media as _media,
)
from api.webhooks.events import (
    ConnectionUpdate,
    ContactUpdate,
    Ignored,
    MalformedPayload,
    ParsedWebhook,
    StatusUpdate,
    WebhookEvent,
)
from api.webhooks.fields import (
    first_lid as _first_lid,
    first_phone as _first_phone,
    group_digits as _group_digits,
    kind as _kind,
    server as _server,
    show as _show,
    text as _text,
)
from api.webhooks.strict import epoch, flag as _bool, optional_str as _optional_str, required_str as _required_str

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
    sender = _sender(data, key, remote_jid, from_me, path)

    message = data.get("message")
    if message is None:
        return Ignored("empty_message")  # e.g. a message the instance could not decrypt (messageStubType)
    if not isinstance(message, dict):
        raise MalformedPayload(f"{path}.message must be an object, got {_kind(message)}")
    s3_url = _text(message.get("mediaUrl")) or _text(data.get("mediaUrl"))
    message, edit_of = _unwrap(message)
    if message is None:
        return Ignored("unsupported_message:protocolMessage")
    return inbound(provider_id, timestamp, from_me, sender, _content(data, message, s3_url), edit_of=edit_of)


def _sender(data: dict, key: dict, remote_jid: str, from_me: bool, path: str) -> Sender:
    is_group = _server(remote_jid) == "g.us" or data.get("isGroup") is True
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
    return Sender(phone=phone, lid=lid, name=None if from_me else _text(data.get("pushName")), is_group=is_group)


def _content(data: dict, message: dict, s3_url: str | None) -> Content:
    content_key = _content_key(message, _text(data.get("messageType")))
    content_type = _CONTENT_KEYS.get(content_key or "", "other")
    raw = message.get(content_key) if content_key else None
    content = raw if isinstance(raw, dict) else {}

    text: str | None = None
    media, choice_id = NO_MEDIA, None
    context = content.get("contextInfo") if isinstance(content.get("contextInfo"), dict) else data.get("contextInfo")
    quoted = _text(context.get("stanzaId")) if isinstance(context, dict) else None
    if content_key == "conversation":
        text = _text(raw)
    elif content_key == "extendedTextMessage":
        text = _text(content.get("text"))
    elif content_type in MEDIA_KINDS:
        text = _text(content.get("caption"))
        media = _media(content, s3_url)
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
    return Content(content_type, text, quoted, media, choice_id)


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
    sender = Sender(phone=phone, lid=lid, name=None, is_group=_server(remote_jid) == "g.us")
    return inbound(
        # the same edit delivered again gets the same id (dedup); another edit of the same message does not
        f"{edited_id}:edit:{hashlib.sha256(new_text.encode()).hexdigest()[:16]}",
        timestamp,
        _bool(key.get("fromMe"), f"{path}.key.fromMe"),
        sender,
        Content("text", new_text),
        edit_of=edited_id,
    )


def _timestamp_s(value: object, field: str) -> datetime:
    return epoch(value, field, per_second=1, longs=True)


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


# --------------------------------------------------------------------------------------------- events


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
