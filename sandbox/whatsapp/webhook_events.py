"""Building the webhook events the sandbox posts: for each, which webhook it goes to, at which URL, and its body
in that provider's format (inbound, edit, reaction, echo — also what an attendant typed on the phone — and
receipt), or why the provider would not post it. Posting them is delivery.py's job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.whatsapp import evolution_payloads as evolution, uazapi_payloads as uazapi
from sandbox.whatsapp.content import KINDS, Choice, Media
from sandbox.whatsapp.ids import lid_for, now
from sandbox.whatsapp.runtime import Sandbox
from sandbox.whatsapp.state import CustomerMedia, Instance, SentMessage, Webhook


@dataclass(frozen=True)
class Outgoing:
    kind: str  # "inbound" | "echo" | "phone" | "status"
    event: str
    url: str
    message_id: str
    payload: dict[str, Any] | None  # None when the provider would not deliver it
    skipped: str | None = None
    hook: Webhook | None = None  # the webhook it goes to (its headers go with it)


@dataclass(frozen=True)
class CustomerText:
    phone: str
    name: str
    text: str
    message_id: str
    lid: bool
    quoted: str | None
    moment: datetime
    media: CustomerMedia | None = None  # with media, `text` is its caption
    lid_only: bool = False  # WhatsApp withholds the number: the sender is known only by @lid
    choice: Choice | None = None  # a list row / button the customer picked


def _route(instance: Instance, hook: Webhook, event: str, message_type: str | None = None, *,
           from_me: bool = False, sent_by_api: bool = False) -> tuple[str, str | None]:
    """(the URL this event goes to, why the provider would not post it there or None). uazapi's URL may name the
    message type and its filters who sent it; Evolution's filters know only events."""
    if instance.provider == "uazapi":
        return (uazapi.target_url(hook, event, message_type),
                uazapi.skip_reason(hook, event, from_me=from_me, sent_by_api=sent_by_api))
    return evolution.target_url(hook, event), evolution.skip_reason(hook, event)


def inbound_event(sandbox: Sandbox, instance: Instance, base_url: str, msg: CustomerText,
                  hook: Webhook | None = None) -> Outgoing:
    hook = hook or instance.webhook
    assert hook is not None
    sandbox.state.lid_phones[lid_for(msg.phone)] = msg.phone  # replies may come back to the LID
    contact = sandbox.state.contact(instance.name, msg.phone)
    contact.name = msg.name or contact.name
    contact.count_unread(msg.message_id)
    quoted_text = sandbox.quoted_text(msg.quoted)
    media = Media.of(msg.media.kind, msg.media.file, msg.media.url) if msg.media else None
    event = uazapi.EVENT_MESSAGES if instance.provider == "uazapi" else evolution.EVENT_UPSERT
    url, skipped = _route(instance, hook, event, KINDS[media.kind][0] if media else "ExtendedTextMessage")
    if skipped:
        payload = None
    elif instance.provider == "uazapi":
        payload = uazapi.inbound(
            instance, base_url, phone=msg.phone, name=msg.name, text=msg.text, message_id=msg.message_id,
            moment=msg.moment, lid=msg.lid, quoted=msg.quoted, quoted_text=quoted_text, unread=contact.unread,
            media=media, lid_only=msg.lid_only, choice=msg.choice,
        )
    else:
        payload = evolution.inbound(
            instance, base_url, url, phone=msg.phone, name=msg.name, text=msg.text, message_id=msg.message_id,
            moment=msg.moment, lid=msg.lid, quoted=msg.quoted, quoted_text=quoted_text, media=media,
            lid_only=msg.lid_only, choice=msg.choice,
            inline=msg.media.file.data if msg.media and hook.base64 else None,
        )
    return Outgoing("inbound", event, url, msg.message_id, payload, skipped, hook)


def edit_event(instance: Instance, base_url: str, msg: CustomerText, original_id: str,
               hook: Webhook | None = None) -> Outgoing:
    """The customer edits `original_id` to say `msg.text` (uazapi: a new message naming the edited one)."""
    hook = hook or instance.webhook
    assert hook is not None
    event = uazapi.EVENT_MESSAGES if instance.provider == "uazapi" else evolution.EVENT_EDITED
    url, skipped = _route(instance, hook, event, "ExtendedTextMessage")
    if skipped:
        payload = None
    elif instance.provider == "uazapi":
        payload = uazapi.inbound(
            instance, base_url, phone=msg.phone, name=msg.name, text=msg.text, message_id=msg.message_id,
            moment=msg.moment, lid=msg.lid, quoted=None, quoted_text=None, unread=0, lid_only=msg.lid_only,
            edit_of=original_id,
        )
    else:
        payload = evolution.edit(
            instance, base_url, url, phone=msg.phone, original_id=original_id, text=msg.text, lid=msg.lid,
            lid_only=msg.lid_only, moment=msg.moment,
        )
    return Outgoing("edit", event, url, msg.message_id, payload, skipped, hook)


def reaction_event(sandbox: Sandbox, instance: Instance, base_url: str, sent: SentMessage, emoji: str,
                   lid_only: bool, message_id: str, hook: Webhook | None = None) -> Outgoing | None:
    """The customer reacts to one of our sends."""
    hook = hook or instance.webhook
    if hook is None:
        return None
    name = sandbox.state.contact(instance.name, sent.number).name or "Cliente"
    event = uazapi.EVENT_MESSAGES if instance.provider == "uazapi" else evolution.EVENT_UPSERT
    url, skipped = _route(instance, hook, event, "ReactionMessage")
    if skipped:
        payload = None
    elif instance.provider == "uazapi":
        payload = uazapi.reaction(
            instance, base_url, phone=sent.number, name=name, message_id=message_id, reacted=sent, emoji=emoji,
            lid_only=lid_only, moment=now())
    else:
        payload = evolution.reaction(
            instance, base_url, url, phone=sent.number, name=name, message_id=message_id, reacted=sent,
            emoji=emoji, lid=True, lid_only=lid_only, moment=now())
    return Outgoing("reaction", event, url, message_id, payload, skipped, hook)


def echo_event(sandbox: Sandbox, instance: Instance, base_url: str, sent: SentMessage,
               hook: Webhook | None = None) -> Outgoing | None:
    hook = hook or instance.webhook
    if hook is None:
        return None
    quoted_text = sandbox.quoted_text(sent.quoted)
    event = uazapi.EVENT_MESSAGES if instance.provider == "uazapi" else evolution.echo_event(sent)
    message_type = KINDS[sent.media.kind][0] if sent.media and sent.media.kind in KINDS else "ExtendedTextMessage"
    url, skipped = _route(instance, hook, event, message_type, from_me=True, sent_by_api=sent.origin != "phone")
    name = sandbox.state.contact(instance.name, sent.number).name if instance.provider == "uazapi" else ""
    if skipped:
        payload = None
    elif instance.provider == "uazapi":
        payload = uazapi.echo(instance, base_url, sent, contact_name=name, quoted_text=quoted_text)
    else:
        payload = evolution.echo(instance, base_url, url, sent, quoted_text=quoted_text, moment=now())
    return Outgoing("phone" if sent.origin == "phone" else "echo", event, url, sent.id, payload, skipped, hook)


def receipt_event(instance: Instance, base_url: str, sent: SentMessage, moment: datetime,
                  hook: Webhook | None = None) -> Outgoing | None:
    hook = hook or instance.webhook
    if hook is None:
        return None
    event = uazapi.EVENT_RECEIPT if instance.provider == "uazapi" else evolution.EVENT_UPDATE
    url, skipped = _route(instance, hook, event, from_me=True, sent_by_api=True)
    if skipped:
        payload = None
    elif instance.provider == "uazapi":
        payload = uazapi.receipt(instance, base_url, sent, moment)
    else:
        payload = evolution.receipt(instance, base_url, url, sent, moment)
    return Outgoing("status", event, url, sent.id, payload, skipped, hook)
