"""Reading SGP's loosely typed JSON values: numbers as numbers or strings, padded text, several date formats."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

SGP_TIMEZONE = ZoneInfo("America/Sao_Paulo")
CENTS = Decimal("0.01")
_PARTICLES = {"da", "das", "de", "do", "dos", "e"}
_ROMAN = re.compile(r"^(?=[ivx])x{0,3}(ix|iv|v?i{0,3})$")  # I to XXXIX: "Rua XV de Novembro"


def today() -> date:
    """The provider's calendar day: what "overdue" means to a Brazilian customer."""
    return datetime.now(SGP_TIMEZONE).date()


def digits(value: Any) -> str:
    return re.sub(r"\D", "", "" if value is None else str(value))


def text(value: Any) -> str:
    """" Ativo " -> "Ativo"; None -> ""; inner runs of spaces collapsed."""
    return " ".join(str(value).split()) if value is not None else ""


def plain(value: str) -> str:
    """Lower case without accents, for matching words: "Conexão" -> "conexao"."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.0+)?\s*", value):
        return int(float(value))
    return None


def to_decimal(value: Any) -> Decimal | None:
    """99.9, "189.80", "189,80", "1.234,56" -> Decimal with cents; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    raw = str(value).strip().replace("R$", "").replace(" ", "")
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        return None
    return amount.quantize(CENTS) if amount.is_finite() else None


def to_date(value: Any) -> date | None:
    """"2026-11-10", "2026-11-10 00:00:00", "2026-11-10T03:00:00Z" or "10/11/2026"."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value or "").strip()
    if match := re.match(r"^(\d{4})-(\d{2})-(\d{2})", raw):
        year, month, day = map(int, match.groups())
    elif match := re.match(r"^(\d{2})/(\d{2})/(\d{4})", raw):
        day, month, year = map(int, match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "sim", "s", "yes")
    return bool(value)


def contact_values(raw: Any) -> tuple[str, ...]:
    """Phones or e-mails, whichever shape: ["(11) 91234-0001"] or [{"tipoContato": ..., "contato": ...}]."""
    if not isinstance(raw, list):
        raw = [raw] if isinstance(raw, str | dict) else []
    values = []
    for item in raw:
        value = item.get("contato") or item.get("valor") if isinstance(item, dict) else item
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
    return tuple(values)


def title(value: Any) -> str:
    """SGP writes addresses in capitals: "RUA DAS FLORES" -> "Rua das Flores", "RUA XV DE NOVEMBRO" keeps XV."""
    words = text(value).lower().split(" ")
    shown = []
    for position, word in enumerate(words):
        if _ROMAN.match(word) or word.isdigit():
            shown.append(word.upper())
        elif position and word in _PARTICLES:
            shown.append(word)
        else:
            shown.append(word[:1].upper() + word[1:])
    return " ".join(shown)
