"""What a WhatsApp message holds, whichever provider delivered it: its kind, its media fields, and the
`InboundMessage` built from what a provider module read out of its own envelope.

Both providers relay WhatsApp's own message keys (Evolution as the keys of `message`, Uazapi lower-cased as
`messageType`), so one table of kinds serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.webhooks.events import InboundMessage
from api.webhooks.fields import count, is_number, text

# WhatsApp's content keys, in the order they are looked for, and our content type for each.
CONTENT_KEYS = {
    "conversation": "text",
    "extendedTextMessage": "text",
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "locationMessage": "location",
    "liveLocationMessage": "location",
    "contactMessage": "contact",
    "contactsArrayMessage": "contact",
    "reactionMessage": "reaction",
    "listResponseMessage": "text",
    "buttonsResponseMessage": "text",
    "templateButtonReplyMessage": "text",
    "interactiveResponseMessage": "text",
    "pollCreationMessage": "other",
    "pollCreationMessageV2": "other",
    "pollCreationMessageV3": "other",
    "pollUpdateMessage": "other",
}
# Replies to a list, buttons or an interactive message: a choice, read as text with its id.
CHOICE_KEYS = (
    "listResponseMessage", "buttonsResponseMessage", "templateButtonReplyMessage", "interactiveResponseMessage",
)
MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})


@dataclass(frozen=True)
class Media:
    url: str | None = None
    mime: str | None = None
    file_name: str | None = None
    size: int | None = None  # bytes, as declared
    seconds: int | None = None


NO_MEDIA = Media()


def media(content: dict, *own_urls: str | None) -> Media:
    """The media fields of an image/video/audio/document/sticker's content object. `own_urls` are the
    provider's own copies of the file, preferred to WhatsApp's encrypted `url`."""
    url = next((u for u in own_urls if u), None) or text(content.get("url"))
    return Media(
        url=url,
        mime=text(content.get("mimetype")),
        file_name=text(content.get("fileName")),
        size=count(content.get("fileLength")),
        seconds=count(content.get("seconds")),
    )


def location_text(content: dict) -> str | None:
    lat, lng = content.get("degreesLatitude"), content.get("degreesLongitude")
    parts = [text(content.get("name")), text(content.get("address"))]
    if is_number(lat) and is_number(lng):
        parts.append(f"{lat},{lng}")
    return "\n".join(p for p in parts if p) or None


@dataclass(frozen=True)
class Sender:
    """Who the customer is (see InboundMessage): at least a phone or a LID."""

    phone: str | None
    lid: str | None
    name: str | None
    is_group: bool


@dataclass(frozen=True)
class Content:
    content_type: str  # one of events.CONTENT_TYPES
    text: str | None
    quoted: str | None = None
    media: Media = NO_MEDIA
    choice_id: str | None = None


def inbound(
    provider_message_id: str,
    timestamp: datetime,
    from_me: bool,
    sender: Sender,
    content: Content,
    *,
    sent_by_api: bool | None = None,
    edit_of: str | None = None,
    track_id: str | None = None,
) -> InboundMessage:
    return InboundMessage(
        provider_message_id=provider_message_id,
        phone=sender.phone,
        lid=sender.lid,
        name=sender.name,
        content_type=content.content_type,
        text=content.text,
        media_url=content.media.url,
        media_mime=content.media.mime,
        quoted_provider_id=content.quoted,
        timestamp=timestamp,
        from_me=from_me,
        sent_by_api=sent_by_api,
        is_group=sender.is_group,
        edit_of=edit_of,
        track_id=track_id,
        media_file_name=content.media.file_name,
        media_size=content.media.size,
        media_seconds=content.media.seconds,
        choice_id=content.choice_id,
    )
