"""Normalize uazapiGO v2 webhook deliveries into `ParsedWebhook`.

uazapiGO posts a flat envelope: `EventType`, `token`, `instanceName`, `owner`, `BaseUrl`, and the event's own
keys at the top level (`message` + `chat` for "messages", `instance` for "connection", `event` + `state` +
`type` for "messages_update"). See tests/fixtures/uazapi/ for captured deliveries.

Identity fields of an `InboundMessage` (phone, lid, name) always describe the customer, the other party of the
chat, also when the instance itself sent the message (`fromMe`): the chat's phone comes from `chatid`, or from
`sender_pn` when the customer writes from an `@lid` address; WhatsApp may withhold the phone, and then the
customer is known by the LID alone. In a group they describe the participant who wrote.
The instance owner's own name is never reported as the customer's name.

`provider_message_id` is the bare WhatsApp id (`messageid`), not uazapi's `owner:messageid` (`id`): `quoted`,
`edited` (on an edit: the id of the message it replaces), `reaction` and the `MessageIDs` of status updates all
refer to the bare id. "chats"/"contacts" events pair a chat's phone (`wa_chatid`) with its LID (`wa_chatlid`).

This module maps only uazapiGO's envelope and message shapes; what both providers share lives beside it:
fields.py (JIDs, phone digits, loose values), strict.py (required fields and their 422 messages), content.py
(kinds of content, media fields, building the `InboundMessage`).

`parse` is pure and raises only `MalformedPayload`.
"""

from __future__ import annotations

from api.webhooks.content import (
    CHOICE_KEYS,
    CONTENT_KEYS,
    MEDIA_KINDS,
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
from api.webhooks.strict import boolean as _bool, epoch, flag, optional_str as _optional_str
from api.whatsapp.clients import TRACK_SOURCE

# messageType (WhatsApp's content key, lower-cased) -> our content type. Anything else falls back to
# `mediaType`/`type`, then "other".
_MESSAGE_TYPES = {key.lower(): kind for key, kind in CONTENT_KEYS.items()} | {"documentwithcaptionmessage": "document"}
_MEDIA_TYPES = {
    "image": "image",
    "video": "video",
    "gif": "video",
    "ptv": "video",
    "audio": "audio",
    "ptt": "audio",
    "myaudio": "audio",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "vcard": "contact",
    "contact": "contact",
    "contact_array": "contact",
    "list_response": "text",
    "buttons_response": "text",
}
_CHOICE_TYPES = frozenset(key.lower() for key in CHOICE_KEYS)

# Receipt states of "messages_update" (normalized: lower case, no separators) -> our status. Other states
# (ReadSelf, PlayedSelf: the owner read something on another device; Retry, Sender, Inactive...) are ignored.
_STATUSES = {
    "sent": "sent",
    "serverack": "sent",
    "delivered": "delivered",
    "deliveryack": "delivered",
    "read": "read",
    "played": "read",
    "failed": "failed",
    "error": "failed",
    "servererror": "failed",
}

_CONNECTION_STATES = {
    "connected": "connected",
    "open": "connected",
    "connecting": "connecting",
    "qr": "connecting",
    "qrcode": "connecting",
    "pairing": "connecting",
    "disconnected": "disconnected",
    "close": "disconnected",
    "closed": "disconnected",
    "loggedout": "disconnected",
    "hibernated": "disconnected",
}


def parse(payload: object) -> ParsedWebhook:
    """Parse one uazapiGO webhook body (already decoded from JSON)."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"uazapi payload must be a JSON object, got {_kind(payload)}")
    event_type = payload.get("EventType")
    if event_type is None:
        raise MalformedPayload("uazapi payload has no EventType")
    if not isinstance(event_type, str) or not event_type.strip():
        raise MalformedPayload(f"EventType must be a non-empty string, got {_show(event_type)}")
    token = _optional_str(payload, "token")
    instance = _optional_str(payload, "instanceName")

    kind = event_type.strip().lower()
    event: WebhookEvent
    if kind == "messages":
        event = _message(payload)
    elif kind == "messages_update":
        event = _status_update(payload)
    elif kind == "connection":
        event = _connection(payload)
    elif kind in ("chats", "contacts"):
        event = _chat_identity(payload)
    else:
        event = Ignored(f"unsupported_event:{event_type.strip()}")
    return ParsedWebhook(token=token, instance=instance, events=(event,))


# --------------------------------------------------------------------------------------------- messages


def _message(payload: dict) -> WebhookEvent:
    message = payload.get("message")
    if message is None:
        raise MalformedPayload("EventType 'messages' without a 'message' object")
    if not isinstance(message, dict):
        raise MalformedPayload(f"'message' must be an object, got {_kind(message)}")
    chat = payload.get("chat") if isinstance(payload.get("chat"), dict) else {}

    provider_id = _message_id(message)
    timestamp = epoch(message.get("messageTimestamp"), "message.messageTimestamp", per_second=1000)
    from_me = flag(message.get("fromMe"), "message.fromMe")
    sent_by_api = _bool(message.get("wasSentByApi"), "message.wasSentByApi", default=None)

    chatid = _text(message.get("chatid")) or _text(chat.get("wa_chatid"))
    if chatid is not None and _server(chatid) in ("broadcast", "newsletter"):
        return Ignored(f"unsupported_chat:{_server(chatid)}")
    return inbound(
        provider_id,
        timestamp,
        from_me,
        _sender(message, chat, chatid, from_me),
        _content(message),
        sent_by_api=sent_by_api,
        edit_of=_edit_of(message.get("edited"), provider_id),
        track_id=_text(message.get("track_id")) if _text(message.get("track_source")) == TRACK_SOURCE else None,
    )


def _sender(message: dict, chat: dict, chatid: str | None, from_me: bool) -> Sender:
    is_group = bool(
        _bool(message.get("isGroup"), "message.isGroup", default=False)
        or chat.get("wa_isGroup") is True
        or (chatid is not None and _server(chatid) == "g.us")
    )
    sender = _text(message.get("sender"))
    sender_pn = _text(message.get("sender_pn"))
    sender_lid = _text(message.get("sender_lid"))
    if is_group:
        phone = _first_phone(sender_pn, sender) or _group_digits(chatid)
        lid = _first_lid(sender, sender_lid)
        name = None if from_me else _text(message.get("senderName"))
    else:
        customer_sender = [] if from_me else [sender_pn, sender]
        phone = _first_phone(*customer_sender, chatid, _text(chat.get("wa_chatid")), _text(chat.get("phone")))
        lid = _first_lid(
            _text(message.get("chatlid")),
            _text(chat.get("wa_chatlid")),
            *([] if from_me else [sender, sender_lid]),
        )
        # the owner's own name must not become the customer's: for fromMe take the chat's name
        name = (_text(chat.get("wa_name")) or _text(chat.get("name"))) if from_me else _text(message.get("senderName"))
    if phone is None and lid is None:
        raise MalformedPayload(
            "cannot tell who wrote: message.chatid is neither a phone nor a LID JID, and message.sender_pn and "
            "message.chatlid are missing"
        )
    return Sender(phone=phone, lid=lid, name=name, is_group=is_group)


def _content(message: dict) -> Content:
    message_type = (_text(message.get("messageType")) or "").lower()
    content_type = _content_type(message_type, message)
    content = message.get("content")
    content_obj = content if isinstance(content, dict) else {}
    body = _text(message.get("text"))
    context = content_obj.get("contextInfo") if isinstance(content_obj.get("contextInfo"), dict) else {}
    quoted = _text(message.get("quoted")) or _text(context.get("stanzaID")) or _text(context.get("stanzaId"))
    choice_id = _text(message.get("buttonOrListid"))

    if content_type == "text":
        if message_type in _CHOICE_TYPES or _text(message.get("mediaType")) in ("list_response", "buttons_response"):
            text = (
                _text(message.get("vote"))
                or _text(content_obj.get("selectedDisplayText"))
                or _text(content_obj.get("title"))
                or body
                or choice_id
            )
        else:
            text = body or (_text(content) if isinstance(content, str) else _text(content_obj.get("text")))
    elif content_type in MEDIA_KINDS:
        media = _media(content_obj, _text(content_obj.get("URL")))
        return Content(content_type, _text(content_obj.get("caption")) or body, quoted, media, choice_id)
    elif content_type == "contact":
        text = body or _text(content_obj.get("vcard")) or _text(content_obj.get("displayName"))
    elif content_type == "location":
        text = body or _location_text(content_obj)
    elif content_type == "reaction":
        text = body or _text(content_obj.get("text"))
        reacted_key = content_obj.get("key") if isinstance(content_obj.get("key"), dict) else {}
        reacted_id = _text(reacted_key.get("ID")) or _text(reacted_key.get("id"))
        quoted = quoted or _text(message.get("reaction")) or reacted_id
    else:  # polls and anything unknown
        text = body or _text(message.get("vote"))
    return Content(content_type, text, quoted, choice_id=choice_id)


def _edit_of(edited: object, provider_id: str) -> str | None:
    """`edited` holds the id of the message an edit replaces ("" on ordinary messages). An edit that does not
    say which message it replaces is read as a new message: better answered twice than lost."""
    original = _text(edited)
    if original is None:
        return None
    original = original.rsplit(":", 1)[-1].strip()
    return None if original in ("", provider_id) else original


def _chat_identity(payload: dict) -> WebhookEvent:
    chat = payload.get("chat") if isinstance(payload.get("chat"), dict) else payload
    phone = _first_phone(_text(chat.get("wa_chatid")), _text(chat.get("phone")))
    lid = _first_lid(_text(chat.get("wa_chatlid")), _text(chat.get("lid")))
    if phone is None or lid is None:
        return Ignored("contact_without_lid_and_phone")
    return ContactUpdate(lid=lid, phone=phone, name=_text(chat.get("wa_name")) or _text(chat.get("name")))


def _message_id(message: dict) -> str:
    for key in ("messageid", "id"):
        value = message.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise MalformedPayload(f"message.{key} must be a string, got {_kind(value)}")
        bare = value.rsplit(":", 1)[-1].strip() if key == "id" else value.strip()
        if bare:
            return bare
    raise MalformedPayload("message has no id (message.messageid / message.id)")


def _content_type(message_type: str, message: dict) -> str:
    if message_type in _MESSAGE_TYPES:
        return _MESSAGE_TYPES[message_type]
    media_type = (_text(message.get("mediaType")) or "").lower()
    if media_type in _MEDIA_TYPES:
        return _MEDIA_TYPES[media_type]
    if "sticker" in media_type:  # "1p_sticker", "user_created_sticker"...
        return "sticker"
    simple = (_text(message.get("type")) or "").lower()
    if simple in ("text", "reaction"):
        return simple
    return "other"


# --------------------------------------------------------------------------------------------- status

# No "messages_update" capture ships with the fixtures. The shape below is the one uazapiGO v2.1.1 was observed
# to deliver (a public design spec that captured real traffic, and several public handlers matching on
# `event.MessageIDs` + `state`/`event.Type`):
#   {"EventType": "messages_update", "type": "ReadReceipt", "state": "Delivered" | "Read",
#    "token": ..., "owner": ..., "instanceName": ...,
#    "event": {"MessageIDs": ["<bare messageid>", ...], "Chat": "...@s.whatsapp.net", "Sender": ...,
#              "IsFromMe": "False", "IsGroup": "False", "Timestamp": "1785820620", "Type": "Delivered"}}
# The ids are bare WhatsApp ids (no "owner:" prefix). As a guess for other builds, a flat form found in one
# unofficial write-up is accepted too: `messageid`/`id` + `status` at the top level or inside `message`.
# Updates that carry no message ids and are not receipts (e.g. other sub-types) are ignored, not rejected.


def _status_update(payload: dict) -> WebhookEvent:
    update_type = _text(payload.get("type"))
    event = payload.get("event")
    ids: tuple[str, ...] = ()
    state: object = None
    if isinstance(event, dict) and "MessageIDs" in event:
        raw_ids = event.get("MessageIDs")
        if not isinstance(raw_ids, list) or not raw_ids:
            raise MalformedPayload("event.MessageIDs must be a non-empty list of message ids")
        if not all(isinstance(i, str) and i.strip() for i in raw_ids):
            raise MalformedPayload("event.MessageIDs must contain only non-empty strings")
        bare_ids = [i.strip().rsplit(":", 1)[-1].strip() for i in raw_ids]  # tolerate "owner:id"
        if not all(bare_ids):
            raise MalformedPayload("event.MessageIDs contains an empty message id")
        ids = tuple(dict.fromkeys(bare_ids))
        state = payload.get("state") if payload.get("state") not in (None, "") else event.get("Type")
    else:
        flat = payload.get("message") if isinstance(payload.get("message"), dict) else payload
        if flat.get("status") not in (None, "") and (flat.get("messageid") or flat.get("id")):
            ids = (_message_id(flat),)
            state = flat.get("status")
    if not ids:
        if update_type is not None and update_type.lower() == "readreceipt":
            raise MalformedPayload("ReadReceipt update without event.MessageIDs")
        return Ignored(f"unsupported_update:{update_type or 'unknown'}")
    if not isinstance(state, str) or not state.strip():
        raise MalformedPayload(f"messages_update has no receipt state (state / event.Type), got {_show(state)}")
    status = _STATUSES.get(_normalize(state))
    if status is None:
        return Ignored(f"unsupported_status:{state.strip()}")
    return StatusUpdate(provider_message_ids=ids, status=status)


# --------------------------------------------------------------------------------------------- connection


def _connection(payload: dict) -> WebhookEvent:
    instance = payload.get("instance")
    state: object = None
    if isinstance(instance, dict):
        state = instance.get("status")
    if state is None:
        state = payload.get("status")
    if state is None:
        raise MalformedPayload("connection event without instance.status")
    if not isinstance(state, str) or not state.strip():
        raise MalformedPayload(f"instance.status must be a non-empty string, got {_show(state)}")
    mapped = _CONNECTION_STATES.get(_normalize(state))
    if mapped is None:
        return Ignored(f"unsupported_connection_state:{state.strip()}")
    return ConnectionUpdate(state=mapped)


# --------------------------------------------------------------------------------------------- helpers


def _normalize(value: str) -> str:
    return "".join(c for c in value.lower() if c not in " _-")


