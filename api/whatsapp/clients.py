"""Calls to the WhatsApp providers: send a text or a media file, find a send we may have made, download a
customer's media, register our webhook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from api.whatsapp.media import DownloadedMedia, OutboundMedia, decode_base64
from niochat.egress import MAX_BODY_EXTENSION, EgressRefused, ResponseTooLarge

SEND_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=3.0)  # the provider fetches and decrypts the file first
WEBHOOK_EVENTS_UAZAPI = ["messages", "messages_update", "connection"]
# SEND_MESSAGE: Evolution reports our own sends only so (never as an upsert); CONTACTS_UPDATE may pair a LID
# with its phone.
WEBHOOK_EVENTS_EVOLUTION = ["MESSAGES_UPSERT", "SEND_MESSAGE", "MESSAGES_UPDATE", "MESSAGES_EDITED",
                            "CONTACTS_UPDATE", "CONNECTION_UPDATE"]
TRACK_SOURCE = "niochat"  # Uazapi echoes track_source/track_id back on the message and finds by them
CLOCK_SKEW_SECONDS = 30  # provider timestamps vs ours, when matching a sent text by time


class ProviderError(Exception):
    """A provider call failed; `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class MediaTooLarge(ProviderError):
    """A file larger than the download's cap: reading stopped there."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class ChannelAccess:
    provider: str
    base_url: str
    instance: str
    token: str


class WhatsAppClient(Protocol):
    async def send_text(self, number: str, text: str, delay_ms: int = 0, track_id: str | None = None) -> str: ...

    async def send_media(self, number: str, media: OutboundMedia, track_id: str | None = None) -> str: ...

    async def download_media(self, message_id: str, max_bytes: int | None = None) -> DownloadedMedia:
        """The decrypted file of a message the customer sent (by its provider id); a file larger than
        `max_bytes` is refused while it is read (ProviderError, not retryable)."""
        ...

    async def find_sent(self, number: str, track_id: str, text: str, since: datetime) -> list[str]:
        """Provider ids of sent messages that may be this one (the send went out), newest first. `text` is the
        text, or the caption of a media send."""
        ...

    async def register_webhook(self, url: str, *, replaces: Callable[[str], bool] | None = None,
                               secret: str | None = None) -> None:
        """Point the provider at `url`. `replaces`: which registered URLs are this channel's earlier ones (a key
        rotation), to be replaced rather than kept beside it; `secret`: what the webhooks must prove they know
        (the token NioChat checks them against)."""
        ...


def _base64_cap(max_bytes: int | None) -> int | None:
    """A JSON answer carrying a file of at most `max_bytes` as base64 (4/3 larger) and a few fields."""
    return None if max_bytes is None else max_bytes * 4 // 3 + 64_000


async def _call(http: httpx.AsyncClient, method: str, url: str, headers: dict, body: dict | None = None,
                timeout: httpx.Timeout = SEND_TIMEOUT, max_bytes: int | None = None) -> object:
    """Call the provider and parse its JSON answer (None when it is not JSON). Errors carry the status, never the
    provider's body: it can hold anything (their stack traces, our request echoed back) and the message reaches
    API responses and logs."""
    extensions = {MAX_BODY_EXTENSION: max_bytes} if max_bytes else None
    try:
        response = await http.request(method, url, headers=headers, json=body, timeout=timeout,
                                      extensions=extensions)
    except EgressRefused as exc:
        raise ProviderError(str(exc), retryable=False) from exc
    except ResponseTooLarge as exc:
        raise MediaTooLarge(f"{url} answered more than {max_bytes or 'the allowed'} bytes") from exc
    except httpx.TimeoutException as exc:
        raise ProviderError(f"timeout calling {url}", retryable=True) from exc
    except httpx.TransportError as exc:
        raise ProviderError(f"cannot reach {url}: {type(exc).__name__}", retryable=True) from exc
    if response.status_code >= 400:
        raise _error_of(url, response)
    try:
        return response.json()
    except ValueError:
        return None


async def _post(http: httpx.AsyncClient, url: str, headers: dict, body: dict,
                timeout: httpx.Timeout = SEND_TIMEOUT, max_bytes: int | None = None) -> dict:
    data = await _call(http, "POST", url, headers, body, timeout, max_bytes)
    return data if isinstance(data, dict) else {}


# Baileys states behind Evolution's (and uazapi's) 400 answers that pass by themselves: the WhatsApp socket is
# reconnecting, not yet open, or WhatsApp throttled the number. Everything else a 4xx says is permanent.
TRANSIENT_MARKERS = (
    "connection closed", "connection lost", "connection failure", "not connected", "timed out", "stream errored",
    "rate-overlimit", "rate overlimit", "precondition required", "socket", "reconnect", "restart required",
    "instance is connecting", "qr code",
)
NOT_ON_WHATSAPP = "number_not_on_whatsapp"


def _error_of(url: str, response: httpx.Response) -> ProviderError:
    """What a failed provider answer means: retry later, or give up with the reason the customer's message
    failed (a number that is not on WhatsApp is the common one, and says so)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    said = response.text[:2000].lower()
    if _says_not_on_whatsapp(body) or "not on whatsapp" in said:
        return ProviderError(f"{NOT_ON_WHATSAPP}: the provider says this number is not on WhatsApp",
                             status=status, retryable=False)
    marker = next((marker for marker in TRANSIENT_MARKERS if marker in said), None)
    transient = status >= 500 or status in (408, 425, 429) or marker is not None
    # The provider's body is read, never repeated (it reaches logs and the tenant's screens): one of our words for
    # what it said, at most.
    said_so = f" ({marker})" if marker else ""
    return ProviderError(f"{url} answered {status}{said_so}", status=status, retryable=transient)


def _says_not_on_whatsapp(body: object) -> bool:
    """Evolution answers 400 {"response": {"message": [{"exists": false, "jid": ..., "number": ...}]}}."""
    response = body.get("response") if isinstance(body, dict) else None
    found = response.get("message") if isinstance(response, dict) else None
    items = found if isinstance(found, list) else [found]
    return any(isinstance(item, dict) and item.get("exists") is False for item in items)


def _jid(number: str) -> str:
    """A chat's JID: a LID or other full address as it is, digits as a phone JID."""
    return number if "@" in number else f"{number}@s.whatsapp.net"


def _uazapi_id(message: dict) -> str:
    """The bare WhatsApp id of a uazapi Message: `messageid`, or `id` without its "owner:" prefix."""
    return message.get("messageid") or str(message.get("id") or "").split(":")[-1]


class UazapiClient:
    def __init__(self, http: httpx.AsyncClient, access: ChannelAccess):
        self.http, self.access = http, access

    async def send_text(self, number: str, text: str, delay_ms: int = 0, track_id: str | None = None) -> str:
        body = {"number": number, "text": text}
        if delay_ms:
            body["delay"] = delay_ms  # shows "typing..." for that long before the message
        return await self._send("/send/text", body, track_id)

    async def send_media(self, number: str, media: OutboundMedia, track_id: str | None = None) -> str:
        body = {"number": number, "type": media.kind, "file": media.file, "mimetype": media.mime}
        if media.caption:
            body["text"] = media.caption
        if media.kind == "document" and media.file_name:
            body["docName"] = media.file_name
        return await self._send("/send/media", body, track_id)

    async def _send(self, path: str, body: dict, track_id: str | None) -> str:
        if track_id:
            body.update(track_source=TRACK_SOURCE, track_id=track_id)
        data = await _post(self.http, f"{self.access.base_url}{path}", {"token": self.access.token}, body)
        if not (message_id := _uazapi_id(data)):
            raise ProviderError(f"uazapi {path} answered without a message id", retryable=False)
        return message_id

    async def download_media(self, message_id: str, max_bytes: int | None = None) -> DownloadedMedia:
        body = {"id": message_id, "return_base64": True, "return_link": False, "generate_mp3": False}
        data = await _post(self.http, f"{self.access.base_url}/message/download", {"token": self.access.token},
                           body, timeout=DOWNLOAD_TIMEOUT, max_bytes=_base64_cap(max_bytes))
        content = decode_base64(data.get("base64Data"))
        if content is None and isinstance(data.get("fileURL"), str) and data["fileURL"].startswith("http"):
            content = await _get(self.http, data["fileURL"], max_bytes)  # some versions only hand back a link
        if content is None:
            raise ProviderError("uazapi download answered without the file", retryable=False)
        return DownloadedMedia(content, data.get("mimetype") if isinstance(data.get("mimetype"), str) else None)

    async def find_sent(self, number: str, track_id: str, text: str, since: datetime) -> list[str]:
        body = {"chatid": _jid(number), "track_source": TRACK_SOURCE, "track_id": track_id,
                "limit": 5}
        data = await _post(self.http, f"{self.access.base_url}/message/find", {"token": self.access.token}, body)
        found = data.get("messages")
        return [
            message_id for message in (found if isinstance(found, list) else [])
            if isinstance(message, dict) and message.get("track_id") == track_id
            and (message_id := _uazapi_id(message))
        ]

    async def register_webhook(self, url: str, *, replaces: Callable[[str], bool] | None = None,
                               secret: str | None = None) -> None:
        """Add our webhook beside any the ISP already has (uazapiGO keeps a list: `action` add/update/delete;
        without `action` it would replace the first one). Ours again (a re-run, or an earlier URL of the channel
        after a key rotation) is updated, never added twice. No URL suffixes (`addUrlEvents`): our route is the
        URL itself. No `excludeMessages`: the echoes of our sends confirm them, and what an attendant types on the
        phone comes as fromMe, not sent by the API. Uazapi's webhooks always carry the instance token: `secret`
        needs nothing here."""
        endpoint, headers = f"{self.access.base_url}/webhook", {"token": self.access.token}
        listed = await _get_json(self.http, endpoint, headers)

        def is_ours(hook_url: object) -> bool:
            return hook_url == url or (replaces is not None and isinstance(hook_url, str) and replaces(hook_url))

        ours = [hook.get("id") for hook in (listed if isinstance(listed, list) else [])
                if isinstance(hook, dict) and is_ours(hook.get("url")) and hook.get("id")]
        body = {"url": url, "enabled": True, "events": WEBHOOK_EVENTS_UAZAPI, "excludeMessages": [],
                "addUrlEvents": False, "addUrlTypesMessages": False}
        if ours:
            await _post(self.http, endpoint, headers, {**body, "action": "update", "id": ours[0]})
            for duplicate in ours[1:]:
                await _post(self.http, endpoint, headers, {"action": "delete", "id": duplicate})
        else:
            await _post(self.http, endpoint, headers, {**body, "action": "add"})


class EvolutionClient:
    def __init__(self, http: httpx.AsyncClient, access: ChannelAccess):
        self.http, self.access = http, access

    async def send_text(self, number: str, text: str, delay_ms: int = 0, track_id: str | None = None) -> str:
        body = {"number": number, "text": text}  # Evolution keeps no caller id: find_sent matches by text
        if delay_ms:
            body["delay"] = delay_ms
        return await self._send("sendText", body)

    async def send_media(self, number: str, media: OutboundMedia, track_id: str | None = None) -> str:
        body = {"number": number, "mediatype": media.kind, "mimetype": media.mime, "media": media.file}
        if media.caption:
            body["caption"] = media.caption
        if media.file_name:
            body["fileName"] = media.file_name
        return await self._send("sendMedia", body)

    async def _send(self, route: str, body: dict) -> str:
        url = f"{self.access.base_url}/message/{route}/{self.access.instance}"
        data = await _post(self.http, url, {"apikey": self.access.token}, body)
        key = data.get("key")
        if not (message_id := key.get("id") if isinstance(key, dict) else None):
            raise ProviderError(f"evolution {route} answered without key.id", retryable=False)
        return message_id

    async def download_media(self, message_id: str, max_bytes: int | None = None) -> DownloadedMedia:
        url = f"{self.access.base_url}/chat/getBase64FromMediaMessage/{self.access.instance}"
        body = {"message": {"key": {"id": message_id}}, "convertToMp4": False}
        data = await _post(self.http, url, {"apikey": self.access.token}, body, timeout=DOWNLOAD_TIMEOUT,
                           max_bytes=_base64_cap(max_bytes))
        content = decode_base64(data.get("base64"))
        if content is None:
            raise ProviderError("evolution getBase64FromMediaMessage answered without base64", retryable=False)
        mime, name = data.get("mimetype"), data.get("fileName")
        return DownloadedMedia(content, mime if isinstance(mime, str) else None,
                               name if isinstance(name, str) else None)

    async def find_sent(self, number: str, track_id: str, text: str, since: datetime) -> list[str]:
        body = {"where": {"key": {"remoteJid": _jid(number), "fromMe": True}}, "offset": 50, "page": 1}
        url = f"{self.access.base_url}/chat/findMessages/{self.access.instance}"
        data = await _post(self.http, url, {"apikey": self.access.token}, body)
        page = data.get("messages")
        records = page.get("records") if isinstance(page, dict) else None
        earliest = since.timestamp() - CLOCK_SKEW_SECONDS
        found = []
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, dict) or not isinstance(record.get("key"), dict):
                continue
            content = record.get("message") if isinstance(record.get("message"), dict) else {}
            sent_text = _sent_text(content)
            moment = record.get("messageTimestamp")
            if (record["key"].get("fromMe") is True and sent_text == text and record["key"].get("id")
                    and isinstance(moment, int | float) and moment >= earliest):
                found.append(record["key"]["id"])
        return found

    async def register_webhook(self, url: str, *, replaces: Callable[[str], bool] | None = None,
                               secret: str | None = None) -> None:
        """One webhook per instance: setting ours replaces any other (`replaces` needs nothing here). With
        `secret`, the webhook header `jwt_key`: Evolution 2.3+ then signs every webhook with it (`Authorization:
        Bearer` HS256 JWT, 10 minutes), so each carries a secret even when `apikey` is null
        (AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES off); older ones send the header as it is."""
        webhook = {"enabled": True, "url": url, "events": WEBHOOK_EVENTS_EVOLUTION, "byEvents": False,
                   "base64": False}
        if secret:
            webhook["headers"] = {"jwt_key": secret}
        body = {"webhook": webhook}
        await _post(
            self.http, f"{self.access.base_url}/webhook/set/{self.access.instance}", {"apikey": self.access.token},
            body,
        )


def _sent_text(content: dict) -> str | None:
    """The text of a stored Evolution message, or the caption of its image or document."""
    if isinstance(content.get("conversation"), str):
        return content["conversation"]
    for key, field in (("extendedTextMessage", "text"), ("imageMessage", "caption"), ("documentMessage", "caption")):
        inner = content.get(key)
        if isinstance(inner, dict) and isinstance(inner.get(field), str):
            return inner[field]
    return None


async def _get_json(http: httpx.AsyncClient, url: str, headers: dict, timeout: httpx.Timeout = SEND_TIMEOUT):
    """A provider's JSON answer to a GET (a list or an object); ProviderError as _post raises them."""
    return await _call(http, "GET", url, headers, timeout=timeout)


async def _get(http: httpx.AsyncClient, url: str, max_bytes: int | None) -> bytes:
    """A media link's file, streamed: larger than `max_bytes` stops the download there (the announced length is
    checked before reading). Redirects are followed, each hop through the client's egress check."""
    extensions = {MAX_BODY_EXTENSION: max_bytes} if max_bytes else None
    try:
        async with http.stream("GET", url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True,
                               headers={"Accept-Encoding": "identity"}, extensions=extensions) as response:
            if response.status_code >= 400:
                raise ProviderError(f"media link answered {response.status_code}", status=response.status_code,
                                    retryable=response.status_code >= 500)
            if response.status_code >= 300:  # a redirect without a Location, or 304
                raise ProviderError(f"media link answered {response.status_code}", status=response.status_code,
                                    retryable=False)
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:  # decoded bytes, whatever the encoding
                    raise MediaTooLarge(f"media larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except EgressRefused as exc:
        raise ProviderError(f"media link refused: {exc}", retryable=False) from exc
    except ResponseTooLarge as exc:
        raise MediaTooLarge(f"media larger than {max_bytes} bytes") from exc
    except httpx.TooManyRedirects as exc:
        raise ProviderError("media link redirects too many times", retryable=False) from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"cannot fetch media: {type(exc).__name__}", retryable=True) from exc


def client_for(http: httpx.AsyncClient, access: ChannelAccess) -> WhatsAppClient:
    return {"uazapi": UazapiClient, "evolution": EvolutionClient}[access.provider](http, access)
