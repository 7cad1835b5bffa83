"""Media going out (an image or a document we send) and coming in (a customer's file, downloaded through the
provider, which decrypts WhatsApp's media for us)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

OUTBOUND_KINDS = ("image", "document")


@dataclass(frozen=True)
class OutboundMedia:
    kind: str  # "image" | "document"
    source: str  # an http(s) URL the provider downloads, or a data: URL carrying the file inline
    mime: str
    caption: str | None = None
    file_name: str | None = None

    @property
    def inline_base64(self) -> str | None:
        """The base64 of a data: URL ("data:image/png;base64,iVBOR..."), which providers take as the file."""
        if not self.source.startswith("data:"):
            return None
        header, _, payload = self.source.partition(",")
        return payload if header.endswith(";base64") else None

    @property
    def file(self) -> str:
        """What goes in the provider's file/media field: the base64 itself, or the URL."""
        return self.inline_base64 or self.source


@dataclass(frozen=True)
class DownloadedMedia:
    data: bytes
    mime: str | None
    file_name: str | None = None


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_base64(value: object) -> bytes | None:
    """Providers' base64, with or without a data: prefix; None when it is not base64."""
    if not isinstance(value, str) or not value:
        return None
    payload = value.partition(",")[2] if value.startswith("data:") else value
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
