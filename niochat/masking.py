"""CPF/CNPJ masking, for logs and anything shown where the full document must not appear."""

from __future__ import annotations

import re

# 11 digits (CPF) or 14 (CNPJ), with or without the usual punctuation, not inside a longer number.
_DOCUMENT = re.compile(
    r"(?<![\d.\-/])(?:\d{3}\.?\d{3}\.?\d{3}-?\d{2}|\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2})(?![\d.\-/]?\d)"
)


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


def mask_documents_in(text: str) -> str:
    """Every CPF/CNPJ-looking number inside free text, masked."""
    return _DOCUMENT.sub(lambda match: mask_document(match.group(0)), text)
