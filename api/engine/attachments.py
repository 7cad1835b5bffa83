"""A file an agent attaches to a reply: checked here, then sent inline (a data: URL, as the invoices' PIX QR and
boleto) through the usual outbound media path, so no upload store is needed. Small on purpose: the whole reply
must fit the API's body limit (api/bodylimit.py), base64 included."""

from __future__ import annotations

import base64
import binascii

from api.whatsapp.media import OutboundMedia, data_url

MAX_BYTES = 700_000  # base64 makes it ~935 KB: under the 1 MB body limit with the text
# type -> (WhatsApp kind, how such a file starts): the bytes must be what the type says
ALLOWED = {"image/jpeg": ("image", (b"\xff\xd8\xff",)), "image/png": ("image", (b"\x89PNG\r\n\x1a\n",)),
           "image/webp": ("image", (b"RIFF",)), "application/pdf": ("document", (b"%PDF-",))}


class AttachmentError(ValueError):
    """The file cannot be sent (the message says why, for the API's 422)."""


def decoded(mime: str, data: str) -> bytes:
    if mime not in ALLOWED:
        raise AttachmentError(f"mime must be one of {', '.join(ALLOWED)}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentError("data is not base64") from None
    if not raw:
        raise AttachmentError("the file is empty")
    if len(raw) > MAX_BYTES:
        raise AttachmentError(f"the file is larger than {MAX_BYTES // 1000} KB")
    if not raw.startswith(ALLOWED[mime][1]) or (mime == "image/webp" and raw[8:12] != b"WEBP"):
        raise AttachmentError(f"the file's content is not {mime}")
    return raw


def attachment_media(mime: str, raw: bytes, file_name: str, caption: str | None) -> OutboundMedia:
    return OutboundMedia(kind=ALLOWED[mime][0], source=data_url(mime, raw), mime=mime, caption=caption,
                         file_name=file_name)
