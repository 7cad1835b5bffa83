"""CPF and CNPJ typed by customers, told apart from phones, dates, money and protocol numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from validate_docbr import CNPJ, CPF

from api.brain.nlu.text import normalize

_CPF, _CNPJ = CPF(), CNPJ()

# digits glued by punctuation to the candidate belong to a longer number (a date, a phone, a barcode)
_BEFORE = r"(?<!\d)(?<!\d[.\-/])"
_AFTER = r"(?!\d)(?![.\-/,]\d)"
_CANDIDATE = re.compile(
    _BEFORE
    + r"(?:(?P<cnpj>\d{2}[. ]?\d{3}[. ]?\d{3}[/. ]?\d{4}[-. ]?\d{2})|(?P<cpf>\d{3}[-. ]?\d{3}[-. ]?\d{3}[-. /]?\d{2}))"
    + _AFTER
)
_DOCUMENT_WORDS = re.compile(r"\b(?:cpf|cnpj|documento|doc|cadastro|titular)\b")
_OTHER_WORDS = re.compile(
    r"\b(?:protocolo|prot|chamado|pedido|ticket|tel|telefone|celular|cel|fone|whats|whatsapp|zap|wpp|contato"
    r"|numero|ligar|liga|ligue|agencia|rg)\b|r\$|\+"
)
_SENTENCE_END = re.compile(r"(?<!prot)(?<!tel)(?<!cel)[.;!?]\s")  # not "prot. 123"
_CONTEXT = 40  # characters looked back for what the number is
_DDD = {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42, 43, 44, 45, 46,
        47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85,
        86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99}


@dataclass(frozen=True)
class Document:
    digits: str
    kind: Literal["cpf", "cnpj"]
    valid: bool


def _context(text: str, start: int) -> str | None:
    """"document" or "other" when a nearby word says what the number is, else None."""
    before = text[max(0, start - _CONTEXT) : start]
    before = _SENTENCE_END.split(before)[-1]  # only this sentence
    document = max((m.end() for m in _DOCUMENT_WORDS.finditer(before)), default=-1)
    other = max((m.end() for m in _OTHER_WORDS.finditer(before)), default=-1)
    if document < 0 and other < 0:
        return None
    return "document" if document > other else "other"


def _looks_like_phone(digits: str) -> bool:
    return int(digits[:2]) in _DDD and digits[2] == "9"


def find_documents(text: str) -> list[Document]:
    """Every CPF/CNPJ in the message, in order, once each; an 11-digit number failing the checksum comes back
    with valid=False (a mistyped CPF), unless it rather looks like a phone number."""
    text = normalize(text)
    found: dict[str, Document] = {}
    for match in _CANDIDATE.finditer(text):
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        if digits in found:
            continue
        context = _context(text, match.start())
        if match.group("cnpj"):
            valid = _CNPJ.validate(digits)
            masked = "/" in raw or raw.count(".") == 2
            if context == "other" or not (valid or masked or context == "document"):
                continue
            found[digits] = Document(digits, "cnpj", valid)
            continue
        valid = _CPF.validate(digits)
        if context == "other":
            continue
        if not valid and context is None and raw.isdigit() and _looks_like_phone(digits):
            continue
        found[digits] = Document(digits, "cpf", valid)
    return list(found.values())
