"""Delivering webhooks: posting an event the sandbox built (webhook_events.py) to NioChat the way providers do
(JSON POST, retried on 5xx and connection errors, never on 4xx), with Evolution's secret, and recording each
delivery for /sandbox/deliveries (a skipped one too)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.whatsapp import evolution_payloads as evolution
from sandbox.whatsapp.state import Delivery, Instance, Webhook

if TYPE_CHECKING:  # both import the runtime, which holds the poster below
    from sandbox.whatsapp.runtime import Sandbox
    from sandbox.whatsapp.webhook_events import Outgoing

USER_AGENTS = {"uazapi": "Go-http-client/1.1", "evolution": "axios/1.7.9"}


class WebhookPoster:
    def __init__(self, retries: int, *, backoff: float = 0.2, timeout: float = 10.0):
        self.retries = max(0, retries)
        self.backoff = backoff
        self.timeout = timeout
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self._http = httpx.AsyncClient(timeout=self.timeout, trust_env=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def post(self, delivery: Delivery, payload: dict[str, Any],
                   headers: dict[str, str] | None = None) -> Delivery:
        """One try plus up to `retries` more (backoff 0.2 s, 0.4 s, 0.8 s...); fills in `delivery` as it goes.
        `headers`: the webhook's own (Evolution's, with its JWT)."""
        assert self._http is not None, "WebhookPoster.open() was not called"
        headers = {"User-Agent": USER_AGENTS.get(delivery.provider, "sandbox"), **(headers or {})}
        for attempt in range(1, self.retries + 2):
            delivery.attempts = attempt
            try:
                response = await self._http.post(delivery.url, json=payload, headers=headers)
            except httpx.TransportError as exc:  # refused, reset, timed out: the receiver may come back
                delivery.status_code, delivery.error = None, f"{type(exc).__name__}: {exc}".rstrip(": ")
            else:
                delivery.status_code = response.status_code
                delivery.error = None if response.status_code < 400 else f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break
            if attempt <= self.retries:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        delivery.delivered = delivery.status_code is not None and 200 <= delivery.status_code < 300
        return delivery


async def deliver(sandbox: Sandbox, instance: Instance, outgoing: Outgoing) -> Delivery:
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


async def deliver_to_each(sandbox: Sandbox, instance: Instance,
                       build: Callable[[Webhook], Outgoing | None]) -> list[tuple[Outgoing, Delivery]]:
    """Deliver an event to every webhook of the instance, each with its own URL and filters: uazapiGO keeps a list
    of them and delivers to each; Evolution has one."""
    posted = []
    for hook in list(instance.webhooks):
        if (outgoing := build(hook)) is not None:
            posted.append((outgoing, await deliver(sandbox, instance, outgoing)))
    return posted
