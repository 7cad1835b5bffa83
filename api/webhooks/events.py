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
    phone: str  # digits only, with country code (5511912340001); resolved from @lid senders
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
    edited: bool = False  # an edit of an earlier message
    track_id: str | None = None  # our own message id, echoed back by Uazapi on messages we sent with it
    media_file_name: str | None = None  # a document's file name
    media_size: int | None = None  # bytes, as the provider declares them (before any download)
    media_seconds: int | None = None  # length of a voice note or video


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_ids: tuple[str, ...]
    status: str  # "sent" | "delivered" | "read" | "failed"


@dataclass(frozen=True)
class ConnectionUpdate:
    state: str  # "connected" | "connecting" | "disconnected"


@dataclass(frozen=True)
class Ignored:
    reason: str  # e.g. "unsupported_event:presence.update"


WebhookEvent = InboundMessage | StatusUpdate | ConnectionUpdate | Ignored


@dataclass(frozen=True)
class ParsedWebhook:
    token: str | None  # the provider's own credential found in the payload (Uazapi `token`, Evolution `apikey`)
    instance: str | None
    events: tuple[WebhookEvent, ...]
