"""The simulator's own controls under /sandbox: instances, what the bot sent, customers writing (texts, voice
notes, photos, documents), an attendant typing on the instance's phone, faults, config."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox.whatsapp import media_files
from sandbox.whatsapp.content import Choice
from sandbox.whatsapp.delivery import deliver_to_each
from sandbox.whatsapp.ids import digits, evolution_inbound_id, now, phone_message_id
from sandbox.whatsapp.runtime import Sandbox, base_url_of, sandbox_of
from sandbox.whatsapp.state import DEFAULT_OWNER, CustomerMedia, Delivery, Fault, Instance
from sandbox.whatsapp.webhook_events import CustomerText, Outgoing, echo_event, edit_event, inbound_event

router = APIRouter(prefix="/sandbox", tags=["sandbox"])
EDIT_AFTER_SECONDS = 0.4  # within the bot's quiet window: the burst is answered as edited


class InstanceIn(BaseModel):
    provider: Literal["uazapi", "evolution"]
    instance: str = Field(min_length=1, max_length=100)
    token: str = Field(min_length=1, max_length=200, description="the instance's own token")
    owner: str = Field(DEFAULT_OWNER, pattern=r"^\d{8,15}$", description="the instance's own phone, digits")
    connection: Literal["open", "connecting", "close"] = Field(
        "open", description="Evolution's connectionState: open (logged in), connecting (QR code), close")


class InboundIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    instance: str
    from_: str = Field(alias="from", description="the customer's phone, digits (with country code)")
    name: str = "Cliente Exemplo"
    kind: Literal["text", "audio", "image", "document", "list_reply", "button_reply"] = Field(
        "text", description="audio: a voice note (Ogg Opus); image: a photo; document: a PDF; list_reply / "
        "button_reply: the customer picked a list row / button (`choice_id`, with `text` as what it said)")
    text: str | None = Field(None, min_length=1, description="the text; for audio, what the voice note says "
                             "(tagged in the file, so a fake speech-to-text endpoint can hear it)")
    caption: str = Field("", description="caption of an image or document")
    file_name: str | None = Field(None, min_length=1, max_length=200, description="a document's file name")
    size_kb: int | None = Field(None, ge=1, le=64 * 1024, description="a document's size (default: a few hundred "
                                "bytes); with Evolution's `base64` webhook option the file rides in the body")
    seconds: int | None = Field(None, ge=1, le=3600, description="length of a voice note (default from its text)")
    id: str | None = Field(None, min_length=1, description="provider message id; repeat one to simulate a replay")
    lid: bool = Field(False, description="address the sender by @lid, phone in sender_pn / key.remoteJidAlt")
    lid_only: bool | None = Field(None, description="WhatsApp withholds the number: the sender is known only by "
                                  "@lid (default: drawn once per customer at the configured lid_only_rate)")
    quoted: str | None = Field(None, description="id of the message this one replies to")
    choice_id: str | None = Field(None, min_length=1, max_length=200, description="the picked row's / button's id")
    edit: bool | None = Field(None, description="send the text cut short first, then edit it to the whole text "
                              "(default: drawn at the configured edit_rate)")

    @model_validator(mode="after")
    def text_for_texts(self) -> InboundIn:
        if self.kind in ("text", "list_reply", "button_reply") and not self.text:
            raise ValueError(f"a {self.kind} needs `text`")
        if self.kind in ("list_reply", "button_reply") and not self.choice_id:
            raise ValueError(f"a {self.kind} needs `choice_id`")
        return self


class PhoneReplyIn(BaseModel):
    instance: str
    to: str = Field(description="the customer's phone, digits (with country code)")
    text: str = Field(min_length=1, description="what the attendant types in the WhatsApp app or on WhatsApp Web")


class FaultIn(BaseModel):
    count: int = Field(ge=1, le=10_000)
    status: int = Field(500, ge=400, le=599)
    instance: str | None = None
    mode: Literal["status", "timeout", "accept_timeout", "transient", "not_on_whatsapp"] = Field(
        "status", description="status: answer `status`; timeout: hang, then 504; accept_timeout: send the message, "
        "then hang and 504 (the caller cannot tell it went out); transient: the provider's 400 for a socket that "
        "is down (\"Connection Closed\"); not_on_whatsapp: its 400 for a number WhatsApp does not know")
    seconds: float | None = Field(None, gt=0, le=300, description="how long the timeout modes hang (default 30)")
    sends: Literal["any", "text", "media"] = Field("any", description="fail only text sends, or only media sends")


class ConfigIn(BaseModel):
    echo: bool | None = None
    status_updates: bool | None = None
    status_delay_ms: int | None = Field(None, ge=0, le=60_000)
    lid_only_rate: float | None = Field(None, ge=0, le=1, description="share of customers whose number is "
                                        "withheld (known only by @lid)")
    edit_rate: float | None = Field(None, ge=0, le=1, description="share of texts sent cut short, then edited")
    reaction_rate: float | None = Field(None, ge=0, le=1, description="share of the bot's messages the customer "
                                        "reacts to")
    transient_send_rate: float | None = Field(None, ge=0, le=1, description="share of sends refused with the "
                                              "provider's transient error")
    evolution_api_key: str | None = Field(None, min_length=1, max_length=200,
                                          description="Evolution's global key (AUTHENTICATION_API_KEY)")
    evolution_expose_apikey: bool | None = Field(
        None, description="Evolution's AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES: webhooks carry the instance's "
        "token as `apikey` (on), or `apikey: null` (off; then only a webhook registered with a `jwt_key` header "
        "carries a secret: its JWT)")


class WebhookSettingsIn(BaseModel):
    by_events: bool = Field(description="Evolution's 'Webhook by events': each event posted to <url>/<event-name> "
                            "(messages-upsert, messages-update, connection-update, send-message...)")


@router.post("/instances")
async def upsert_instance(body: InstanceIn, request: Request) -> dict[str, Any]:
    """Create the instance, or update its provider, token and owner (its webhook stays registered)."""
    state = sandbox_of(request).state
    if state.token_taken(body.provider, body.token, body.instance):
        raise HTTPException(409, f"another {body.provider} instance already uses that token")
    instance, created = state.upsert_instance(body.provider, body.instance, body.token, body.owner, body.connection)
    return {**instance.summary(), "created": created}


@router.post("/instances/{instance}/webhook")
async def webhook_settings(instance: str, body: WebhookSettingsIn, request: Request) -> dict[str, Any]:
    """Switch an Evolution instance's 'Webhook by events' on or off, as its operator would in Evolution's manager
    (POST /webhook/set with byEvents does the same): the registered URL stays, events go to its suffixes."""
    found = sandbox_of(request).state.instances.get(instance)
    if found is None:
        raise HTTPException(404, f"no instance {instance!r}: create it with POST /sandbox/instances")
    if found.provider != "evolution":
        raise HTTPException(409, "a Uazapi webhook's URL suffixes are set when it is registered (addUrlEvents)")
    if found.webhook is None:
        raise HTTPException(409, f"instance {instance!r} has no webhook registered; POST /webhook/set/{instance}")
    found.webhook.by_events, found.webhook.updated = body.by_events, now()
    return found.summary()


@router.get("/instances")
async def list_instances(request: Request) -> list[dict[str, Any]]:
    return [instance.summary() for instance in sandbox_of(request).state.instances.values()]


@router.get("/messages")
async def list_messages(request: Request, number: str | None = None,
                        instance: str | None = None) -> list[dict[str, Any]]:
    """What the bot sent, oldest first, with the delivery status the sandbox reported later."""
    wanted = digits(number) if number else None
    return [
        message.as_dict() for message in sandbox_of(request).state.messages
        if (wanted is None or message.number == wanted) and (instance is None or message.instance == instance)
    ]


def _receiving_instance(sandbox: Sandbox, name: str) -> Instance:
    """The instance, if it has an enabled webhook to post to."""
    instance = sandbox.state.instances.get(name)
    if instance is None:
        raise HTTPException(404, f"no instance {name!r}: create it with POST /sandbox/instances")
    if instance.webhook is None:
        where = "POST /webhook" if instance.provider == "uazapi" else f"POST /webhook/set/{instance.name}"
        raise HTTPException(409, f"instance {instance.name!r} has no webhook registered; register one with {where}")
    if not any(hook.enabled for hook in instance.webhooks):
        raise HTTPException(409, f"the webhook of instance {instance.name!r} is disabled")
    return instance


@router.post("/inbound")
async def customer_writes(body: InboundIn, request: Request) -> dict[str, Any]:
    """A customer sends a text, a voice note, a photo or a document: the provider-format webhook is posted to the
    instance's registered URL (a file is then downloadable through the provider's download endpoint)."""
    sandbox = sandbox_of(request)
    instance = _receiving_instance(sandbox, body.instance)
    phone = digits(body.from_)
    if not 8 <= len(phone) <= 15:
        raise HTTPException(422, "`from` must be a phone number with country code, 8 to 15 digits")
    message_id = body.id or (phone_message_id() if instance.provider == "uazapi" else evolution_inbound_id())
    media = _customer_media(body, f"{base_url_of(request)}/sandbox/media/{message_id}")
    if media is not None:
        sandbox.state.media[message_id] = media
    config = sandbox.state.config
    contact = sandbox.state.contact(instance.name, phone)
    if contact.lid_only is None:
        contact.lid_only = random.random() < config.lid_only_rate
    lid_only = body.lid_only if body.lid_only is not None else contact.lid_only
    choice = Choice("list" if body.kind == "list_reply" else "button", body.choice_id, body.text or "") \
        if body.choice_id and body.kind in ("list_reply", "button_reply") else None
    text = body.caption if media else body.text or ""
    edit = body.kind == "text" and len(text.split()) > 1 and (
        body.edit if body.edit is not None else random.random() < config.edit_rate)
    msg = CustomerText(phone=phone, name=body.name, text=text.rsplit(" ", 1)[0] if edit else text,
                       message_id=message_id, lid=body.lid, quoted=body.quoted, moment=now(), media=media,
                       lid_only=lid_only, choice=choice)
    base_url = base_url_of(request)
    posted = await deliver_to_each(sandbox, instance,
                                   lambda hook: inbound_event(sandbox, instance, base_url, msg, hook))
    answer = _answer(posted, message_id)
    if edit:  # the customer notices the missing word and edits the message a moment later
        await asyncio.sleep(EDIT_AFTER_SECONDS)
        edited = replace(msg, text=text, moment=now(), message_id=phone_message_id() if instance.provider == "uazapi"
                         else evolution_inbound_id())
        posted = await deliver_to_each(sandbox, instance,
                                    lambda hook: edit_event(instance, base_url, edited, message_id, hook))
        answer["edit"] = _answer(posted, edited.message_id)
    answer["lid_only"] = lid_only
    return answer


def _customer_media(body: InboundIn, url: str) -> CustomerMedia | None:
    if body.kind == "audio":
        seconds = body.seconds or max(2, len(body.text or "") // 12)  # about how long it takes to say it
        return CustomerMedia("audio", media_files.voice_note(seconds, body.text), url)
    if body.kind == "image":
        return CustomerMedia("image", media_files.photo(), url, body.caption)
    if body.kind == "document":
        name = body.file_name or "documento.pdf"
        file = media_files.pdf(body.caption or name, name, size=body.size_kb * 1024 if body.size_kb else None)
        return CustomerMedia("document", file, url, body.caption)
    return None


@router.get("/media/{message_id}")
async def customer_file(message_id: str, request: Request) -> Response:
    """The file a customer sent (the URL its webhook named)."""
    stored = sandbox_of(request).state.media.get(message_id)
    if stored is None:
        raise HTTPException(404, f"no customer file for message {message_id!r}")
    return Response(stored.file.data, media_type=stored.file.mimetype)


@router.post("/phone-reply")
async def attendant_types_on_the_phone(body: PhoneReplyIn, request: Request) -> dict[str, Any]:
    """A person answers from the instance's own phone (WhatsApp app or Web), not through the API: the provider
    posts it as a fromMe message (Uazapi wasSentByApi false; Evolution an id no send returned)."""
    sandbox = sandbox_of(request)
    instance = _receiving_instance(sandbox, body.instance)
    phone = digits(body.to)
    if not 8 <= len(phone) <= 15:
        raise HTTPException(422, "`to` must be a phone number with country code, 8 to 15 digits")
    message_id = phone_message_id() if instance.provider == "uazapi" else evolution_inbound_id()
    sent = sandbox.record_send(instance, number=phone, text=body.text, origin="phone", message_id=message_id)
    base_url = base_url_of(request)
    posted = await deliver_to_each(sandbox, instance, lambda hook: echo_event(sandbox, instance, base_url, sent, hook))
    return _answer(posted, message_id)


@router.post("/faults")
async def plan_fault(body: FaultIn, request: Request) -> dict[str, Any]:
    """Make the next `count` sends (of `instance`, or of any instance) fail with `status`, or hang 30 s."""
    state = sandbox_of(request).state
    if body.instance is not None and body.instance not in state.instances:
        raise HTTPException(404, f"no instance {body.instance!r}")
    fault = Fault(remaining=body.count, status=body.status, instance=body.instance, mode=body.mode,
                  seconds=body.seconds, sends=body.sends)
    state.faults.append(fault)
    return fault.as_dict()


@router.get("/faults")
async def pending_faults(request: Request) -> list[dict[str, Any]]:
    return [fault.as_dict() for fault in sandbox_of(request).state.faults]


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, int]:
    state = sandbox_of(request).state
    cleared = len(state.faults)
    state.faults.clear()
    return {"cleared": cleared}


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    """Forget messages, faults, deliveries and config changes; instances and their webhooks stay."""
    sandbox = sandbox_of(request)
    await sandbox.cancel_pending()
    sandbox.state.reset()
    return {"ok": True, "instances": len(sandbox.state.instances)}


@router.get("/config")
async def get_config(request: Request) -> dict[str, Any]:
    """The echo and receipt switches, and the Evolution side's global key (as its server's operator knows it)."""
    state = sandbox_of(request).state
    return {**state.config.as_dict(), "evolution_api_key": state.evolution_api_key,
            "evolution_expose_apikey": state.evolution_expose_apikey}


@router.post("/config")
async def set_config(body: ConfigIn, request: Request) -> dict[str, Any]:
    """Switch the echo and the delivery receipts that follow each send, or change Evolution's server settings
    (global key, apikey in webhooks) (fields left out stay as they are; /sandbox/reset puts the switches back, not
    the server settings)."""
    state = sandbox_of(request).state
    changes = body.model_dump(exclude_none=True)
    state.evolution_api_key = changes.pop("evolution_api_key", state.evolution_api_key)
    state.evolution_expose_apikey = changes.pop("evolution_expose_apikey", state.evolution_expose_apikey)
    for name, value in changes.items():
        setattr(state.config, name, value)
    return await get_config(request)


@router.get("/deliveries")
async def list_deliveries(request: Request, instance: str | None = None) -> list[dict[str, Any]]:
    """Every webhook POST the sandbox made (or skipped, with the reason): url, event, status code, attempts."""
    return [d.as_dict() for d in sandbox_of(request).state.deliveries if instance is None or d.instance == instance]


def _answer(posted: list[tuple[Outgoing, Delivery]], message_id: str) -> dict[str, Any]:
    """What happened to the provider's webhook (what the caller of /sandbox/* sees): `delivered` when every
    webhook it was posted to took it; status and attempts of the first one posted to; each one in `deliveries`."""
    sent = [(outgoing, delivery) for outgoing, delivery in posted if outgoing.payload is not None]
    outgoing, delivery = sent[0] if sent else posted[0]
    answer = {"id": message_id, "delivered": bool(sent) and all(d.delivered for _, d in sent),
              "webhook_status": delivery.status_code, "attempts": delivery.attempts, "payload": outgoing.payload,
              "deliveries": [{"url": d.url, "delivered": d.delivered, "webhook_status": d.status_code,
                              "attempts": d.attempts, "skipped": o.skipped} for o, d in posted]}
    if not sent:
        answer["skipped"] = outgoing.skipped
    return answer
