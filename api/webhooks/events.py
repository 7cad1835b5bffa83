"""One normalized shape for what Uazapi and Evolution deliver to our webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CONTENT_TYPES = (
    "text", "image", "audio", "video", "document", "sticker", "location", "contact", "reaction", "other",
)


class MalformedPayload(ValueError):
    """The body is not a payload of that provider; the message says what is wrong (sent back with 422)."""


@dataclass(frozen=True)
class InboundMessage:
    provider_message_id: str
    # Who the customer is: at least one of the two. The phone (digits with country code, 5511912340001) comes
    # from the chat or, for @lid senders, from senderPn / remoteJidAlt / sender_pn; WhatsApp may withhold it.
    phone: str | None
    lid: str | None  # "100000000000001@lid" when WhatsApp addressed the sender by LID
    name: str | None  # the sender's WhatsApp display name
    content_type: str  # one of CONTENT_TYPES
    text: str | None  # the text, or the caption of a media message
    media_url: str | None
    media_mime: str | None
    quoted_provider_id: str | None
    timestamp: datetime  # timezone-aware, UTC
    from_me: bool  # sent by the instance's own number (by our API, or a human on the phone)
    sent_by_api: bool | None  # Uazapi's wasSentByApi; None when the provider does not say (Evolution)
    is_group: bool
    edit_of: str | None = None  # an edit: the provider id of the message whose text it replaces
    track_id: str | None = None  # our own message id, echoed back by Uazapi on messages we sent with it
    media_file_name: str | None = None  # a document's file name
    media_size: int | None = None  # bytes, as the provider declares them (before any download)
    media_seconds: int | None = None  # length of a voice note or video
    choice_id: str | None = None  # the id of the list row / button picked (text holds what it said)

    @property
    def address(self) -> str:
        """Where a reply goes: the phone, else the LID (both providers send to either)."""
        return self.phone or self.lid or ""


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_ids: tuple[str, ...]
    status: str  # "sent" | "delivered" | "read" | "failed"


@dataclass(frozen=True)
class ConnectionUpdate:
    state: str  # "connected" | "connecting" | "disconnected"


@dataclass(frozen=True)
class ContactUpdate:
    """The provider told us who a LID is (a phone for it) or a new name: merged into the stored contact."""

    lid: str
    phone: str
    name: str | None = None


@dataclass(frozen=True)
class Ignored:
    reason: str  # e.g. "unsupported_event:presence.update"


WebhookEvent = InboundMessage | StatusUpdate | ConnectionUpdate | ContactUpdate | Ignored


@dataclass(frozen=True)
class ParsedWebhook:
    token: str | None  # the provider's own credential found in the payload (Uazapi `token`, Evolution `apikey`)
    instance: str | None
    events: tuple[WebhookEvent, ...]
