"""Outbound calls to the WhatsApp providers: send a text, find a text we may have sent, register our webhook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

SEND_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
WEBHOOK_EVENTS_UAZAPI = ["messages", "messages_update", "connection"]
WEBHOOK_EVENTS_EVOLUTION = ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "CONNECTION_UPDATE"]
TRACK_SOURCE = "niochat"  # Uazapi echoes track_source/track_id back on the message and finds by them
CLOCK_SKEW_SECONDS = 30  # provider timestamps vs ours, when matching a sent text by time


class ProviderError(Exception):
    """A provider call failed; `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class ChannelAccess:
    provider: str
    base_url: str
    instance: str
    token: str


class WhatsAppClient(Protocol):
    async def send_text(self, number: str, text: str, delay_ms: int = 0, track_id: str | None = None) -> str: ...

    async def find_sent(self, number: str, track_id: str, text: str, since: datetime) -> list[str]:
        """Provider ids of sent messages that may be this one (the send went out), newest first."""
        ...

    async def register_webhook(self, url: str) -> None: ...


async def _post(http: httpx.AsyncClient, url: str, headers: dict, body: dict) -> dict:
    try:
        response = await http.post(url, headers=headers, json=body, timeout=SEND_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise ProviderError(f"timeout calling {url}", retryable=True) from exc
    except httpx.TransportError as exc:
        raise ProviderError(f"cannot reach {url}: {type(exc).__name__}", retryable=True) from exc
    if response.status_code >= 400:
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        raise ProviderError(
            f"{url} answered {response.status_code}: {response.text[:200]}",
            status=response.status_code, retryable=retryable,
        )
    try:
        data = response.json()
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


class UazapiClient:
    def __init__(self, http: httpx.AsyncClient, access: ChannelAccess):
        self.http, self.access = http, access

    async def send_text(self, number: str, text: str, delay_ms: int = 0, track_id: str | None = None) -> str:
        body = {"number": number, "text": text}
        if delay_ms:
            body["delay"] = delay_ms  # shows "typing..." for that long before the message
        if track_id:
            body.update(track_source=TRACK_SOURCE, track_id=track_id)
        data = await _post(self.http, f"{self.access.base_url}/send/text", {"token": self.access.token}, body)
        message_id = data.get("messageid") or str(data.get("id", "")).split(":")[-1]
        if not message_id:
            raise ProviderError("uazapi send answered without a message id", retryable=False)
        return message_id

    async def find_sent(self, number: str, track_id: str, text: str, since: datetime) -> list[str]:
        body = {"chatid": f"{number}@s.whatsapp.net", "track_source": TRACK_SOURCE, "track_id": track_id,
                "limit": 5}
        data = await _post(self.http, f"{self.access.base_url}/message/find", {"token": self.access.token}, body)
        found = data.get("messages")
        return [
            message.get("messageid") or str(message.get("id", "")).split(":")[-1]
            for message in (found if isinstance(found, list) else [])
            if isinstance(message, dict) and message.get("track_id") == track_id
            and (message.get("messageid") or message.get("id"))
        ]

    async def register_webhook(self, url: str) -> None:
        body = {"url": url, "enabled": True, "events": WEBHOOK_EVENTS_UAZAPI, "excludeMessages": []}
        await _post(self.http, f"{self.access.base_url}/webhook", {"token": self.access.token}, body)


class EvolutionClient:
    def __init__(self, http: httpx.AsyncClient, access: ChannelAccess):
        self.http, self.access = http, access

    async def send_text(self, number: str, text: str, delay_ms: int = 0, track_id: str | None = None) -> str:
        body = {"number": number, "text": text}  # Evolution keeps no caller id: find_sent matches by text
        if delay_ms:
            body["delay"] = delay_ms
        url = f"{self.access.base_url}/message/sendText/{self.access.instance}"
        data = await _post(self.http, url, {"apikey": self.access.token}, body)
        key = data.get("key")
        message_id = key.get("id") if isinstance(key, dict) else None
        if not message_id:
            raise ProviderError("evolution send answered without key.id", retryable=False)
        return message_id

    async def find_sent(self, number: str, track_id: str, text: str, since: datetime) -> list[str]:
        body = {"where": {"key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True}}, "offset": 50, "page": 1}
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
            extended = content.get("extendedTextMessage")
            extended = extended if isinstance(extended, dict) else {}
            sent_text = content.get("conversation") or extended.get("text")
            moment = record.get("messageTimestamp")
            if (record["key"].get("fromMe") is True and sent_text == text and record["key"].get("id")
                    and isinstance(moment, int | float) and moment >= earliest):
                found.append(record["key"]["id"])
        return found

    async def register_webhook(self, url: str) -> None:
        body = {"webhook": {"enabled": True, "url": url, "events": WEBHOOK_EVENTS_EVOLUTION,
                            "byEvents": False, "base64": False}}
        await _post(
            self.http, f"{self.access.base_url}/webhook/set/{self.access.instance}", {"apikey": self.access.token},
            body,
        )


def client_for(http: httpx.AsyncClient, access: ChannelAccess) -> WhatsAppClient:
    return {"uazapi": UazapiClient, "evolution": EvolutionClient}[access.provider](http, access)
