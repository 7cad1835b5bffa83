"""Sample files the sandbox's customers send: a voice note, a photo, a PDF. Real formats, built here so the
sandbox needs no binary assets.

The voice note is a valid Ogg Opus file of silent frames (RFC 7845). What the customer "says" travels in its
OpusTags as a SPEECH=... comment, so a test's fake speech-to-text endpoint can hear it; real recordings carry
no such tag.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SAMPLE_RATE = 48_000
PRE_SKIP = 312
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
SILENT_FRAME = b"\xf8\xff\xfe"  # TOC: CELT-only fullband 20 ms mono, one frame; the usual Opus silence
VOICE_MIME = "audio/ogg; codecs=opus"
SPEECH_TAG = "SPEECH="


@dataclass(frozen=True)
class MediaFile:
    data: bytes
    mimetype: str
    file_name: str | None = None
    seconds: int | None = None
    width: int | None = None
    height: int | None = None


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _page(packets: list[bytes], *, flags: int, granule: int, serial: int, sequence: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = b"OggS" + bytes([0, flags]) + struct.pack("<qIII", granule, serial, sequence, 0)
    page = header + bytes([len(lacing)]) + bytes(lacing) + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def voice_note(seconds: int, speech: str | None = None) -> MediaFile:
    """An Ogg Opus voice note of `seconds` of silence, tagged with what the customer says."""
    serial = zlib.crc32((speech or "").encode()) & 0xFFFFFFFF
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, SAMPLE_RATE, 0, 0)
    comments = [f"{SPEECH_TAG}{speech}".encode()] if speech else []
    vendor = b"niochat-sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    tags += b"".join(struct.pack("<I", len(comment)) + comment for comment in comments)
    pages = [_page([head], flags=0x02, granule=0, serial=serial, sequence=0),
             _page([tags], flags=0, granule=0, serial=serial, sequence=1)]
    frames = max(1, seconds) * (SAMPLE_RATE // FRAME_SAMPLES)
    per_page = 250
    for first in range(0, frames, per_page):
        count = min(per_page, frames - first)
        last = first + count >= frames
        pages.append(_page([SILENT_FRAME] * count, flags=0x04 if last else 0,
                           granule=PRE_SKIP + (first + count) * FRAME_SAMPLES, serial=serial, sequence=len(pages)))
    return MediaFile(b"".join(pages), VOICE_MIME, seconds=max(1, seconds))


def speech_in(ogg: bytes) -> str | None:
    """The SPEECH tag of a voice note made by `voice_note` (None for any other file)."""
    start = ogg.find(b"OpusTags")
    if start < 0:
        return None
    at = start + 8
    vendor_length = struct.unpack_from("<I", ogg, at)[0]
    at += 4 + vendor_length
    (count,) = struct.unpack_from("<I", ogg, at)
    at += 4
    for _ in range(count):
        (length,) = struct.unpack_from("<I", ogg, at)
        comment = ogg[at + 4:at + 4 + length].decode("utf-8", "replace")
        at += 4 + length
        if comment.startswith(SPEECH_TAG):
            return comment[len(SPEECH_TAG):]
    return None


def photo(width: int = 64, height: int = 48) -> MediaFile:
    """A grey gradient PNG (8-bit grayscale)."""
    rows = b"".join(b"\x00" + bytes((x * 255 // max(1, width - 1)) for x in range(width)) for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return MediaFile(png, "image/png", width=width, height=height)


def pdf(title: str, file_name: str, size: int | None = None) -> MediaFile:
    """A one-page PDF whose page shows `title`; `size` pads it (comment lines before the trailer), like a
    scanned document of that many bytes."""
    safe = title.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 40 780 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    if size is not None and size > len(out) + 300:
        line = b"%" + b"0" * 78 + b"\n"
        out += line * ((size - len(out) - 300) // len(line))
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return MediaFile(bytes(out), "application/pdf", file_name=file_name)
