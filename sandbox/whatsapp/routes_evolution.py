"""Evolution API's side: sendText, sendMedia, getBase64FromMediaMessage, findMessages, webhook/set and find per
instance, connectionState and fetchInstances, authenticated by the `apikey` header: the server's global key or
the instance's own token (evolution_instances.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp import evolution_instances as instances, evolution_payloads as evolution
from sandbox.whatsapp.bodies import decode_base64, guess_mimetype, json_object, phrase, valid_url
from sandbox.whatsapp.content import Media
from sandbox.whatsapp.ids import digits, now
from sandbox.whatsapp.runtime import sandbox_of
from sandbox.whatsapp.sending import accept_send
from sandbox.whatsapp.state import Instance, SentMedia, Webhook

router = APIRouter(tags=["evolution"])
MEDIA_TYPES = ("image", "document", "video", "audio")


def _error(status: int, message: Any) -> JSONResponse:
    return JSONResponse(evolution.error(status, phrase(status), message), status_code=status)


def _failure_body(status: int) -> dict[str, Any]:
    return evolution.error(status, phrase(status), "sandbox fault: simulated provider failure")


def _authorized(request: Request, name: str) -> Instance | JSONResponse:
    """Evolution's guards in their order: the instance must exist (404), then the key must open it (401)."""
    state = sandbox_of(request).state
    instance = state.instances.get(name)
    if instance is None or instance.provider != "evolution":
        return _error(404, instances.not_found_message(name))
    if not instances.may_call(state, instance, request.headers.get("apikey")):
        return _error(*instances.UNAUTHORIZED)
    return instance


@router.get("/instance/connectionState/{instance}")
async def connection_state(instance: str, request: Request) -> JSONResponse:
    """Whether the instance's number is logged in: `open`, `connecting` (waiting for the QR code) or `close`."""
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    return JSONResponse(instances.connection_state(found))


@router.get("/instance/fetchInstances")
async def fetch_instances(request: Request, instanceName: str | None = None,  # noqa: N803 - Evolution's names
                          instanceId: str | None = None) -> JSONResponse:
    """The instances with their tokens: all of them (or the one named) for the global key, those of an
    instance's token for that token."""
    answer = instances.listed(sandbox_of(request).state, request.headers.get("apikey"), instanceName, instanceId)
    if isinstance(answer, tuple):
        return _error(*answer)
    return JSONResponse(answer)


@router.post("/message/sendText/{instance}")
async def send_text(instance: str, request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    body = await json_object(request) or {}
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    legacy = body.get("textMessage") if isinstance(body.get("textMessage"), dict) else {}  # v1 shape
    number, text = str(body.get("number") or "").strip(), body.get("text", legacy.get("text"))
    if not digits(number):
        return _error(400, [['instance requires property "number"']])
    if not isinstance(text, str) or not text:
        return _error(400, [['instance requires property "text"']])
    quoted = body.get("quoted") if isinstance(body.get("quoted"), dict) else {}
    quoted_key = quoted.get("key") if isinstance(quoted.get("key"), dict) else {}
    sent = await accept_send(request, found, _failure_body, number=number, text=text,
                             delay=body.get("delay", options.get("delay")), quoted=quoted_key.get("id"))
    if isinstance(sent, JSONResponse):
        return sent
    answer = evolution.send_response(found, sent, quoted_text=sandbox.quoted_text(sent.quoted))
    return JSONResponse(answer, status_code=201)


@router.post("/message/sendMedia/{instance}")
async def send_media(instance: str, request: Request) -> JSONResponse:
    """An image, video, audio or document from a URL or base64 (`media`), with `caption` and `fileName`."""
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    body = await json_object(request) or {}
    number, kind, file = str(body.get("number") or "").strip(), body.get("mediatype"), body.get("media")
    if not digits(number):
        return _error(400, [['instance requires property "number"']])
    if kind not in MEDIA_TYPES:
        return _error(400, [['instance.mediatype is not one of enum values: image,document,video,audio']])
    if not isinstance(file, str) or not (valid_url(file) or decode_base64(file) is not None):
        return _error(400, ["Owned media must be a url or base64"])
    caption = body.get("caption") if isinstance(body.get("caption"), str) else ""
    mimetype = body.get("mimetype") if isinstance(body.get("mimetype"), str) and body["mimetype"] else None
    file_name = body.get("fileName") if isinstance(body.get("fileName"), str) and body["fileName"] else None
    media = SentMedia(kind, file, mimetype or guess_mimetype(kind, file), file_name)
    sent = await accept_send(request, found, _failure_body, sends="media", number=number, text=caption,
                             delay=body.get("delay"), media=media)
    if isinstance(sent, JSONResponse):
        return sent
    return JSONResponse(evolution.send_response(found, sent, quoted_text=None), status_code=201)


@router.post("/chat/getBase64FromMediaMessage/{instance}")
async def media_base64(instance: str, request: Request) -> JSONResponse:
    """The decrypted file of a received message, named by `message.key.id` (or a whole stored message)."""
    sandbox = sandbox_of(request)
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    body = await json_object(request) or {}
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    key = message.get("key") if isinstance(message.get("key"), dict) else {}
    stored = sandbox.state.media.get(str(key.get("id") or ""))
    if stored is None:
        return _error(400, ["Message not found"])
    media = Media.of(stored.kind, stored.file, stored.url)
    return JSONResponse(evolution.media_base64_response(media, stored.file.data, stored.caption), status_code=201)


@router.post("/chat/findMessages/{instance}")
async def find_messages(instance: str, request: Request) -> JSONResponse:
    """The instance's sent messages, newest first: `where.key` filters remoteJid, id and fromMe; `offset` is
    the page size and `page` the page, as in Evolution v2."""
    sandbox = sandbox_of(request)
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    body = await json_object(request) or {}
    where = body.get("where") if isinstance(body.get("where"), dict) else {}
    key = where.get("key") if isinstance(where.get("key"), dict) else {}
    size = body.get("offset") if isinstance(body.get("offset"), int) and body["offset"] > 0 else 50
    page = body.get("page") if isinstance(body.get("page"), int) and body["page"] > 0 else 1
    if key.get("fromMe") is False:  # the sandbox keeps only what the instance sent
        records = []
    else:
        records = [m for m in reversed(sandbox.state.messages) if m.instance == found.name
                   and key.get("remoteJid") in (None, m.jid) and key.get("id") in (None, m.id)]
    chunk = records[(page - 1) * size: page * size]
    return JSONResponse({"messages": {
        "total": len(records), "pages": -(-len(records) // size), "currentPage": page,
        "records": [evolution.stored_record(found, sent) for sent in chunk],
    }})


@router.post("/webhook/set/{instance}")
async def set_webhook(instance: str, request: Request) -> JSONResponse:
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    body = await json_object(request) or {}
    config = body["webhook"] if isinstance(body.get("webhook"), dict) else body  # nested (v2.2+) or flat form
    if not valid_url(config.get("url")):
        return _error(400, ['Invalid "url" property'])
    events = config.get("events") or []
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        return _error(400, ['"events" must be a list of event names'])
    headers = config.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return _error(400, ['"headers" must be an object of strings'])
    enabled = bool(config.get("enabled", True))
    events = [evolution.event_key(event) for event in events] if enabled else []
    previous = found.webhook
    found.webhook = Webhook(
        url=config["url"], enabled=enabled, events=events or (list(evolution.ALL_EVENTS) if enabled else []),
        by_events=bool(_first(config, "byEvents", "webhookByEvents", "webhook_by_events")),
        base64=bool(_first(config, "base64", "webhookBase64", "webhook_base64")), headers=dict(headers),
    )
    if previous is not None:
        found.webhook.id, found.webhook.created, found.webhook.updated = previous.id, previous.created, now()
    return JSONResponse(evolution.webhook_config(found, found.webhook), status_code=201)


@router.get("/webhook/find/{instance}")
async def find_webhook(instance: str, request: Request) -> JSONResponse:
    found = _authorized(request, instance)
    if isinstance(found, JSONResponse):
        return found
    return JSONResponse(evolution.webhook_config(found, found.webhook) if found.webhook else None)


def _first(config: dict[str, Any], *names: str) -> Any:
    return next((config[name] for name in names if name in config), False)
