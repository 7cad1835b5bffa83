"""Delivering webhooks: an event the sandbox built (webhook_events.py) posted to every webhook of its instance by the
runtime's poster (poster.py), with Evolution's secret, and each delivery recorded for /sandbox/deliveries (a
skipped one too)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.whatsapp import evolution_payloads as evolution
from sandbox.whatsapp.runtime import Sandbox
from sandbox.whatsapp.state import Delivery, Instance, Webhook
from sandbox.whatsapp.webhook_events import Outgoing


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
