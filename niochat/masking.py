"""CPF/CNPJ masking, for logs and anything shown where the full document must not appear.

Customers write documents in any grouping: "529.982.247-25", "52998224725", "529 982 247 25", "529982247-25",
"529.982.24725", "11 444 777 0001 61". So the text is read in *runs*: digits joined by single separators (one of
". -/", the punctuation with a space either side or not: "247 - 25"). In each run:

1. a run of exactly 11 or 14 digits is a document, whatever its grouping (valid check digits or not: a typo is
   still most of someone's CPF), unless part of it is a 12- or 13-digit number written without spaces ("opção 2
   5511912340001" is a phone after a number);
2. within a longer run, a group of digits written without spaces (e.g. "52998224725" in "52998224725 2 vias")
   of 11 or 14 digits is a document, as before;
3. within a longer run, any stretch of groups holding 11 or 14 digits *with valid check digits* is a document
   ("529 982 247 25 2 vias").

Not masked: other numbers (protocols, amounts, dates, invoice ids) and phones with their country code,
"5511987654321" or "+55 11 98765-4321" (a run "55", a two-digit area code and a nine-digit mobile starting with
9, is a phone even when the last 11 digits could be a CPF). A 13-digit number is never an 11- or 14-digit document.

ingest/masking.py runs the same rules in PostgreSQL (functions of migration 0009); tests check they agree.
"""

from __future__ import annotations

import re

_SEP = r"(?: ?[./-] ?| )"
# A run: digits joined by single separators. `_MAYBE` finds a run with at least 11 digits (nothing else can hold
# a document), cheaply.
RUN = rf"[0-9]+(?:{_SEP}[0-9]+)*"
MAYBE = rf"[0-9](?:{_SEP}?[0-9]){{10}}"
_RUN = re.compile(RUN)
_MAYBE = re.compile(MAYBE)
_GROUP = re.compile(r"[0-9]+")
_BETWEEN = re.compile(r"[^0-9]+")
_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def mask_document(value: str) -> str:
    """CPF -> ***.456.789-**, CNPJ -> **.345.678/****-**: enough to recognise, not enough to use."""
    d = digits(value)
    if len(d) == 11:
        return f"***.{d[3:6]}.{d[6:9]}-**"
    if len(d) == 14:
        return f"**.{d[2:5]}.{d[5:8]}/****-**"
    return "*" * len(d)


def valid_document(d: str) -> bool:
    """An 11-digit CPF or 14-digit CNPJ whose check digits are right (and not one digit repeated)."""
    if len(set(d)) == 1 or not d.isdigit():
        return False
    numbers = [int(char) for char in d]
    if len(d) == 11:
        for size in (9, 10):
            total = sum(numbers[i] * (size + 1 - i) for i in range(size))
            if total * 10 % 11 % 10 != numbers[size]:
                return False
        return True
    if len(d) == 14:
        for size in (12, 13):
            weights = _CNPJ_WEIGHTS[13 - size:]
            remainder = sum(n * w for n, w in zip(numbers[:size], weights, strict=True)) % 11
            if (0 if remainder < 2 else 11 - remainder) != numbers[size]:
                return False
        return True
    return False


def _is_phone(groups: list[str], total: int) -> bool:
    """+55 11 98765-4321: country code, area code, a mobile number starting with 9 (written in groups)."""
    return (len(groups) >= 3 and total == 13 and groups[0] == "55" and len(groups[1]) == 2
            and "".join(groups[2:]).startswith("9"))


def _tokens(groups: list[str], separators: list[str]) -> list[tuple[int, int, int]]:
    """(first, last, digits) of each stretch of groups joined without spaces."""
    tokens = []
    start = 0
    for index in range(len(groups)):
        if index == len(groups) - 1 or " " in separators[index]:
            tokens.append((start, index, sum(len(group) for group in groups[start:index + 1])))
            start = index + 1
    return tokens


def _document_spans(groups: list[str], tokens: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(first, last) group indexes of every document in a run that is not one as a whole (rules 2 and 3)."""
    spans = [(first, last) for first, last, count in tokens if count in (11, 14)]  # rule 2
    for first in range(len(groups)):  # rule 3: any stretch with valid check digits
        count = 0
        for last in range(first, len(groups)):
            count += len(groups[last])
            if count > 14:
                break
            if count in (11, 14) and valid_document("".join(groups[first:last + 1])):
                spans.append((first, last))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):  # overlapping stretches become one masked stretch
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _mask_run(run: str) -> str:
    groups = _GROUP.findall(run)
    separators = _BETWEEN.findall(run)  # separators[i] sits between groups[i] and groups[i + 1]
    total = sum(len(group) for group in groups)
    tokens = _tokens(groups, separators)
    if total in (11, 14) and not any(count in (12, 13) for _, _, count in tokens):
        return mask_document(run)
    if _is_phone(groups, total):
        return run
    spans = _document_spans(groups, tokens)
    if not spans:
        return run
    out: list[str] = []
    position = 0
    for first, last in spans:
        for index in range(position, first):
            out += [groups[index], separators[index]]
        out.append(mask_document("".join(groups[first:last + 1])))
        if last < len(groups) - 1:
            out.append(separators[last])
        position = last + 1
    for index in range(position, len(groups)):
        out.append(groups[index])
        if index < len(groups) - 1:
            out.append(separators[index])
    return "".join(out)


def mask_documents_in(text: str) -> str:
    """Every CPF/CNPJ inside free text, masked, in whatever grouping it was written (see the module's rules)."""
    if not _MAYBE.search(text):
        return text
    return _RUN.sub(lambda match: _mask_run(match.group(0)), text)
