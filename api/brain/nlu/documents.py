"""CPF and CNPJ typed by customers, told apart from phones, dates, money and protocol numbers.

Customers type documents in many groupings: the textbook one ("529.982.247-25"), a dot for the dash
("529.982.247.25"), spaces ("529 982 247 25"), no separators inside a sentence, odd groups ("5299 8224 725"),
commas, or split over two messages ("529.982" and then "247-25"). Any grouping is read; the checksum decides
those typed in a way no one writes a phone, a date or an amount.
"""

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
# any run of digit groups: what a customer types between the groups of a document, however they group it
_SEPARATOR = r"(?:[ \t]*[.\-/,][ \t]*|[ \t]+)"
_RUN = re.compile(r"(?<![\d])\d+(?:" + _SEPARATOR + r"\d+)*")
_GROUP = re.compile(r"\d+")
_SPACED_ON = re.compile(r"[ \t]+\d")
_SPACED_BEFORE = re.compile(r"\d[ \t]+$")
_LONGEST_RUN = 28  # two documents side by side; longer runs are barcodes and digitable lines
_DOCUMENT_WORDS = re.compile(r"\b(?:cpf|cnpj|documento|doc|cadastro|titular)\b")
_OTHER_WORDS = re.compile(
    r"\b(?:protocolo|prot|chamado|pedido|ticket|tel|telefone|celular|cel|fone|whats|whatsapp|zap|wpp|contato"
    r"|numero|ligar|liga|ligue|agencia|rg|cep)\b|r\$|\+"
)
_SENTENCE_END = re.compile(r"(?<!prot)(?<!tel)(?<!cel)[.;!?]\s")  # not "prot. 123"
_CONTEXT = 40  # characters looked back for what the number is
_DDD = {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42, 43, 44, 45, 46,
        47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85,
        86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99}
_FRAGMENT_DIGITS = (3, 10)  # a part of a document, sent before the rest (11 digits are a whole CPF or a phone)
_ONLY_NUMBER = re.compile(r"^[^\w]*(?:(?:o|meu|minha|e|eh|é)\s+)*" + r"\d+(?:" + _SEPARATOR + r"\d+)*[^\w]*$")
_WINDOW = 3  # messages a document may be split over


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


def _valid(digits: str) -> bool:
    return _CPF.validate(digits) if len(digits) == 11 else _CNPJ.validate(digits)


def _textbook(text: str) -> list[tuple[int, int, Document]]:
    """Documents in the usual groupings (with or without the usual punctuation): a mistyped one comes back with
    valid=False, so the customer can be told to check it."""
    found = []
    for match in _CANDIDATE.finditer(text):
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        spaced = _SPACED_ON.match(text, match.end()) or _SPACED_BEFORE.search(text, 0, match.start())
        if spaced and not _valid(digits):
            continue  # a piece of a longer spaced number ("112 223 330 001 81"): the loose reading decides
        context = _context(text, match.start())
        if match.group("cnpj"):
            valid = _CNPJ.validate(digits)
            masked = "/" in raw or raw.count(".") == 2
            if context == "other" or not (valid or masked or context == "document"):
                continue
            found.append((match.start(), match.end(), Document(digits, "cnpj", valid)))
            continue
        valid = _CPF.validate(digits)
        if context == "other":
            continue
        if not valid and context is None and raw.isdigit() and _looks_like_phone(digits):
            continue
        found.append((match.start(), match.end(), Document(digits, "cpf", valid)))
    return found


def _loose(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int, Document]]:
    """Documents in any other grouping ("5299 8224 725", "52 998 224 725", "529,982,247-25", "529 . 982 ..."):
    only when the checksum passes (or, said to be a CPF/CNPJ, when the groups are the whole number), never
    cutting a number glued by punctuation, never a phone-shaped number unless the customer says it is a CPF."""
    found = []
    for run in _RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())]
        if len(groups) < 2 or sum(end - start for start, end in groups) > _LONGEST_RUN:
            continue
        i = 0
        while i < len(groups):
            accepted = _loose_from(text, groups, i, taken)
            if accepted is None:
                i += 1
                continue
            last, span = accepted
            found.append(span)
            taken.append(span[:2])
            i = last + 1
    return found


def _loose_from(text: str, groups, i: int, taken) -> tuple[int, tuple[int, int, Document]] | None:
    """The document starting at group i, if the groups from there make one: (its last group, its span)."""
    total = 0
    for j in range(i, len(groups)):
        total += groups[j][1] - groups[j][0]
        if total > 14:
            return None
        if j == i or total not in (11, 14):
            continue
        start, end = groups[i][0], groups[j][1]
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        if not _loose_edges_ok(text, groups, i, j) or not _loose_slashes_ok(text, groups, i, j, total):
            continue
        digits = "".join(text[a:b] for a, b in groups[i : j + 1])
        context = _context(text, start)
        if context == "other":
            continue
        valid = _valid(digits)
        whole = i == 0 and j == len(groups) - 1
        if not valid and not (whole and context == "document"):
            continue
        if total == 11 and _looks_like_phone(digits) and context != "document":
            continue
        return j, (start, end, Document(digits, "cpf" if total == 11 else "cnpj", valid))
    return None


def _between(text: str, groups, a: int) -> str:
    """What separates group a from group a + 1."""
    return text[groups[a][1] : groups[a + 1][0]].strip()


def _loose_edges_ok(text: str, groups, i: int, j: int) -> bool:
    # a neighbour glued by punctuation ("12/04/1985", "1.234,56") belongs to the same number: never cut there
    if i > 0 and _between(text, groups, i - 1):
        return False
    return not (j < len(groups) - 1 and _between(text, groups, j))


def _loose_slashes_ok(text: str, groups, i: int, j: int, total: int) -> bool:
    """A slash only where a CNPJ has it (before the branch number), never inside a CPF: "12/04/1985 ..." is a date."""
    digits_before = 0
    for a in range(i, j):
        digits_before += groups[a][1] - groups[a][0]
        if "/" in _between(text, groups, a) and not (total == 14 and digits_before == 8):
            return False
    return True


def find_documents(text: str) -> list[Document]:
    """Every CPF/CNPJ in the message, in order, once each; an 11-digit number failing the checksum comes back
    with valid=False (a mistyped CPF), unless it rather looks like a phone number."""
    text = normalize(text)
    spans = _textbook(text)
    spans += _loose(text, [(start, end) for start, end, _ in spans])
    found: dict[str, Document] = {}
    for _, _, document in sorted(spans, key=lambda span: span[0]):
        found.setdefault(document.digits, document)
    return list(found.values())


def _ends_with_digit(text: str) -> bool:
    return bool(re.search(r"\d[^\w]*$", normalize(text)))


def _starts_with_digit(text: str) -> bool:
    return bool(re.match(r"^[^\w]*\d", normalize(text)))


def find_documents_across(texts: list[str], *, newest: int = 1) -> list[Document]:
    """Valid documents split over consecutive messages ("529.982" then "247-25"), found in no message alone.
    `texts` are one customer's messages, oldest first; only splits reaching into the last `newest` of them count
    (the ones being answered)."""
    found: dict[str, Document] = {}
    for end in range(max(0, len(texts) - newest), len(texts)):
        for start in range(end - 1, max(-1, end - _WINDOW), -1):
            window = texts[start : end + 1]
            if not all(_ends_with_digit(a) and _starts_with_digit(b) for a, b in zip(window, window[1:], strict=False)):
                break
            alone = {doc.digits for text in window for doc in find_documents(text)}
            for document in find_documents(" ".join(window)):
                if document.valid and document.digits not in alone:
                    found.setdefault(document.digits, document)
    return list(found.values())


def document_fragment(text: str) -> bool:
    """A message that is the beginning of a document the customer is still typing: only a number (or "cpf" and a
    number) of 3 to 10 digits, or a CNPJ cut after its slash, that is not a whole document ("529.982", "meu cpf e
    529 982", "11.222.333/0001")."""
    normalized = normalize(text)
    if find_documents(normalized):
        return False
    runs = list(_RUN.finditer(normalized))
    if len(runs) != 1:
        return False
    count = len(re.sub(r"\D", "", runs[0].group()))
    cnpj_like = "/" in runs[0].group() and count < 14  # "11.222.333/0001": a CNPJ still missing its end
    if not (_FRAGMENT_DIGITS[0] <= count <= _FRAGMENT_DIGITS[1] or cnpj_like):
        return False
    before = normalized[: runs[0].start()]
    if _OTHER_WORDS.search(before) or re.search(r"\w", normalized[runs[0].end():]):
        return False
    return bool(_ONLY_NUMBER.match(normalized) or _DOCUMENT_WORDS.search(before))
