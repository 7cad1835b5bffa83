"""What a message carries, independent of the provider: a text, or a media file with its caption.

Both payload builders render it: uazapi as `messageType` + `content`, Evolution as `message.<kind>Message`; a
media message's fields are built once here (`media_message`), and each builder spells them as its provider's
serializer does.
Media fields follow WhatsApp's (fileSHA256, fileLength, mediaKey, directPath...), as in the captures under
tests/fixtures/uazapi/user-chat__from-others__{audio,image,file}.sent.json and evolution/messages.upsert.audio.json.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.whatsapp.ids import seconds
from sandbox.whatsapp.media_files import MediaFile
from sandbox.whatsapp.state import SentMessage

# kind -> (uazapi messageType, uazapi mediaType, Evolution message key)
KINDS = {
    "audio": ("AudioMessage", "ptt", "audioMessage"),
    "image": ("ImageMessage", "image", "imageMessage"),
    "video": ("VideoMessage", "video", "videoMessage"),
    "document": ("DocumentMessage", "document", "documentMessage"),
    "sticker": ("StickerMessage", "sticker", "stickerMessage"),
}


@dataclass(frozen=True)
class Choice:
    """A list row or a button the customer picked."""

    kind: str  # "list" | "button"
    id: str  # the row's / button's id, as the menu that offered it named it
    title: str  # what it said


@dataclass(frozen=True)
class Media:
    kind: str  # a key of KINDS
    url: str  # where the (WhatsApp-encrypted, here plain) file is
    mimetype: str
    size: int
    sha256: str  # base64, as WhatsApp writes fileSHA256
    file_name: str | None = None
    seconds: int | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def of(cls, kind: str, file: MediaFile, url: str) -> Media:
        digest = base64.b64encode(hashlib.sha256(file.data).digest()).decode()
        return cls(kind, url, file.mimetype, len(file.data), digest, file.file_name, file.seconds, file.width,
                   file.height)

    @classmethod
    def described(cls, kind: str, url: str, mimetype: str | None, file_name: str | None, reference: str) -> Media:
        """A file we only know by its URL or base64 (what a send named): size and hash stand in."""
        digest = hashlib.sha256(reference.encode()).digest()
        return cls(kind, url, mimetype or "application/octet-stream", len(reference),
                   base64.b64encode(digest).decode(), file_name)

    def whatsapp_fields(self, moment_seconds: int) -> dict:
        """The encrypted-media fields every WhatsApp media message carries."""
        key = hashlib.sha256(self.sha256.encode()).digest()
        return {
            "mediaKey": base64.b64encode(key).decode(),
            "fileEncSha256": base64.b64encode(hashlib.sha256(key).digest()).decode(),
            "directPath": f"/v/t62.7117-24/{key.hex()[:30]}_n.enc?ccb=11-4",
            "mediaKeyTimestamp": moment_seconds,
        }


@dataclass(frozen=True)
class Content:
    text: str  # the text, or the media's caption ("" for none)
    media: Media | None = None

    @property
    def kind(self) -> str:
        return self.media.kind if self.media else "text"


def media_message(content: Content, moment: datetime) -> dict[str, Any]:
    """A media message's fields under WhatsApp's protobuf names, as Baileys (Evolution) spells them; uazapi's
    whatsmeow writes some in Go style (URL, fileSHA256, PTT) and Evolution writes Longs as strings."""
    media = content.media
    assert media is not None
    body: dict[str, Any] = {"url": media.url, "mimetype": media.mimetype}
    if content.text and media.kind != "audio":
        body["caption"] = content.text
    body.update(fileSha256=media.sha256, fileLength=media.size)
    if media.kind == "audio":
        body.update(seconds=media.seconds or 1, ptt=True)
    elif media.kind in ("image", "video"):
        body.update(height=media.height or 1600, width=media.width or 900)
    elif media.kind == "document":
        body.update(title=media.file_name or "arquivo", fileName=media.file_name or "arquivo", pageCount=1)
    body.update(media.whatsapp_fields(seconds(moment)))
    return body


def sent_content(sent: SentMessage) -> Content:
    """What one of the instance's sends carries (a file given as base64 gets a WhatsApp-like CDN URL)."""
    if sent.media is None:
        return Content(sent.text)
    url = sent.media.file if sent.media.file.startswith(("http://", "https://")) else (
        f"https://mmg.whatsapp.net/v/t62.7118-24/{sent.id}.enc")
    return Content(sent.text, Media.described(sent.media.kind, url, sent.media.mimetype, sent.media.file_name,
                                              sent.media.file))
