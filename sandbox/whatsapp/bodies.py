"""Reading request bodies leniently, as the providers do, so malformed input gets their error shapes, not 422."""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request


async def json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def valid_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def decode_base64(value: str) -> bytes | None:
    """A file sent as base64, bare or as a data: URL; None when it is neither."""
    payload = value.partition(",")[2] if value.startswith("data:") else value
    try:
        return base64.b64decode(payload, validate=True) or None
    except (binascii.Error, ValueError):
        return None


DEFAULT_MIMETYPES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg; codecs=opus",
                     "document": "application/pdf", "sticker": "image/webp"}


def guess_mimetype(kind: str, file: str) -> str:
    """What the providers infer when the caller names no mimetype: from a data: URL, the file's magic bytes,
    else the kind's usual type."""
    if file.startswith("data:") and ";" in file:
        return file[5:file.index(";")]
    data = decode_base64(file) if not valid_url(file) else None
    if data and data.startswith(b"\x89PNG"):
        return "image/png"
    if data and data.startswith(b"%PDF"):
        return "application/pdf"
    return DEFAULT_MIMETYPES.get(kind, "application/octet-stream")
