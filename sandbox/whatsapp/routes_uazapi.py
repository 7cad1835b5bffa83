"""uazapiGO's side: POST /send/text, /send/media, /message/download, /message/find and GET/POST /webhook (a list of
webhooks per instance, managed with `action` add/update/delete as uazapiGO v2's OpenAPI spec describes),
authenticated by the instance token in the `token` header."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp import uazapi_payloads as uazapi
from sandbox.whatsapp.bodies import decode_base64, guess_mimetype, json_object, phrase, valid_url
from sandbox.whatsapp.content import Media
from sandbox.whatsapp.ids import digits, now
from sandbox.whatsapp.runtime import sandbox_of
from sandbox.whatsapp.sending import accept_send
from sandbox.whatsapp.state import Instance, SentMedia, SentMessage, Webhook

router = APIRouter(tags=["uazapi"])
MEDIA_TYPES = {"image": "image", "video": "video", "document": "document", "audio": "audio", "myaudio": "audio",
               "ptt": "audio", "sticker": "sticker"}  # /send/media's `type` -> what the chat shows


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _failure_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"error": "Rate limit exceeded"}
    if status >= 500:
        return {"error": "Failed to send message"}
    return {"error": phrase(status)}


def _instance(request: Request) -> Instance | None:
    token = request.headers.get("token") or request.query_params.get("token")
    return sandbox_of(request).state.by_token("uazapi", token)


@router.post("/send/text")
async def send_text(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    instance = _instance(request)
    if instance is None:
        return _error(401, "Invalid token")
    body = await json_object(request) or {}
    number, text = str(body.get("number") or "").strip(), body.get("text")
    if not digits(number) or not isinstance(text, str) or not text:
        return _error(400, "Missing number or text")
    sent = await accept_send(request, instance, _failure_body, number=number, text=text, delay=body.get("delay"),
                             quoted=body.get("replyid"), track_source=body.get("track_source"),
                             track_id=body.get("track_id"))
    if isinstance(sent, JSONResponse):
        return sent
    return JSONResponse(uazapi.send_response(instance, sent, quoted_text=sandbox.quoted_text(sent.quoted)))


@router.post("/send/media")
async def send_media(request: Request) -> JSONResponse:
    """An image, video, audio or document, from a URL or base64 (`file`), with `text` as its caption."""
    sandbox = sandbox_of(request)
    instance = _instance(request)
    if instance is None:
        return _error(401, "Invalid token")
    body = await json_object(request) or {}
    number, kind, file = str(body.get("number") or "").strip(), body.get("type"), body.get("file")
    if not digits(number) or kind not in MEDIA_TYPES or not isinstance(file, str) or not file:
        return _error(400, "Missing number, type or file")
    if not valid_url(file) and decode_base64(file) is None:
        return _error(400, "Invalid file: give a URL or base64")
    caption = body.get("text") if isinstance(body.get("text"), str) else ""
    media = SentMedia(MEDIA_TYPES[kind], file, _str(body.get("mimetype")) or guess_mimetype(MEDIA_TYPES[kind], file),
                      _str(body.get("docName")))
    sent = await accept_send(request, instance, _failure_body, sends="media", number=number, text=caption,
                             delay=body.get("delay"), quoted=body.get("replyid"),
                             track_source=body.get("track_source"), track_id=body.get("track_id"), media=media)
    if isinstance(sent, JSONResponse):
        return sent
    return JSONResponse(uazapi.send_response(instance, sent, quoted_text=sandbox.quoted_text(sent.quoted)))


@router.post("/message/download")
async def download(request: Request) -> JSONResponse:
    """A received message's file, decrypted: as base64 (`return_base64`) and/or a link (`return_link`, default)."""
    sandbox = sandbox_of(request)
    instance = _instance(request)
    if instance is None:
        return _error(401, "Invalid token")
    body = await json_object(request) or {}
    message_id = str(body.get("id") or "").rsplit(":", 1)[-1].strip()
    stored = sandbox.state.media.get(message_id)
    if not message_id or stored is None:
        return _error(404, "Message not found")
    media = Media.of(stored.kind, stored.file, stored.url)
    return JSONResponse(uazapi.download_response(media, stored.file.data, return_base64=bool(body.get("return_base64")),
                                                 return_link=body.get("return_link", True) is not False))


@router.post("/message/find")
async def find_messages(request: Request) -> JSONResponse:
    """Messages the instance sent, newest first, filtered by chatid, id, track_source and track_id."""
    sandbox = sandbox_of(request)
    instance = _instance(request)
    if instance is None:
        return _error(401, "Invalid token")
    body = await json_object(request) or {}
    limit = body.get("limit") if isinstance(body.get("limit"), int) and body["limit"] > 0 else 100
    offset = body.get("offset") if isinstance(body.get("offset"), int) and body["offset"] >= 0 else 0
    filters = {name: str(body[name]) for name in ("chatid", "id", "track_source", "track_id") if body.get(name)}

    def matches(sent: SentMessage) -> bool:
        values = {"chatid": sent.jid, "id": sent.id, "track_source": sent.track_source, "track_id": sent.track_id}
        return all(values[name] == value or (name == "id" and value.endswith(f":{sent.id}"))
                   for name, value in filters.items())

    found = [m for m in reversed(sandbox.state.messages) if m.instance == instance.name and matches(m)]
    page = [uazapi.echo(instance, "", sent, contact_name="", quoted_text=None)["message"]
            for sent in found[offset:offset + limit]]
    return JSONResponse({"returnedMessages": len(page), "messages": page, "limit": limit, "offset": offset,
                         "nextOffset": offset + len(page), "hasMore": offset + len(page) < len(found)})


@router.post("/webhook")
async def set_webhook(request: Request) -> JSONResponse:
    """uazapiGO keeps a list of webhooks per instance. Without `action` (its "simple mode") the first one is
    created or replaced; `action` "add" appends one (a new `id`), "update" rewrites the one `id` names, "delete"
    removes it. The answer is the instance's whole list."""
    instance = _instance(request)
    if instance is None:
        return _error(401, "Invalid token")
    body = await json_object(request)
    if body is None:
        return _error(400, "Invalid payload")
    action = body.get("action")
    if action not in (None, "", "add", "update", "delete"):
        return _error(400, "Invalid action")
    target = None
    if action in ("update", "delete"):
        target = next((hook for hook in instance.webhooks if hook.id == body.get("id")), None)
        if target is None:
            return _error(400, "Webhook not found" if body.get("id") else "id is required for update and delete")
        if action == "delete":
            instance.webhooks.remove(target)
            return JSONResponse(_listed(instance))
    if not valid_url(body.get("url")):
        return _error(400, "Invalid URL")
    events, excluded = body.get("events", []), body.get("excludeMessages", [])
    if not _strings(events) or not _strings(excluded):
        return _error(400, "Invalid events")
    hook = Webhook(
        url=body["url"], enabled=bool(body.get("enabled", True)), events=list(events),
        exclude_messages=list(excluded), by_events=bool(body.get("addUrlEvents", False)),
        add_url_types=bool(body.get("addUrlTypesMessages", body.get("AddUrlTypesMessages", False))),
    )
    previous = target if action == "update" else (instance.webhook if not action else None)
    if previous is None:
        instance.webhooks.append(hook)
    else:
        hook.id, hook.created, hook.updated = previous.id, previous.created, now()
        instance.webhooks[instance.webhooks.index(previous)] = hook
    return JSONResponse(_listed(instance))


@router.get("/webhook")
async def get_webhook(request: Request) -> JSONResponse:
    """The instance's webhooks, always a list (empty when there is none)."""
    instance = _instance(request)
    if instance is None:
        return _error(401, "Invalid token")
    return JSONResponse(_listed(instance))


def _listed(instance: Instance) -> list[dict[str, Any]]:
    return [uazapi.webhook_config(instance, hook) for hook in instance.webhooks]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
