"""Posting one webhook the way providers do: a JSON POST retried on 5xx and connection errors, never on 4xx, with
the provider's own User-Agent; each try recorded in the delivery it fills in."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sandbox.whatsapp.state import Delivery

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
