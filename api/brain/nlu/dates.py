"""Answers to the identity question: a date of birth or a CEP, however the customer writes them.

Dates: "12/04/1985", "12/4/85", "12041985", "12-04-1985", "12.04.1985", "12 04 1985", "1985-04-12",
"12 de abril de 1985", "12 abr 85", "1º de maio de 1980", "dia 12 de abril de 1985". Day first, always (as in
Brazil): "04/12/1985" is the 4th of December, never April 12th, so no answer gets two chances. A two-digit year is
compared by its last two digits. CEPs: "01001-000", "01001000", "01.001-000", "01001 000".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from api.brain.nlu.text import normalize

MONTHS = {"jan": 1, "fev": 2, "mar": 3, "abr": 4, "mai": 5, "jun": 6, "jul": 7, "ago": 8, "set": 9, "out": 10,
          "nov": 11, "dez": 12}
_SEP = r"[ \t]*[/\-.][ \t]*|[ \t]+"
_NUMERIC = re.compile(rf"(?<!\d)(\d{{1,2}})(?:{_SEP})(\d{{1,2}})(?:{_SEP})(\d{{4}}|\d{{2}})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_GLUED = re.compile(r"(?<![\d/.\-])(\d{8}|\d{6})(?![\d/.\-])")
_WRITTEN = re.compile(
    r"(?<!\d)(\d{1,2})(?:º|o|°)?\s*(?:de\s+|/|-|\s)?\s*([a-z]{3,10})\.?\s*(?:de\s+|/|-|,\s*|\s)?\s*(\d{4}|\d{2})(?!\d)")
_POSTAL = re.compile(r"(?<![\d])(\d{2})\.?(\d{3})(?:[ \t]*[-.][ \t]*|[ \t]?)(\d{3})(?![\d])")


@dataclass(frozen=True)
class DateAnswer:
    day: int
    month: int
    year: int
    two_digit_year: bool = False

    def matches(self, expected: date | None) -> bool:
        if expected is None or (self.day, self.month) != (expected.day, expected.month):
            return False
        return self.year == expected.year % 100 if self.two_digit_year else self.year == expected.year


def _answer(day: str | int, month: str | int, year: str) -> DateAnswer | None:
    day, month = int(day), int(month)
    two = len(year) == 2
    number = int(year)
    try:  # a two-digit year is leap in both centuries alike (but 00)
        date(number if not two else 2000 + number, month, day)
    except ValueError:
        return None
    if not two and not 1900 <= number <= date.today().year:
        return None
    return DateAnswer(day, month, number, two)


def _month(word: str) -> int | None:
    if word.isdigit() or len(word) < 3:
        return None
    return MONTHS.get(word[:3])


def find_date(text: str) -> DateAnswer | None:
    """The date the customer wrote (the first one), or None."""
    text = normalize(text)
    candidates: list[tuple[int, DateAnswer]] = []
    for match in _ISO.finditer(text):
        if found := _answer(match.group(3), match.group(2), match.group(1)):
            candidates.append((match.start(), found))
    for match in _NUMERIC.finditer(text):
        if found := _answer(*match.groups()):
            candidates.append((match.start(), found))
    for match in _WRITTEN.finditer(text):
        month = _month(match.group(2))
        if month and (found := _answer(match.group(1), month, match.group(3))):
            candidates.append((match.start(), found))
    for match in _GLUED.finditer(text):
        raw = match.group(1)
        if len(raw) == 8:
            found = _answer(raw[:2], raw[2:4], raw[4:]) or _answer(raw[6:], raw[4:6], raw[:4])  # ddmmaaaa, aaaammdd
        else:
            found = _answer(raw[:2], raw[2:4], raw[4:])
        if found:
            candidates.append((match.start(), found))
    return min(candidates, key=lambda pair: pair[0])[1] if candidates else None


def find_postal_code(text: str) -> str | None:
    """The CEP (8 digits) the customer wrote, or None."""
    match = _POSTAL.search(normalize(text))
    return "".join(match.groups()) if match else None
