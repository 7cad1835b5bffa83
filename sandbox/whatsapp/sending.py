"""Sending: a message the bot sends through the provider's text and media routes (both providers). The sandbox
records it, then delivers its echo and its receipt to the webhook, unless a planned fault answers instead."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp.delivery import deliver_to_each
from sandbox.whatsapp.faults import injected_failure
from sandbox.whatsapp.ids import evolution_inbound_id, now, phone_message_id
from sandbox.whatsapp.runtime import Sandbox, base_url_of, sandbox_of
from sandbox.whatsapp.state import Config, Instance, SentMessage
from sandbox.whatsapp.webhook_events import echo_event, reaction_event, receipt_event


async def accept_send(request: Request, instance: Instance, render_failure: Callable[[int], dict[str, Any]], *,
                      sends: str = "text", **record: Any) -> SentMessage | JSONResponse:
    """The recorded send, or the error response a planned fault calls for (`record`: Sandbox.record_send's)."""
    sandbox = sandbox_of(request)

    def send() -> SentMessage:
        sent = sandbox.record_send(instance, **record)
        sandbox.spawn(after_send(sandbox, instance, base_url_of(request), sent, sandbox.state.config))
        return sent

    failure = await injected_failure(sandbox, request, instance.name, render_failure, send, sends=sends)
    return failure if failure is not None else send()


async def after_send(sandbox: Sandbox, instance: Instance, base_url: str, sent: SentMessage, config: Config) -> None:
    """What the providers post after a successful send: the echo at once, a delivery receipt a little later."""
    if config.echo:
        await deliver_to_each(sandbox, instance, lambda hook: echo_event(sandbox, instance, base_url, sent, hook))
    if config.status_updates:
        await asyncio.sleep(config.status_delay_ms / 1000)
        sent.status, sent.status_reported_at = "delivered", now()
        moment = sent.status_reported_at
        await deliver_to_each(sandbox, instance, lambda hook: receipt_event(instance, base_url, sent, moment, hook))
    if sent.origin == "api" and config.reaction_rate and random.random() < config.reaction_rate:
        lid_only = sent.jid.endswith("@lid")
        reaction_id = phone_message_id() if instance.provider == "uazapi" else evolution_inbound_id()
        await deliver_to_each(sandbox, instance, lambda hook: reaction_event(
            sandbox, instance, base_url, sent, "👍", lid_only, reaction_id, hook))
