"""Which webhook an event goes to, in which provider's format, and posting it: inbound, echo (also what an
attendant typed on the phone), receipt."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.whatsapp import evolution_payloads as evolution, uazapi_payloads as uazapi
from sandbox.whatsapp.content import KINDS, Choice, Media
from sandbox.whatsapp.ids import evolution_inbound_id, lid_for, now, phone_message_id
from sandbox.whatsapp.runtime import Sandbox
from sandbox.whatsapp.state import Config, CustomerMedia, Delivery, Instance, SentMessage, Webhook


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
    if instance.provider == "uazapi":
        event = uazapi.EVENT_MESSAGES
        url = uazapi.target_url(hook, event, KINDS[media.kind][0] if media else "ExtendedTextMessage")
        skipped = uazapi.skip_reason(hook, event, from_me=False, sent_by_api=False)
        payload = None if skipped else uazapi.inbound(
            instance, base_url, phone=msg.phone, name=msg.name, text=msg.text, message_id=msg.message_id,
            moment=msg.moment, lid=msg.lid, quoted=msg.quoted, quoted_text=quoted_text, unread=contact.unread,
            media=media, lid_only=msg.lid_only, choice=msg.choice,
        )
    else:
        event = evolution.EVENT_UPSERT
        url = evolution.target_url(hook, event)
        skipped = evolution.skip_reason(hook, event)
        payload = None if skipped else evolution.inbound(
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
    if instance.provider == "uazapi":
        event = uazapi.EVENT_MESSAGES
        url = uazapi.target_url(hook, event, "ExtendedTextMessage")
        skipped = uazapi.skip_reason(hook, event, from_me=False, sent_by_api=False)
        payload = None if skipped else uazapi.inbound(
            instance, base_url, phone=msg.phone, name=msg.name, text=msg.text, message_id=msg.message_id,
            moment=msg.moment, lid=msg.lid, quoted=None, quoted_text=None, unread=0, lid_only=msg.lid_only,
            edit_of=original_id,
        )
    else:
        event = evolution.EVENT_EDITED
        url = evolution.target_url(hook, event)
        skipped = evolution.skip_reason(hook, event)
        payload = None if skipped else evolution.edit(
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
    if instance.provider == "uazapi":
        event = uazapi.EVENT_MESSAGES
        url = uazapi.target_url(hook, event, "ReactionMessage")
        skipped = uazapi.skip_reason(hook, event, from_me=False, sent_by_api=False)
        payload = None if skipped else uazapi.reaction(
            instance, base_url, phone=sent.number, name=name, message_id=message_id, reacted=sent, emoji=emoji,
            lid_only=lid_only, moment=now())
    else:
        event = evolution.EVENT_UPSERT
        url = evolution.target_url(hook, event)
        skipped = evolution.skip_reason(hook, event)
        payload = None if skipped else evolution.reaction(
            instance, base_url, url, phone=sent.number, name=name, message_id=message_id, reacted=sent,
            emoji=emoji, lid=True, lid_only=lid_only, moment=now())
    return Outgoing("reaction", event, url, message_id, payload, skipped, hook)


def echo_event(sandbox: Sandbox, instance: Instance, base_url: str, sent: SentMessage,
               hook: Webhook | None = None) -> Outgoing | None:
    hook = hook or instance.webhook
    if hook is None:
        return None
    quoted_text = sandbox.quoted_text(sent.quoted)
    if instance.provider == "uazapi":
        event = uazapi.EVENT_MESSAGES
        message_type = KINDS[sent.media.kind][0] if sent.media and sent.media.kind in KINDS else "ExtendedTextMessage"
        url = uazapi.target_url(hook, event, message_type)
        skipped = uazapi.skip_reason(hook, event, from_me=True, sent_by_api=sent.origin != "phone")
        name = sandbox.state.contact(instance.name, sent.number).name
        payload = None if skipped else uazapi.echo(instance, base_url, sent, contact_name=name,
                                                   quoted_text=quoted_text)
    else:
        event = evolution.echo_event(sent)
        url = evolution.target_url(hook, event)
        skipped = evolution.skip_reason(hook, event)
        payload = None if skipped else evolution.echo(instance, base_url, url, sent, quoted_text=quoted_text,
                                                      moment=now())
    return Outgoing("phone" if sent.origin == "phone" else "echo", event, url, sent.id, payload, skipped, hook)


def receipt_event(instance: Instance, base_url: str, sent: SentMessage, moment: datetime,
                  hook: Webhook | None = None) -> Outgoing | None:
    hook = hook or instance.webhook
    if hook is None:
        return None
    if instance.provider == "uazapi":
        event = uazapi.EVENT_RECEIPT
        url = uazapi.target_url(hook, event)
        skipped = uazapi.skip_reason(hook, event, from_me=True, sent_by_api=True)
        payload = None if skipped else uazapi.receipt(instance, base_url, sent, moment)
    else:
        event = evolution.EVENT_UPDATE
        url = evolution.target_url(hook, event)
        skipped = evolution.skip_reason(hook, event)
        payload = None if skipped else evolution.receipt(instance, base_url, url, sent, moment)
    return Outgoing("status", event, url, sent.id, payload, skipped, hook)


async def post(sandbox: Sandbox, instance: Instance, outgoing: Outgoing) -> Delivery:
    """Post it (with retries) and keep a record in /sandbox/deliveries; skipped events are recorded too."""
    delivery = Delivery(provider=instance.provider, instance=instance.name, kind=outgoing.kind, event=outgoing.event,
                        url=outgoing.url, message_id=outgoing.message_id)
    sandbox.state.deliveries.append(delivery)
    if outgoing.payload is None:
        delivery.error = f"skipped: {outgoing.skipped}"
        return delivery
    headers = {}
    if instance.provider == "evolution":
        if not sandbox.state.evolution_expose_apikey:  # in place: the caller of /sandbox/* sees what was posted
            outgoing.payload["apikey"] = None
        headers = evolution.delivery_headers(outgoing.hook)
    return await sandbox.poster.post(delivery, outgoing.payload, headers)


async def post_to_each(sandbox: Sandbox, instance: Instance,
                       build: Callable[[Webhook], Outgoing | None]) -> list[tuple[Outgoing, Delivery]]:
    """Post an event to every webhook of the instance, each with its own URL and filters: uazapiGO keeps a list
    of them and delivers to each; Evolution has one."""
    posted = []
    for hook in list(instance.webhooks):
        if (outgoing := build(hook)) is not None:
            posted.append((outgoing, await post(sandbox, instance, outgoing)))
    return posted


async def after_send(sandbox: Sandbox, instance: Instance, base_url: str, sent: SentMessage, config: Config) -> None:
    """What the providers post after a successful send: the echo at once, a delivery receipt a little later."""
    if config.echo:
        await post_to_each(sandbox, instance, lambda hook: echo_event(sandbox, instance, base_url, sent, hook))
    if config.status_updates:
        await asyncio.sleep(config.status_delay_ms / 1000)
        sent.status, sent.status_reported_at = "delivered", now()
        moment = sent.status_reported_at
        await post_to_each(sandbox, instance, lambda hook: receipt_event(instance, base_url, sent, moment, hook))
    if sent.origin == "api" and config.reaction_rate and random.random() < config.reaction_rate:
        lid_only = sent.jid.endswith("@lid")
        reaction_id = phone_message_id() if instance.provider == "uazapi" else evolution_inbound_id()
        await post_to_each(sandbox, instance, lambda hook: reaction_event(
            sandbox, instance, base_url, sent, "👍", lid_only, reaction_id, hook))
