"""The pure parts of media handling: where invoice files go in a reply, the PIX QR image, receipts, uploads."""

import base64
import io
import uuid
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import zxingcpp
from PIL import Image

from api.brain import replies
from api.media.incoming import MediaTurn, looks_like_receipt
from api.media.invoice import MediaReply, with_invoice_media
from api.media.qr import pix_qr_png
from api.media.transcribe import upload_name
from api.sgp.models import Invoice
from api.whatsapp.media import OutboundMedia, data_url, decode_base64

PIX = ("00020101021226830014br.gov.bcb.pix2561pix.exemplo.invalid/qr/v2/cobv/64009520400005303986540599.905802BR"
       "5913PROVEDOR6009SAO PAULO62070503***6304ABCD")


def invoice(**changes) -> Invoice:
    values = dict(id="64009", contract_id="10269", amount=Decimal("99.90"), due_date=date(2026, 11, 10),
                  digitable_line="23793381286000000640090000010205100000009990", pix_code=PIX,
                  link="https://sgp.exemplo.invalid/boleto/64009/", overdue=False)
    return Invoice(**{**values, **changes})


def shape(items) -> list[str]:
    """Texts by their first words, files by kind and name."""
    return [f"{i.media.kind}:{i.media.file_name}" if isinstance(i, MediaReply) else i[:12] for i in items]


def test_the_qr_follows_the_pix_text_and_the_pdf_the_boleto_line():
    sent = invoice()
    items = with_invoice_media(["Pronto!", *replies.invoice_messages([sent])], [sent])
    assert shape(items) == ["Pronto!", "Aqui está su", "PIX copia e ", "image:pix-64009.png", "Linha digitá",
                            "document:boleto-64009.pdf"]
    qr, pdf = items[3], items[5]
    assert (qr.media.mime, qr.media.caption, qr.fallback) == ("image/png", replies.PIX_QR_CAPTION,
                                                             replies.PIX_QR_FALLBACK)
    assert (pdf.media.source, pdf.media.mime, pdf.fallback) == (sent.link, "application/pdf",
                                                               replies.boleto_link(sent.link))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"pix_code": None}, ["Aqui está su", "Linha digitá", "document:boleto-64009.pdf"]),
        ({"digitable_line": None}, ["Aqui está su", "PIX copia e ", "image:pix-64009.png",
                                    "document:boleto-64009.pdf"]),
        ({"link": None}, ["Aqui está su", "PIX copia e ", "image:pix-64009.png", "Linha digitá"]),
        ({"link": "javascript:alert(1)"}, ["Aqui está su", "PIX copia e ", "image:pix-64009.png", "Linha digitá"]),
    ],
)
def test_only_the_files_an_invoice_has(changes, expected):
    sent = invoice(**changes)
    assert shape(with_invoice_media(replies.invoice_messages([sent]), [sent])) == expected


def test_no_files_for_an_invoice_the_reply_did_not_mention():
    texts = ["Você não tem faturas em aberto."]
    assert with_invoice_media(texts, [invoice()]) == texts


def test_the_qr_image_decodes_to_the_exact_pix_payload():
    image = Image.open(io.BytesIO(pix_qr_png(PIX)))
    [found] = zxingcpp.read_barcodes(image)
    assert found.text == PIX and found.format == zxingcpp.BarcodeFormat.QRCode


def test_inline_media_is_sent_as_bare_base64():
    png = pix_qr_png("x")
    inline = OutboundMedia("image", data_url("image/png", png), "image/png")
    assert decode_base64(inline.file) == png and inline.inline_base64 == inline.file
    linked = OutboundMedia("document", "https://sgp.exemplo.invalid/boleto/1/", "application/pdf")
    assert linked.file == linked.source and linked.inline_base64 is None
    assert decode_base64("não é base64") is None and decode_base64(base64.b64encode(b"ok").decode()) == b"ok"


@pytest.mark.parametrize(
    ("texts", "receipt"),
    [
        (("Comprovante_PIX_novembro.pdf",), True),
        (("COMPROVANTE",), True),
        ((None, "IMG-2026.jpg", "segue o comprovante de pagamento"), True),
        (("fiz a transferência ontem",), True),
        (("recibo.pdf",), True),
        (("a luz do roteador está vermelha",), False),
        (("pagode.pdf",), False),
        (("Comprovante_de_residencia.pdf",), False),  # a proof of address, for a contract change
        (("comprovante de endereço",), False),
        (("comprovante de residência e o comprovante do pix",), True),
        ((None,), False),
    ],
)
def test_receipts_are_recognized_by_caption_file_name_or_nearby_words(texts, receipt):
    assert looks_like_receipt(*texts) is receipt


@pytest.mark.parametrize(
    ("mime", "name"),
    [("audio/ogg; codecs=opus", "voice-note.ogg"), ("audio/mpeg", "voice-note.mp3"), ("AUDIO/MP4", "voice-note.m4a"),
     (None, "voice-note.ogg"), ("application/octet-stream", "voice-note.ogg")],
)
def test_the_upload_is_named_for_the_decoder(mime, name):
    assert upload_name(mime) == name


def test_voice_notes_are_read_by_their_transcripts_in_order():
    first, voice, last = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pending = [SimpleNamespace(id=first, text="oi", choice_id=None),
               SimpleNamespace(id=voice, text=None, choice_id=None),
               SimpleNamespace(id=last, text="obrigado", choice_id=None)]
    turn = MediaTurn(readable={voice: "quero a segunda via"})
    assert turn.texts(pending) == ["oi", "quero a segunda via", "obrigado"]
    turn.note(replies.AUDIO_NO_MODEL)
    turn.note(replies.AUDIO_NO_MODEL)
    assert turn.notes == [replies.AUDIO_NO_MODEL]  # two voice notes, one request to write


def test_the_limit_reply_says_the_limit():
    assert "5 minuto(s)" in replies.audio_too_long(300) and "45 segundos" in replies.audio_too_long(45)
