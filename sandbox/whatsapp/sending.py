"""A send the sandbox accepts, for both providers' text and media routes: recorded, then echoed and receipted
to the webhook, unless a planned fault answers instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp.dispatch import after_send
from sandbox.whatsapp.faults import injected_failure
from sandbox.whatsapp.runtime import base_url_of, sandbox_of
from sandbox.whatsapp.state import Instance, SentMessage


async def accept_send(request: Request, instance: Instance, render_failure: Callable[[int], dict[str, Any]], *,
                      sends: str = "text", **record: Any) -> SentMessage | JSONResponse:
    """The recorded send, or the error response a planned fault calls for (`record`: Sandbox.record_send's)."""
    sandbox = sandbox_of(request)

    def deliver() -> SentMessage:
        sent = sandbox.record_send(instance, **record)
        sandbox.spawn(after_send(sandbox, instance, base_url_of(request), sent, sandbox.state.config))
        return sent

    failure = await injected_failure(sandbox, request, instance.name, render_failure, deliver, sends=sends)
    return failure if failure is not None else deliver()
