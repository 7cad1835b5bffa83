"""What one running sandbox holds: its state, the webhook poster, and the background tasks it started."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from fastapi import Request

from sandbox.whatsapp.ids import api_message_id, digits, jid_for, now
from sandbox.whatsapp.poster import WebhookPoster
from sandbox.whatsapp.state import DEFAULT_EVOLUTION_API_KEY, Instance, SandboxState, SentMedia, SentMessage


class Sandbox:
    def __init__(self, webhook_retries: int, evolution_api_key: str = DEFAULT_EVOLUTION_API_KEY,
                 rates: dict[str, float] | None = None):
        self.state = SandboxState(evolution_api_key, rates)
        self.poster = WebhookPoster(webhook_retries)
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        self.stopping.clear()
        await self.poster.open()

    async def close(self) -> None:
        self.stopping.set()
        await self.cancel_pending()
        await self.poster.close()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run `work` after the current request, without making it wait (echo and receipt webhooks)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_pending(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def record_send(self, instance: Instance, *, number: str, text: str, delay: Any = None, quoted: Any = None,
                    track_source: Any = "", track_id: Any = "", media: SentMedia | None = None,
                    origin: str = "api", message_id: str | None = None) -> SentMessage:
        # A reply to a customer known only by LID goes to the LID; the sandbox knows whose phone it is.
        phone = self.state.lid_phones.get(number.strip(), digits(number))
        sent = SentMessage(
            id=message_id or api_message_id(), provider=instance.provider, instance=instance.name, number=phone,
            jid=jid_for(number), text=text, delay=_int_or_none(delay), sent_at=now(),
            quoted=str(quoted) if quoted else None, track_source=str(track_source or ""),
            track_id=str(track_id or ""), media=media, origin=origin,
        )
        self.state.messages.append(sent)
        self.state.contact(instance.name, phone).unread = 0
        return sent

    def quoted_text(self, quoted: str | None) -> str | None:
        found = self.state.find_message(quoted) if quoted else None
        return found.text if found else None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def sandbox_of(request: Request) -> Sandbox:
    return request.app.state.sandbox


def base_url_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")
