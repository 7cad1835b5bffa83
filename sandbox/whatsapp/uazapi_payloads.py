"""uazapiGO v2 bodies: webhook deliveries, the /send/text answer, the stored webhook config.

Sources:
- `messages` deliveries (inbound and our own echo): the real captures in tests/fixtures/uazapi/
  (user-chat__from-others__text.sent.json, user-chat__from-me__text.sent.event.json): flat envelope with
  `chat` + `message`, every key kept, `messageTimestamp` in milliseconds, `message.id` = "owner:messageid".
- `messages_update` (delivery receipt): not in the fixtures nor in uazapi's OpenAPI spec. Shape taken from
  captures of uazapiGO v2.1.1 traffic published in integrators' repositories: `type` "ReadReceipt", `state`
  "Delivered"/"Read", and an `event` object with `MessageIDs` (bare message ids, no "owner:" prefix), `Chat`,
  `Sender`, `IsFromMe`/`IsGroup` written as the strings "False"/"True" and `Timestamp` in seconds, also a string.
  Another integrator's capture shows booleans and an integer there; we follow the more detailed capture.
- POST /send/text answer: uazapiGO OpenAPI spec (v2.0): the `Message` schema plus
  `response: {status: "success", message: "Message sent successfully"}`. `status` "sent" is our choice from
  the schema's enum (pending|sent|delivered|read|failed|deleted).
- A customer WhatsApp shows only by LID (no number): `chatid`, `sender`, `wa_chatid` are the @lid and
  `sender_pn`, `chat.phone` are empty, like the captures' @lid senders minus what reveals the phone.
- Edits, reactions, list/button replies: the captures user-chat__from-others__text.edited.json (`edited` = the
  id of the message replaced, a new `messageid`), __reaction.sent.json (`reaction` = the reacted id) and
  user-chat__from-me__list.vote.other.json (`buttonOrListid` = the row id, `vote` = its title).
- POST /webhook answer: the spec's `Webhook` schema (id, instance_id, enabled, url, events,
  AddUrlTypesMessages, addUrlEvents, excludeMessages, created, updated).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sandbox.whatsapp.content import KINDS, Choice, Content, Media, media_message, sent_content
from sandbox.whatsapp.ids import display_phone, iso_z, lid_for, millis, pn_jid, seconds, uazapi_chat_id
from sandbox.whatsapp.state import Instance, SentMessage, Webhook

EVENT_MESSAGES = "messages"
EVENT_RECEIPT = "messages_update"
EPHEMERAL_SETTING_TIMESTAMP = 1739999266  # as in the captures: a fixed moment, not the message's
# whatsmeow's (Go) spelling of the media fields Baileys spells otherwise, as in the captures
_GO_NAMES = {"url": "URL", "fileSha256": "fileSHA256", "ptt": "PTT", "fileEncSha256": "fileEncSHA256"}


def skip_reason(webhook: Webhook, event: str, *, from_me: bool, sent_by_api: bool) -> str | None:
    """Why uazapi would not deliver this event to this webhook, or None when it would."""
    if not webhook.enabled:
        return "webhook disabled"
    if webhook.events and event not in webhook.events:
        return f"event {event!r} not in the webhook's events"
    if event == EVENT_MESSAGES:
        excluded = {name.lower() for name in webhook.exclude_messages}
        flags = {
            "wassentbyapi": sent_by_api, "wasnotsentbyapi": not sent_by_api,
            "frommeyes": from_me, "frommeno": not from_me, "isgroupno": True,  # the sandbox has 1:1 chats only
        }
        for name, applies in flags.items():
            if applies and name in excluded:
                return f"excluded by excludeMessages {name!r}"
    return None


def target_url(webhook: Webhook, event: str, message_type: str | None = None) -> str:
    """addUrlEvents appends the event name, AddUrlTypesMessages the message type."""
    url = webhook.url.rstrip("/") if (webhook.by_events or webhook.add_url_types) else webhook.url
    if webhook.by_events:
        url += f"/{event}"
    if webhook.add_url_types and message_type:
        url += f"/{message_type}"
    return url


def _envelope(instance: Instance, base_url: str, event: str) -> dict[str, Any]:
    return {"BaseUrl": base_url, "EventType": event, "instanceName": instance.name, "owner": instance.owner,
            "token": instance.token}


def _context(quoted: str | None, quoted_text: str | None, participant: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "expiration": 0,
        "ephemeralSettingTimestamp": EPHEMERAL_SETTING_TIMESTAMP,
        "disappearingMode": {"initiator": 0, "trigger": 0, "initiatedByMe": False},
    }
    if quoted:
        context.update(stanzaId=quoted, participant=participant, quotedMessage={"conversation": quoted_text or ""})
    return context


def _content(content: Content, quoted: str | None, quoted_text: str | None, participant: str,
             moment: datetime) -> dict[str, Any]:
    context = _context(quoted, quoted_text, participant)
    media = content.media
    if media is None:
        return {"text": content.text, "previewType": 0, "contextInfo": context, "inviteLinkGroupTypeV2": 0}
    body = {_GO_NAMES.get(name, name): value for name, value in media_message(content, moment).items()}
    if media.kind == "video":
        body["seconds"] = media.seconds or 1
    body["contextInfo"] = context
    if media.kind == "audio":
        body["waveform"] = "AAAGFDRPW19gVVNVU1JST1NfYl9SU1dUUlFYVktOUU9QUlhYVU1LTkhCPzs3ND9NTU1NUVRUUlFUUUxFPTUxMA=="
    return body


def _types(content: Content) -> tuple[str, str, str]:
    """(messageType, mediaType, type) as uazapi labels the message."""
    if content.media is None:
        return "ExtendedTextMessage", "", "text"
    message_type, media_type, _ = KINDS[content.media.kind]
    return message_type, media_type, "media"


def _chat(instance: Instance, phone: str, name: str, moment: datetime, content: Content, sender: str,
          unread: int) -> dict[str, Any]:
    chat: dict[str, Any] = {
        "chatbot_agentResetMemoryAt": 0, "chatbot_disableUntil": 0, "chatbot_lastTriggerAt": 0,
        "chatbot_lastTrigger_id": "", "id": uazapi_chat_id(instance.name, phone), "image": "", "imagePreview": "",
        "lead_assignedAttendant_id": "", "lead_email": "",
    }
    chat.update({f"lead_field{n:02d}": "" for n in range(1, 21)})
    chat.update({
        "lead_fullName": "", "lead_isTicketOpen": False, "lead_kanbanOrder": 0, "lead_name": "", "lead_notes": "",
        "lead_personalid": "", "lead_status": "", "lead_tags": [], "name": name, "owner": instance.owner,
        "phone": display_phone(phone), "wa_archived": False, "wa_chatid": pn_jid(phone), "wa_chatlid": lid_for(phone),
        "wa_contactName": "", "wa_ephemeralExpiration": 0, "wa_fastid": f"{instance.owner}:{phone}",
        "wa_isBlocked": False, "wa_isGroup": False, "wa_isGroup_admin": False, "wa_isGroup_announce": False,
        "wa_isGroup_community": False, "wa_isGroup_member": False, "wa_isPinned": False, "wa_label": [],
        "wa_lastMessageSender": sender, "wa_lastMessageTextVote": content.text,
        "wa_lastMessageType": _types(content)[0], "wa_lastMsgTimestamp": millis(moment), "wa_muteEndTime": 0,
        "wa_name": name, "wa_unreadCount": unread,
    })
    return chat


def _message(instance: Instance, *, phone: str, message_id: str, content: Content, moment: datetime,
             from_me: bool, sent_by_api: bool, sender: str, sender_lid: str, sender_pn: str, sender_name: str,
             quoted: str | None, quoted_text: str | None, source: str, track_source: str = "",
             track_id: str = "") -> dict[str, Any]:
    participant = pn_jid(instance.owner) if not from_me else pn_jid(phone)
    message_type, media_type, simple_type = _types(content)
    return {
        "buttonOrListid": "", "chatid": pn_jid(phone), "chatlid": lid_for(phone),
        "content": _content(content, quoted, quoted_text, participant, moment), "convertOptions": "", "edited": "",
        "fromMe": from_me, "groupName": "Unknown", "id": f"{instance.owner}:{message_id}", "isGroup": False,
        "mediaType": media_type, "messageTimestamp": millis(moment), "messageType": message_type,
        "messageid": message_id, "owner": instance.owner, "quoted": quoted or "", "reaction": "", "sender": sender,
        "senderName": sender_name, "sender_lid": sender_lid, "sender_pn": sender_pn, "source": source,
        "status": "", "text": content.text, "track_id": track_id, "track_source": track_source,
        "type": simple_type, "vote": "", "wasSentByApi": sent_by_api,
    }


def _hide_phone(body: dict[str, Any], phone: str) -> None:
    """What WhatsApp withholds from a LID-only sender: every field that would name the number."""
    lid = lid_for(phone)
    body["chat"].update(phone="", wa_chatid=lid, wa_fastid=f"{body['chat']['owner']}:{lid.split('@')[0]}")
    body["message"].update(chatid=lid, sender=lid, sender_lid=lid, sender_pn="")


def inbound(instance: Instance, base_url: str, *, phone: str, name: str, text: str, message_id: str,
            moment: datetime, lid: bool, quoted: str | None, quoted_text: str | None, unread: int,
            media: Media | None = None, lid_only: bool = False, choice: Choice | None = None,
            edit_of: str | None = None) -> dict[str, Any]:
    """A customer's message, as uazapi posts it: sender by @lid (phone in sender_pn) or by phone JID, or (with
    lid_only) by @lid alone. With `media`, `text` is its caption; with `choice`, a list/button reply; with
    `edit_of`, an edit of that message."""
    content = Content(text, media)
    sender = lid_for(phone) if lid or lid_only else pn_jid(phone)
    body = _envelope(instance, base_url, EVENT_MESSAGES)
    body["chat"] = _chat(instance, phone, name, moment, content, sender, unread)
    body["chatSource"] = "updated"
    body["message"] = _message(
        instance, phone=phone, message_id=message_id, content=content, moment=moment, from_me=False,
        sent_by_api=False, sender=sender, sender_lid=lid_for(phone) if lid else "", sender_pn=pn_jid(phone),
        sender_name=name, quoted=quoted, quoted_text=quoted_text, source="android",
    )
    if choice is not None:
        _as_choice(body["message"], choice)
    if edit_of:
        body["message"]["edited"] = edit_of
    if lid_only:
        _hide_phone(body, phone)
    return dict(sorted(body.items()))


def _as_choice(message: dict[str, Any], choice: Choice) -> None:
    context = message["content"].get("contextInfo", {}) if isinstance(message["content"], dict) else {}
    if choice.kind == "list":
        content = {"title": choice.title, "listType": 1, "singleSelectReply": {"selectedRowID": choice.id},
                   "contextInfo": context}
        message.update(messageType="ListResponseMessage", mediaType="list_response")
    else:
        content = {"selectedButtonID": choice.id, "selectedDisplayText": choice.title, "type": 1,
                   "contextInfo": context}
        message.update(messageType="ButtonsResponseMessage", mediaType="buttons_response")
    message.update(content=content, buttonOrListid=choice.id, vote=choice.title, text="", type="media")


def reaction(instance: Instance, base_url: str, *, phone: str, name: str, message_id: str, reacted: SentMessage,
             emoji: str, lid_only: bool, moment: datetime) -> dict[str, Any]:
    """The customer reacts to one of our messages (`reaction` and content.key name the reacted message)."""
    body = inbound(instance, base_url, phone=phone, name=name, text=emoji, message_id=message_id, moment=moment,
                   lid=True, quoted=None, quoted_text=None, unread=0, lid_only=lid_only)
    body["message"].update(
        messageType="ReactionMessage", type="reaction", reaction=reacted.id,
        content={"key": {"remoteJID": lid_for(instance.owner), "fromMe": True, "ID": reacted.id}, "text": emoji,
                 "senderTimestampMS": millis(moment)},
    )
    return body


def refusal(mode: str, number: str) -> dict[str, Any]:
    """/send/text's 400s. Not in uazapi's spec: the wording of whatsmeow's errors as integrators quote them."""
    if mode == "not_on_whatsapp":
        return {"error": f"the number {number} is not on WhatsApp"}
    return {"error": "WhatsApp not connected: websocket not connected"}


def echo(instance: Instance, base_url: str, sent: SentMessage, *, contact_name: str,
         quoted_text: str | None) -> dict[str, Any]:
    """A message of the instance's number as a `messages` event: fromMe true, the owner as sender. Our API sends
    have wasSentByApi true; what an attendant typed on the phone (origin "phone") has it false, like
    user-chat__from-me__text.sent.event.json."""
    owner_lid = lid_for(instance.owner)
    content = sent_content(sent)
    on_phone = sent.origin == "phone"
    body = _envelope(instance, base_url, EVENT_MESSAGES)
    body["chat"] = _chat(instance, sent.number, contact_name, sent.sent_at, content, owner_lid, 0)
    body["chatSource"] = "updated"
    body["message"] = _message(
        instance, phone=sent.number, message_id=sent.id, content=content, moment=sent.sent_at, from_me=True,
        sent_by_api=not on_phone, sender=owner_lid, sender_lid=owner_lid, sender_pn=pn_jid(instance.owner),
        sender_name=instance.name, quoted=sent.quoted, quoted_text=quoted_text,
        source="android" if on_phone else "web", track_source=sent.track_source, track_id=sent.track_id,
    )
    if sent.jid.endswith("@lid"):  # sent to a customer known only by LID: the chat is the LID's
        body["chat"].update(phone="", wa_chatid=sent.jid)
        body["message"]["chatid"] = sent.jid
    return dict(sorted(body.items()))


def receipt(instance: Instance, base_url: str, sent: SentMessage, moment: datetime,
            state: str = "Delivered") -> dict[str, Any]:
    """The delivery receipt of one of our sends (`messages_update`, type ReadReceipt)."""
    body = _envelope(instance, base_url, EVENT_RECEIPT)
    body.update({
        "event": {
            "Chat": sent.jid, "IsFromMe": "False", "IsGroup": "False", "MessageIDs": [sent.id],
            "Sender": sent.jid, "Timestamp": str(seconds(moment)), "Type": state, "sender_lid": lid_for(sent.number),
            "sender_pn": pn_jid(sent.number),
        },
        "state": state,
        "type": "ReadReceipt",
    })
    return dict(sorted(body.items()))


def send_response(instance: Instance, sent: SentMessage, *, quoted_text: str | None) -> dict[str, Any]:
    """POST /send/text's (and /send/media's) 200 answer: the stored Message plus uazapi's `response` block."""
    body = echo(instance, "", sent, contact_name="", quoted_text=quoted_text)["message"]
    file_url = body["content"].get("URL", "") if isinstance(body["content"], dict) else ""
    body.update(status="sent", fileURL=file_url,
                response={"status": "success", "message": "Message sent successfully"})
    return body


def download_response(media: Media, data: bytes, *, return_base64: bool, return_link: bool) -> dict[str, Any]:
    """POST /message/download's answer: the decrypted file as a link and/or base64 (uazapi's OpenAPI spec)."""
    body: dict[str, Any] = {"mimetype": media.mimetype, "transcription": ""}
    if return_link:
        body["fileURL"] = media.url
    if return_base64:
        body["base64Data"] = base64.b64encode(data).decode()
    return body


def webhook_config(instance: Instance, webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id, "instance_id": instance.instance_id, "enabled": webhook.enabled, "url": webhook.url,
        "events": list(webhook.events), "AddUrlTypesMessages": webhook.add_url_types,
        "addUrlEvents": webhook.by_events, "excludeMessages": list(webhook.exclude_messages),
        "created": iso_z(webhook.created), "updated": iso_z(webhook.updated),
    }
