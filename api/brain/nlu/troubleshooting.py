"""What a customer says about their own troubleshooting: a router restarted, a connection that is slow, steps
already tried, whether the steps helped. Read on normalized text (normalize: no accents, lowercase)."""

from __future__ import annotations

import re

from api.brain.nlu.text import normalize

_RESTARTED = re.compile(r"\b(reiniciei|reinicei|reiniciamos|reiniciado|reiniciada|desliguei e liguei|"
                        r"liguei e desliguei|religuei|tirei da tomada)\b")
_SLOW = re.compile(r"\b(lent[ao]s?|devagar|travand\w*|travad[ao]|lerd[ao]|oscilando|"
                   r"caindo toda hora|cai toda hora|caindo o tempo todo|fica caindo)\b")
_ALREADY = re.compile(r"\bja (reiniciei|reinicei|reiniciamos|fiz|testei|tentei|desliguei|troquei|mudei)\b|"
                      r"\bfiz tudo\b")
_NOT_BETTER = re.compile(r"\b(nao|nada|nem) (melhorou|mudou|resolveu|adiantou)\b|\bcontinua\b|\bmesma coisa\b|"
                         r"\bpiorou\b|\bmelhorou nao\b|\bainda (ta |esta )?(lent|devagar|trav|ruim|caindo)")
_BETTER = re.compile(r"\b(melhorou|resolveu|normalizou|voltou ao normal|ficou boa|ficou otima|ta boa|ta otima)\b")
_OPEN = re.compile(r"\babr(e|ir|a)\b|\bchamado\b|\btecnico\b")


def restarted(text: str) -> bool:
    """ "já reiniciei o roteador", "desliguei e liguei": the customer restarted the equipment."""
    return bool(_RESTARTED.search(normalize(text)))


def slow(text: str) -> bool:
    """ "lenta", "devagar", "travando", "caindo toda hora": online, but not working well."""
    return bool(_SLOW.search(normalize(text)))


def already_tried(text: str) -> bool:
    """ "já reiniciei", "já fiz tudo isso": the basic steps were done before asking."""
    return bool(_ALREADY.search(normalize(text)))


def not_better(text: str) -> bool:
    return bool(_NOT_BETTER.search(normalize(text)))


def better(text: str) -> bool:
    words = normalize(text)
    return bool(_BETTER.search(words)) and not _NOT_BETTER.search(words)


def wants_ticket(text: str) -> bool:
    """ "pode abrir", "abre o chamado": a ticket asked for in words."""
    return bool(_OPEN.search(normalize(text)))
