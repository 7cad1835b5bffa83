"""PIX copy-and-paste codes (EMV BR Code, dynamic, with CRC16) and boleto barcodes, as a provider's bank issues."""

from __future__ import annotations

from decimal import Decimal

MERCHANT = "PROVEDOR EXEMPLO"
CITY = "SAO PAULO"


def _field(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def crc16(payload: str) -> str:
    """CRC16-CCITT (polynomial 0x1021, initial 0xFFFF), the checksum that closes every BR Code."""
    crc = 0xFFFF
    for byte in payload.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def brcode(fatura: int, amount: Decimal, merchant: str = MERCHANT, city: str = CITY) -> str:
    """A dynamic PIX code for one invoice: the payload location names the invoice, the amount is fixed."""
    account = _field("00", "br.gov.bcb.pix") + _field("25", f"pix.exemplo.invalid/qr/v2/cobv/{fatura:012d}")
    payload = (
        _field("00", "01")
        + _field("01", "12")
        + _field("26", account)
        + _field("52", "0000")
        + _field("53", "986")
        + _field("54", f"{amount:.2f}")
        + _field("58", "BR")
        + _field("59", merchant[:25])
        + _field("60", city[:15])
        + _field("62", _field("05", "***"))
        + "6304"
    )
    return payload + crc16(payload)


def barcode_from_line(line: str) -> str:
    """The 44-digit barcode behind a 47-digit boleto digitable line ("" when the line has another length)."""
    if len(line) != 47 or not line.isdigit():
        return ""
    return line[0:4] + line[32] + line[33:47] + line[4:9] + line[10:20] + line[21:31]
