"""The PIX QR code, drawn here from the PIX copy-paste payload (the same EMV string the bank app reads)."""

from __future__ import annotations

import io

import segno


def pix_qr_png(payload: str) -> bytes:
    """A PNG a phone camera reads from a WhatsApp chat: error correction M, 8 px modules, the standard margin."""
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()
