"""Evolution API v2 bodies: webhook deliveries, the sendText answer, the stored webhook config.

Sources:
- Webhook envelope {event, instance, data, destination, date_time, sender, server_url, apikey}: Evolution's
  WebhookController.emit (src/api/integrations/event/webhook/webhook.controller.ts) and the captures in
  tests/fixtures/evolution/. `messages.upsert` data follows messages.upsert.text.json / .lid.json /
  .fromme.json (text in data.message.conversation, messageTimestamp in seconds, @lid senders with
  key.remoteJidAlt and key.addressingMode "lid", or without remoteJidAlt when WhatsApp withholds the number);
  data.contextInfo (null unless the text quotes a message) is written as Evolution v2.2+ does.
- Our own sends come back as `send.message` (BaileysStartupService.sendMessageWithTyping posts
  Events.SEND_MESSAGE with prepareMessage's shape; the socket has emitOwnEvents: false, so no upsert), edits as
  `messages.edited` with the raw protocolMessage (messages.upsert handler: `sendDataWebhook(MESSAGES_EDITED,
  editedMessage)`, and the upsert itself is skipped).
- Send refusals: BadRequestException bodies, e.g. [{"exists": false, "jid", "number"}] from the onWhatsApp
  check, ["Error: Connection Closed"] when the socket is down.
- `messages.update` follows messages.update.json (data.keyId = the id the send returned).
- sendText answer (201): Evolution v2 docs give {key: {remoteJid, fromMe, id}, message, messageTimestamp,
  status: "PENDING"}; pushName, contextInfo, messageType, instanceId and source are added as later v2
  releases return them (best guess from integrators' logs, not from the docs).
- /webhook/set answer (201): the Prisma `Webhook` row WebhookController.set upserts and returns
  (id, url, headers, enabled, events, webhookByEvents, webhookBase64, createdAt, updatedAt, instanceId).
- The secret every webhook carries (WebhookController.emit, ChannelStartupService.sendDataWebhook, v2.3):
  `apikey` is the instance's token when AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES is true, else null; the webhook's
  own `headers` are sent with each post, except `jwt_key`, which is replaced by `Authorization: Bearer <JWT>`
  signed with it (HS256, {iat, exp: iat + 600, app: "evolution", action: "webhook"}).
"""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Any

import jwt

from sandbox.whatsapp.content import KINDS, Choice, Content, Media, media_message, sent_content
from sandbox.whatsapp.ids import cuid, iso_z, lid_for, millis, pn_jid, seconds
from sandbox.whatsapp.state import Instance, SentMessage, Webhook

EVENT_UPSERT = "messages.upsert"
EVENT_UPDATE = "messages.update"
EVENT_SEND = "send.message"  # our API sends come back as this, never as an upsert (Baileys emitOwnEvents: false)
EVENT_EDITED = "messages.edited"
MESSAGE_EDIT = 14  # proto.Message.ProtocolMessage.Type.MESSAGE_EDIT, as the raw protocolMessage carries it

# WebhookController stores these when a webhook is enabled with no events (EventController.events).
ALL_EVENTS = [
    "APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED", "MESSAGES_UPDATE",
    "MESSAGES_DELETE", "SEND_MESSAGE", "CONTACTS_SET", "CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE",
    "CHATS_SET", "CHATS_UPSERT", "CHATS_UPDATE", "CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE", "CONNECTION_UPDATE", "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE", "LOGOUT_INSTANCE", "INSTANCE_CREATE", "INSTANCE_DELETE",
    "STATUS_INSTANCE",
]


def event_key(event: str) -> str:
    """"messages.upsert" -> "MESSAGES_UPSERT", the form webhook configs list events in."""
    return event.replace(".", "_").replace("-", "_").upper()


def skip_reason(webhook: Webhook, event: str) -> str | None:
    if not webhook.enabled:
        return "webhook disabled"
    if webhook.events and event_key(event) not in {event_key(name) for name in webhook.events}:
        return f"event {event_key(event)!r} not in the webhook's events"
    return None


def target_url(webhook: Webhook, event: str) -> str:
    """webhookByEvents sends each event to <url>/<event-name> ("messages-upsert")."""
    if webhook.by_events:
        return f"{webhook.url.rstrip('/')}/{event_key(event).replace('_', '-').lower()}"
    return webhook.url


def delivery_headers(webhook: Webhook | None) -> dict[str, str]:
    """The HTTP headers of a post to `webhook`: its own, with `jwt_key` turned into a signed JWT."""
    headers = dict(webhook.headers) if webhook else {}
    if "jwt_key" in headers:
        moment = int(time.time())
        claims = {"iat": moment, "exp": moment + 600, "app": "evolution", "action": "webhook"}
        headers["Authorization"] = f"Bearer {jwt.encode(claims, headers.pop('jwt_key'), algorithm='HS256')}"
    return headers


def _envelope(instance: Instance, base_url: str, event: str, data: dict[str, Any], url: str,
              moment: datetime) -> dict[str, Any]:
    return {
        "event": event, "instance": instance.name, "data": data, "destination": url, "date_time": iso_z(moment),
        "sender": pn_jid(instance.owner), "server_url": base_url, "apikey": instance.token,
    }


def _text_message(text: str, quoted: str | None, quoted_text: str | None,
                  participant: str) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """(message, contextInfo, messageType): a plain conversation, or an extendedTextMessage when quoting."""
    if not quoted:
        return {"conversation": text}, None, "conversation"
    context = {"stanzaId": quoted, "participant": participant, "quotedMessage": {"conversation": quoted_text or ""}}
    return {"extendedTextMessage": {"text": text, "contextInfo": context}}, context, "extendedTextMessage"


def _media_message(content: Content, moment: datetime) -> tuple[dict[str, Any], None, str]:
    """A media message as Baileys serializes it (Longs as strings), like messages.upsert.audio.json."""
    media = content.media
    assert media is not None
    key = KINDS[media.kind][2]
    body = media_message(content, moment)
    body.update(fileLength=str(body["fileLength"]), mediaKeyTimestamp=str(body["mediaKeyTimestamp"]))
    return {key: body}, None, key


def _message_of(content: Content, quoted: str | None, quoted_text: str | None, participant: str,
                moment: datetime) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    if content.media is not None:
        return _media_message(content, moment)
    return _text_message(content.text, quoted, quoted_text, participant)


def _customer_key(phone: str, message_id: str, *, lid: bool, lid_only: bool) -> dict[str, Any]:
    """The key of a customer's message: by phone JID; by @lid with the phone in remoteJidAlt; or, when WhatsApp
    withholds the number, by @lid alone."""
    if lid_only:
        return {"remoteJid": lid_for(phone), "addressingMode": "lid", "fromMe": False, "id": message_id}
    if lid:
        return {"remoteJid": lid_for(phone), "remoteJidAlt": pn_jid(phone), "addressingMode": "lid",
                "fromMe": False, "id": message_id}
    return {"remoteJid": pn_jid(phone), "fromMe": False, "id": message_id}


def _choice_message(choice: Choice, quoted: str | None, participant: str) -> tuple[dict[str, Any], dict, str]:
    """A list row or button the customer picked, as Baileys serializes the response message."""
    context = {"stanzaId": quoted or "", "participant": participant}
    if choice.kind == "list":
        body = {"title": choice.title, "listType": 1, "singleSelectReply": {"selectedRowId": choice.id},
                "contextInfo": context}
        return {"listResponseMessage": body}, context, "listResponseMessage"
    body = {"selectedButtonId": choice.id, "selectedDisplayText": choice.title, "type": 1, "contextInfo": context}
    return {"buttonsResponseMessage": body}, context, "buttonsResponseMessage"


def inbound(instance: Instance, base_url: str, url: str, *, phone: str, name: str, text: str, message_id: str,
            moment: datetime, lid: bool, quoted: str | None, quoted_text: str | None,
            media: Media | None = None, lid_only: bool = False, choice: Choice | None = None,
            inline: bytes | None = None) -> dict[str, Any]:
    """A customer's message as `messages.upsert`; with lid the sender is an @lid and the phone in remoteJidAlt
    (with lid_only, not even there). With `media`, `text` is its caption; with `choice`, a list/button reply.
    `inline`: the file itself, for a webhook set with `base64: true` (message.base64, as Evolution adds it)."""
    key = _customer_key(phone, message_id, lid=lid, lid_only=lid_only)
    if choice is not None:
        message, context, message_type = _choice_message(choice, quoted, pn_jid(instance.owner))
    else:
        message, context, message_type = _message_of(Content(text, media), quoted, quoted_text,
                                                     pn_jid(instance.owner), moment)
    if inline is not None:
        message = {**message, "base64": base64.b64encode(inline).decode()}
    data = {
        "key": key, "pushName": name, "status": "DELIVERY_ACK", "message": message, "contextInfo": context,
        "messageType": message_type, "messageTimestamp": seconds(moment), "instanceId": instance.instance_id,
        "source": "android",
    }
    return _envelope(instance, base_url, EVENT_UPSERT, data, url, moment)


def _sent_data(instance: Instance, sent: SentMessage, quoted_text: str | None, status: str,
               source: str) -> dict[str, Any]:
    message, context, message_type = _message_of(sent_content(sent), sent.quoted, quoted_text, sent.jid,
                                                 sent.sent_at)
    return {
        "key": {"remoteJid": sent.jid, "fromMe": True, "id": sent.id}, "pushName": instance.name, "status": status,
        "message": message, "contextInfo": context, "messageType": message_type,
        "messageTimestamp": seconds(sent.sent_at), "instanceId": instance.instance_id, "source": source,
    }


def echo_event(sent: SentMessage) -> str:
    """Our API sends come back as `send.message`; what an attendant typed on the phone as `messages.upsert`."""
    return EVENT_UPSERT if sent.origin == "phone" else EVENT_SEND


def echo(instance: Instance, base_url: str, url: str, sent: SentMessage, *, quoted_text: str | None,
         moment: datetime) -> dict[str, Any]:
    """A message of the instance's number with key.fromMe true: our own send coming back as `send.message`
    (key.id = the id the send returned), or what an attendant typed on the phone as `messages.upsert` (an id
    nobody was told)."""
    data = _sent_data(instance, sent, quoted_text, "SERVER_ACK", "android" if sent.origin == "phone" else "web")
    return _envelope(instance, base_url, echo_event(sent), data, url, moment)


def edit(instance: Instance, base_url: str, url: str, *, phone: str, original_id: str, text: str, lid: bool,
         lid_only: bool, moment: datetime) -> dict[str, Any]:
    """`messages.edited`: Evolution posts the bare protocolMessage (key = the edited message's key)."""
    data = {
        "key": _customer_key(phone, original_id, lid=lid, lid_only=lid_only), "type": MESSAGE_EDIT,
        "editedMessage": {"conversation": text}, "timestampMs": str(millis(moment)),
    }
    return _envelope(instance, base_url, EVENT_EDITED, data, url, moment)


def reaction(instance: Instance, base_url: str, url: str, *, phone: str, name: str, message_id: str,
             reacted: SentMessage, emoji: str, lid: bool, lid_only: bool, moment: datetime) -> dict[str, Any]:
    """The customer reacts to one of our messages: a `messages.upsert` carrying a reactionMessage."""
    data = {
        "key": _customer_key(phone, message_id, lid=lid, lid_only=lid_only), "pushName": name,
        "status": "DELIVERY_ACK",
        "message": {"reactionMessage": {"key": {"remoteJid": reacted.jid, "fromMe": True, "id": reacted.id},
                                        "text": emoji, "senderTimestampMs": str(millis(moment))}},
        "contextInfo": None, "messageType": "reactionMessage", "messageTimestamp": seconds(moment),
        "instanceId": instance.instance_id, "source": "android",
    }
    return _envelope(instance, base_url, EVENT_UPSERT, data, url, moment)


def refusal(mode: str, number: str) -> dict[str, Any]:
    """sendText's 400s (BadRequestException through Evolution's error handler): a Baileys socket that is
    closed or throttled, or a number WhatsApp does not know (the onWhatsApp check, `exists: false`)."""
    if mode == "not_on_whatsapp":
        jid = number if "@" in number else pn_jid(number)
        return error(400, "Bad Request", [{"exists": False, "jid": jid, "number": number}])
    return error(400, "Bad Request", ["Error: Connection Closed"])


def receipt(instance: Instance, base_url: str, url: str, sent: SentMessage, moment: datetime,
            status: str = "DELIVERY_ACK") -> dict[str, Any]:
    """`messages.update` for one of our sends: data.keyId is the id sendText returned."""
    data = {
        "keyId": sent.id, "remoteJid": sent.jid, "fromMe": True, "participant": None, "status": status,
        "instanceId": instance.instance_id, "messageId": cuid(),
    }
    return _envelope(instance, base_url, EVENT_UPDATE, data, url, moment)


def stored_record(instance: Instance, sent: SentMessage) -> dict[str, Any]:
    """One of our sends as /chat/findMessages lists it (a stored row: its own id, then the message data)."""
    status = "DELIVERY_ACK" if sent.status == "delivered" else "SERVER_ACK"
    return {"id": cuid(), **_sent_data(instance, sent, None, status, "web")}


def send_response(instance: Instance, sent: SentMessage, *, quoted_text: str | None) -> dict[str, Any]:
    return _sent_data(instance, sent, quoted_text, "PENDING", "unknown")


def media_base64_response(media: Media, data: bytes, caption: str) -> dict[str, Any]:
    """POST /chat/getBase64FromMediaMessage's answer (ChatService.getBase64FromMediaMessage in Evolution v2)."""
    return {
        "mediaType": KINDS[media.kind][2], "fileName": media.file_name or f"{media.kind}.bin",
        "caption": caption or None, "size": {"fileLength": str(media.size), "height": media.height,
                                             "width": media.width},
        "mimetype": media.mimetype, "base64": base64.b64encode(data).decode(),
    }


def webhook_config(instance: Instance, webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id, "url": webhook.url, "headers": dict(webhook.headers), "enabled": webhook.enabled,
        "events": list(webhook.events), "webhookByEvents": webhook.by_events, "webhookBase64": webhook.base64,
        "createdAt": iso_z(webhook.created), "updatedAt": iso_z(webhook.updated), "instanceId": instance.instance_id,
    }


def error(status: int, phrase: str, message: Any) -> dict[str, Any]:
    """Evolution's error body: {"status": 404, "error": "Not Found", "response": {"message": [...]}}."""
    return {"status": status, "error": phrase, "response": {"message": message}}
