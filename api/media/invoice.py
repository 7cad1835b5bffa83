"""Invoice media: after the PIX copy-paste text, its QR code as an image; after the boleto line, the boleto PDF.

The brains only say texts; this places each invoice's files right after the texts that carry its codes, so the
customer reads them in that order and nothing is sent for an invoice the reply did not mention.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from api.brain import replies
from api.media.qr import pix_qr_png
from api.sgp.models import Invoice
from api.whatsapp.media import OutboundMedia, data_url


@dataclass(frozen=True)
class MediaReply:
    media: OutboundMedia
    fallback: str  # sent as text in its place when the provider refuses the file


def pix_qr(invoice: Invoice) -> MediaReply:
    image = OutboundMedia("image", data_url("image/png", pix_qr_png(invoice.pix_code or "")), "image/png",
                          replies.PIX_QR_CAPTION, f"pix-{invoice.id}.png")
    return MediaReply(image, replies.PIX_QR_FALLBACK)


def boleto_pdf(invoice: Invoice) -> MediaReply:
    document = OutboundMedia("document", invoice.link or "", "application/pdf", replies.BOLETO_CAPTION,
                             f"boleto-{invoice.id}.pdf")
    return MediaReply(document, replies.boleto_link(invoice.link or ""))


def _position(texts: list[str], text: str | None) -> int | None:
    return texts.index(text) if text is not None and text in texts else None


def with_invoice_media(texts: list[str], invoices: Iterable[Invoice]) -> list[str | MediaReply]:
    after: dict[int, list[MediaReply]] = {}
    for invoice in invoices:
        pix_at = _position(texts, replies.pix(invoice.pix_code) if invoice.pix_code else None)
        line_at = _position(texts, replies.digitable_line(invoice.digitable_line) if invoice.digitable_line else None)
        if pix_at is not None:
            after.setdefault(pix_at, []).append(pix_qr(invoice))
        last_code_at = max((at for at in (pix_at, line_at) if at is not None), default=None)
        if last_code_at is not None and (invoice.link or "").startswith(("https://", "http://")):
            after.setdefault(last_code_at, []).append(boleto_pdf(invoice))
    items: list[str | MediaReply] = []
    for index, text in enumerate(texts):
        items.append(text)
        items += after.get(index, [])
    return items
