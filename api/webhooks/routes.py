"""POST /webhooks/{uazapi,evolution}/{channel_key}, the HTTP side: find the channel by its key, read the body
(capped), parse it, check the provider's secret, hand the events to the pipeline (pipeline.py), answer.
Evolution's "webhook by events" posts to /webhooks/evolution/{channel_key}/{event-name}: the same route.

Status codes are the contract with the providers, which retry 5xx and not 4xx: unknown key 404, missing or wrong
provider secret 401 (a real provider always sends it), malformed 422, too large 413, flood 429 (the message is
still kept), store unavailable 503.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import tempfile
import time
import uuid

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError as PoolTimeout
from starlette.requests import ClientDisconnect

from api.deps import state_of
from api.routes.common import error_responses
from api.state import AppState
from api.webhooks import evolution, inline_media, pipeline, uazapi
from api.webhooks.channels import ChannelRef
from api.webhooks.events import MalformedPayload
from niochat.logging import get_logger

router = APIRouter(tags=["webhooks"])
log = get_logger(__name__)

MAX_BODY_BYTES = 1_000_000
# Past the cap a body is still read to its end before it is answered (see _read_payload), up to this much or this
# long: it may be a customer's file riding inline (kept, without the file), or it is answered 413 only once read.
# Past these the 413 closes the connection.
DRAIN_MAX_BYTES = 64_000_000
DRAIN_MAX_SECONDS = 15.0
SPOOL_IN_MEMORY_BYTES = 4_000_000  # a larger body waits on disk while it is parsed
PARSERS = {"uazapi": uazapi.parse, "evolution": evolution.parse}
WEBHOOKS = Counter("niochat_webhooks_total", "Webhook deliveries by outcome", ["provider", "outcome"])
WEBHOOK_EVENTS = Counter("niochat_webhook_events_total", "Webhook events by result", ["provider", "result"])
WEBHOOK_URL_EVENTS = Counter("niochat_webhook_url_event_mismatches_total",
                             "By-events webhooks whose URL names another event than their body (the body wins)",
                             ["provider"])
INLINE_FILES = Counter("niochat_webhook_inline_files_dropped_total",
                       "Customer files that rode inside a webhook body (base64), dropped while reading it; the file is "
                       "downloaded from the provider like any other")
WEBHOOK_ERRORS = error_responses(401, 404, 413, 422, 429, 503)
UNAVAILABLE = (OperationalError, DBAPIError, PoolTimeout, RedisError, OSError, TimeoutError)


class WebhookError(Exception):
    def __init__(self, status: int, outcome: str, detail: str, close: bool = False):
        super().__init__(detail)
        self.status, self.outcome, self.detail, self.close = status, outcome, detail, close


def _too_large(close: bool = False) -> WebhookError:
    return WebhookError(413, "too_large", f"body larger than {MAX_BODY_BYTES} bytes", close)


async def _read_payload(request: Request) -> object:
    """The JSON body; past MAX_BODY_BYTES, the JSON without the customer files riding in it as base64
    (inline_media), or a 413 when what remains is still too large.

    An oversized body is answered only after it was read to its end. Answering while the sender is still
    sending is not enough: when the connection then closes (the sender asked for `Connection: close`, or speaks
    HTTP/1.0, as Python's urllib and Node's http without a keep-alive agent do) with its bytes unread, the
    kernel resets it, and the sender gets a broken pipe or a reset instead of the 413, so it posts the same body
    again and again. Past DRAIN_MAX_BYTES or DRAIN_MAX_SECONDS the 413 closes the connection (a reset then is
    the sender's doing); a sender waiting for `100 Continue` with a body that large is told at once."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > DRAIN_MAX_BYTES:
        raise _too_large(close=True)
    body, received = bytearray(), 0
    spool: tempfile.SpooledTemporaryFile | None = None
    chunks = request.stream().__aiter__()
    read_until = None
    try:
        while True:
            try:
                if read_until is None:
                    chunk = await chunks.__anext__()
                else:
                    chunk = await asyncio.wait_for(chunks.__anext__(), max(0.0, read_until - time.monotonic()))
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise _too_large(close=True) from None
            except ClientDisconnect:
                raise WebhookError(400, "disconnected", "the sender went away before the end of its body") from None
            received += len(chunk)
            if received > DRAIN_MAX_BYTES:
                raise _too_large(close=True)
            if spool is None and received <= MAX_BODY_BYTES:
                body += chunk
                continue
            if spool is None:
                spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
                spool.write(body)
                body, read_until = bytearray(), time.monotonic() + DRAIN_MAX_SECONDS
            spool.write(chunk)
        if spool is None:
            try:
                return json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise WebhookError(422, "malformed", "body is not valid JSON") from None
        spool.seek(0)
        try:
            payload, dropped = await asyncio.to_thread(inline_media.parse_without_files, spool, MAX_BODY_BYTES)
        except inline_media.TooLarge:
            raise _too_large() from None
        except inline_media.NotJson:
            raise WebhookError(422, "malformed", "body is not valid JSON") from None
        INLINE_FILES.inc(dropped)
        return payload
    finally:
        if spool is not None:
            spool.close()


def _note_url_event(provider: str, suffix: str, payload: object) -> None:
    """With "webhook by events" the URL names the event; the body's `event` is what counts, so a mismatch is
    only counted and logged, and the event processed as its body says."""
    event = payload.get("event") if isinstance(payload, dict) else None

    def normal(name: str) -> str:
        return name.strip().lower().replace(".", "-").replace("_", "-")

    if not isinstance(event, str) or normal(event) != normal(suffix):
        WEBHOOK_URL_EVENTS.labels(provider).inc()
        log.warning("webhook URL names another event than its body", provider=provider, url_event=suffix[:100],
                    body_event=str(event)[:100])


def _matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _wrong(what: str) -> WebhookError:
    return WebhookError(401, "wrong_token", f"{what} does not match this channel")


def _check_token(channel: ChannelRef, token: str | None, request: Request) -> None:
    """The provider's own secret, which a real provider always sends (see api/whatsapp/setup.py):
    Uazapi the instance token in the body; Evolution the instance token as `apikey` in the body (null unless its
    AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES is on), a JWT signed with it (`Authorization: Bearer`, Evolution
    2.3+ with the `jwt_key` webhook header NioChat registers), or that `jwt_key` header itself (Evolution before
    2.3 sends its webhook headers as they are). Without one the URL key alone would do, and the key is on every
    screen the URL was ever shown on."""
    if isinstance(token, str) and token:
        if not _matches(token, channel.token):
            raise _wrong("the provider token in the payload")
        return
    if channel.provider == "uazapi":
        raise WebhookError(401, "missing_token", "the webhook carries no provider token (uazapi sends `token`)")
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        try:
            jwt.decode(authorization[7:], channel.token, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.PyJWTError:
            raise _wrong("the webhook JWT's signature") from None
        return
    if (header := request.headers.get("jwt_key")) is not None:
        if not _matches(header, channel.token):
            raise _wrong("the webhook's jwt_key header")
        return
    raise WebhookError(401, "missing_token", "the webhook carries no provider secret: Evolution sends its apikey "
                       "(AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES=true) or a JWT when its webhook is registered "
                       "with one (rotate the channel's key to register it again)")


async def _handle(state: AppState, provider: str, channel_key: str, request: Request,
                  url_event: str | None = None) -> dict:
    # The channel first: a stranger without a key is not worth reading a large body for (answered, and closed).
    channel = await state.channels.find(channel_key)
    if channel is None or channel.provider != provider:
        raise WebhookError(404, "unknown_channel", "no active channel with this key", close=True)
    payload = await _read_payload(request)
    if url_event is not None:
        _note_url_event(provider, url_event, payload)
    try:
        parsed = PARSERS[provider](payload)
    except MalformedPayload as exc:
        raise WebhookError(422, "malformed", f"not a {provider} webhook: {exc}") from None
    try:
        _check_token(channel, parsed.token, request)
    except WebhookError as exc:  # someone holding the URL without the provider's secret, or a misconfigured provider
        log.warning("webhook refused", provider=provider, outcome=exc.outcome, channel_id=str(channel.id))
        raise
    results = []
    async for result in pipeline.receive(state, channel, parsed.events):
        WEBHOOK_EVENTS.labels(provider, result.split(":")[0]).inc()
        results.append(result)
    if "rate_limited" in results:
        raise WebhookError(429, "rate_limited", "too many messages from this contact or tenant; kept, not answered")
    return {"status": "accepted", "results": results}


async def _receive(provider: str, channel_key: str, request: Request, url_event: str | None = None) -> JSONResponse:
    try:
        body = await _handle(state_of(request), provider, channel_key, request, url_event)
    except WebhookError as exc:
        WEBHOOKS.labels(provider, exc.outcome).inc()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status,
                            headers={"connection": "close"} if exc.close else None)
    except UNAVAILABLE as exc:
        WEBHOOKS.labels(provider, "unavailable").inc()
        log.warning("webhook store unavailable", provider=provider, error=type(exc).__name__,
                    detail=str(getattr(exc, "orig", exc))[:300])
        return JSONResponse({"detail": "store temporarily unavailable, retry later"}, status_code=503)
    except Exception:  # noqa: BLE001 - a bug must not turn into a lost message: the provider retries 5xx
        WEBHOOKS.labels(provider, "error").inc()
        log.exception("webhook failed", provider=provider, error_id=uuid.uuid4().hex)
        return JSONResponse({"detail": "internal error, retry later"}, status_code=503)
    WEBHOOKS.labels(provider, "accepted").inc()
    return JSONResponse(body)


@router.post("/webhooks/uazapi/{channel_key}", summary="Uazapi webhook (messages, messages_update, connection)",
             responses=WEBHOOK_ERRORS)
async def uazapi_webhook(channel_key: str, request: Request) -> JSONResponse:
    return await _receive("uazapi", channel_key, request)


@router.post("/webhooks/evolution/{channel_key}", summary="Evolution webhook (messages.upsert/update, connection)",
             responses=WEBHOOK_ERRORS)
async def evolution_webhook(channel_key: str, request: Request) -> JSONResponse:
    return await _receive("evolution", channel_key, request)


@router.post("/webhooks/evolution/{channel_key}/{event_name}", responses=WEBHOOK_ERRORS,
             summary="Evolution webhook by events (…/messages-upsert, …/messages-update, …/connection-update)",
             description="Evolution's 'Webhook by events' appends the event's name to the URL. Any name is taken "
             "here and handled like the plain route: the body's `event` decides, a URL naming another is counted "
             "(niochat_webhook_url_event_mismatches_total) and logged.")
async def evolution_webhook_by_event(channel_key: str, event_name: str, request: Request) -> JSONResponse:
    return await _receive("evolution", channel_key, request, event_name)
