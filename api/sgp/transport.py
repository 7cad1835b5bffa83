"""One SGP URA request, done safely: app+token in the POST body (in the query of the few documented GET lists),
a hard time budget, bounded retries for idempotent lookups only, the circuit breaker, and errors mapped to
SgpError/SgpUnavailable/SgpAuthError.

Logs name the endpoint, status, attempt and time, with the document masked; never bodies, never `msg`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, stop_before_delay, wait_exponential

from api.sgp.models import SgpAuthError, SgpError, SgpUnavailable
from niochat.egress import EgressRefused, ResponseTooLarge
from niochat.logging import get_logger
from niochat.masking import mask_document

log = get_logger("api.sgp")
LOOKUP_ATTEMPTS = 3  # the first try and 2 retries
MIN_ATTEMPT_SECONDS = 0.05


class Breaker(Protocol):
    async def before_call(self) -> None: ...

    async def record_success(self) -> None: ...

    async def record_failure(self) -> bool: ...


class TransientFailure(SgpUnavailable):
    """5xx or a broken connection: worth another try on an idempotent lookup."""


class UraTransport:
    def __init__(self, http: httpx.AsyncClient, base_url: str, app: str, token: str, timeout_seconds: float,
                 breaker: Breaker, tenant_key: str, retry_wait: tuple[float, float] = (0.1, 0.5)) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._credentials = {"app": app, "token": token}
        self.timeout_seconds = float(timeout_seconds)
        self.breaker = breaker
        self.tenant_key = tenant_key
        self.retry_wait = retry_wait

    async def post(self, endpoint: str, params: dict[str, str], *, idempotent: bool,
                   document: str | None = None) -> dict[str, Any]:
        """POST `endpoint` (a path under the base URL) and return its JSON object.

        The whole call, retries included, stays within timeout_seconds. Only idempotent lookups are retried.
        """
        body = await self._call("POST", endpoint, params, idempotent=idempotent, document=document)
        if not isinstance(body, dict):
            raise SgpError(f"resposta inesperada do SGP em {endpoint}")
        return body

    async def get(self, endpoint: str, params: dict[str, str] | None = None) -> Any:
        """GET a listing the SGP documents as GET (app+token in the query string): its JSON, object or list.
        Always a lookup, so retried like one."""
        return await self._call("GET", endpoint, params or {}, idempotent=True)

    async def _call(self, method: str, endpoint: str, params: dict[str, str], *, idempotent: bool,
                    document: str | None = None) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        context = {"endpoint": endpoint, "tenant": self.tenant_key}
        if document:
            context["document"] = mask_document(document)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(LOOKUP_ATTEMPTS if idempotent else 1) | stop_before_delay(self.timeout_seconds),
            wait=wait_exponential(multiplier=self.retry_wait[0], max=self.retry_wait[1]),
            retry=retry_if_exception_type(TransientFailure),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                remaining = deadline - loop.time()
                if remaining < MIN_ATTEMPT_SECONDS:
                    raise SgpUnavailable("o SGP não respondeu a tempo")
                return await self._once(method, endpoint, params, remaining, attempt.retry_state.attempt_number,
                                        context)
        raise SgpUnavailable("o SGP não respondeu a tempo")  # pragma: no cover - tenacity always returns or raises

    async def _once(self, method: str, endpoint: str, params: dict[str, str], budget: float, attempt: int,
                    context: dict[str, Any]) -> Any:
        await self.breaker.before_call()
        started = time.monotonic()
        fields = {**params, **self._credentials}
        try:
            async with asyncio.timeout(budget):
                response = await self.http.request(
                    method,
                    self.base_url + endpoint,
                    data=fields if method == "POST" else None,
                    params=fields if method == "GET" else None,
                    headers={"Accept": "application/json"},
                    timeout=httpx.Timeout(budget),
                )
        except EgressRefused as exc:  # the SGP's address is not allowed (niochat.egress): nothing was sent
            log.error("sgp.egress_refused", **context, reason=str(exc))
            raise SgpError("o endereço do SGP não é permitido (rede interna)") from None
        except ResponseTooLarge:
            await self._failed(context, attempt, started, "response_too_large")
            raise SgpError(f"resposta do SGP em {endpoint} grande demais") from None
        except (TimeoutError, httpx.TimeoutException):
            await self._failed(context, attempt, started, "timeout")
            raise SgpUnavailable("o SGP não respondeu a tempo") from None
        except httpx.TransportError as exc:
            await self._failed(context, attempt, started, type(exc).__name__)
            raise TransientFailure("falha de conexão com o SGP") from None
        elapsed_ms = round((time.monotonic() - started) * 1000)
        if response.status_code >= 500:
            await self._failed(context, attempt, started, f"http_{response.status_code}")
            raise TransientFailure(f"o SGP respondeu HTTP {response.status_code}")
        await self.breaker.record_success()
        log.info("sgp.request", **context, status=response.status_code, attempt=attempt, elapsed_ms=elapsed_ms)
        if response.status_code in (401, 403):
            raise SgpAuthError(f"o SGP recusou app/token (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise SgpError(f"o SGP respondeu HTTP {response.status_code} em {endpoint}")
        try:
            body = response.json()
        except ValueError:
            raise SgpError(f"resposta do SGP em {endpoint} não é JSON") from None
        return body

    async def _failed(self, context: dict[str, Any], attempt: int, started: float, reason: str) -> None:
        opened = await self.breaker.record_failure()
        elapsed_ms = round((time.monotonic() - started) * 1000)
        log.warning("sgp.request_failed", **context, reason=reason, attempt=attempt, elapsed_ms=elapsed_ms)
        if opened:
            log.error("sgp.circuit_opened", endpoint=context["endpoint"], tenant=self.tenant_key)
