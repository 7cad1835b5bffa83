"""Planned send failures (POST /sandbox/faults): an HTTP error, a request that hangs like a stuck provider, a
send that goes out while its answer is lost (the provider hangs, then 504s: the caller cannot know it was sent),
or the provider's own 400s (a socket that is down, a number not on WhatsApp); and transient refusals at the
configured rate."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp import evolution_payloads as evolution, uazapi_payloads as uazapi
from sandbox.whatsapp.runtime import Sandbox

HANG_SECONDS = 30.0
TIMEOUT_STATUS = 504


async def injected_failure(sandbox: Sandbox, request: Request, instance: str,
                           render: Callable[[int], dict[str, Any]],
                           send: Callable[[], Any], sends: str = "text") -> JSONResponse | None:
    """The error response a planned fault calls for on this send ("text" or "media"), or None to send normally.
    `send` sends the message for real; the "accept_timeout" fault calls it before hanging."""
    fault = sandbox.state.take_fault(instance, sends)
    if fault is None:
        rate = sandbox.state.config.transient_send_rate
        return _refusal(sandbox, instance, "transient") if rate and random.random() < rate else None
    if fault.mode in ("transient", "not_on_whatsapp"):
        return _refusal(sandbox, instance, fault.mode)
    if fault.mode in ("timeout", "accept_timeout"):
        if fault.mode == "accept_timeout":
            send()
        await _hang(request, sandbox.stopping, fault.seconds or HANG_SECONDS)
        return JSONResponse(render(TIMEOUT_STATUS), status_code=TIMEOUT_STATUS)
    return JSONResponse(render(fault.status), status_code=fault.status)


def _refusal(sandbox: Sandbox, instance: str, mode: str) -> JSONResponse:
    """The provider's own 400 for a socket that is down ("transient") or a number WhatsApp does not know."""
    found = sandbox.state.instances.get(instance)
    builder = uazapi.refusal if found is not None and found.provider == "uazapi" else evolution.refusal
    return JSONResponse(builder(mode, "unknown"), status_code=400)


async def _hang(request: Request, stopping: asyncio.Event, seconds: float) -> None:
    """Hold the request open; give up early when the client hangs up or the server stops."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline and not stopping.is_set():
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.1)
