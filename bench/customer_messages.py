"""The simulated customers: a phone each, and their messages as the provider posts them."""

from __future__ import annotations

from typing import Any


def customer_phone(index: int, area: int = 11) -> str:
    """A distinct Brazilian mobile number per simulated customer: 55 + DDD + 9 + 8 digits."""
    if not 0 <= index < 100_000_000:
        raise ValueError("customer index out of range")
    return f"55{area:02d}9{index:08d}"


def uazapi_inbound_payload(instance: str, token: str, phone: str, text: str, message_id: str | None = None,
                           name: str = "Cliente Bench") -> dict[str, Any]:
    """A customer's text exactly as the WhatsApp sandbox (and uazapiGO) would post it to our webhook."""
    from sandbox.whatsapp import uazapi_payloads
    from sandbox.whatsapp.ids import now, phone_message_id
    from sandbox.whatsapp.state import Instance

    owner = Instance(provider="uazapi", name=instance, token=token)
    return uazapi_payloads.inbound(
        owner, "http://127.0.0.1:8100", phone=phone, name=name, text=text,
        message_id=message_id or phone_message_id(), moment=now(), lid=False, quoted=None, quoted_text=None,
        unread=1,
    )
