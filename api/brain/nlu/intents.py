"""What the customer wants: phrase patterns over canonical tokens, tried only where their first word occurs."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from api.brain.nlu.lexicon import GAPS, IMPLIED_BY, NEGATION_EXEMPT, NEGATION_FILLERS, NEGATIONS, OPENERS, PATTERNS
from api.brain.nlu.text import BOUNDARIES, canonical_tokens, normalize


class Intent(StrEnum):
    SECOND_COPY = "second_copy"
    CONNECTION_DOWN = "connection_down"
    TRUST_UNLOCK = "trust_unlock"
    PAYMENT_NOTICE = "payment_notice"
    BILLING_ISSUE = "billing_issue"
    OPEN_TICKET = "open_ticket"
    HUMAN = "human"
    SALES = "sales"
    CANCEL = "cancel"
    GREETING = "greeting"
    THANKS_BYE = "thanks_bye"
    YES = "yes"
    NO = "no"


SHORT_ANSWER = 6  # yes/no count only in messages of at most this many words
_NEGATION_REACH = 3  # filler words allowed between a negation and the keyword it cancels


def _alternatives(element: str) -> str:
    out = []
    for word in element.split("|"):
        if word == "NUM":
            out.append(r"\d[\d.,/\-]*")
        elif word == "QMARK":
            out.append(r"\?")
        elif word.endswith("*"):
            out.append(re.escape(word[:-1]) + "[a-z]*")
        else:
            out.append(re.escape(word))
    return "(?:" + "|".join(out) + ")"


def _compile(spec: str) -> str:
    body, spaced = "", False
    for element in spec.split():
        if element == "END":
            body += r"(?=$| [#?])"
            continue
        if element.startswith("&"):
            body += rf"(?= {_alternatives(element[1:])}(?![^ ]))"
            continue
        if element.startswith("~"):
            most, words = GAPS[element[1:]]
            body += f"(?: (?:{'|'.join(sorted(words))})){{0,{most}}}"
            continue
        optional = element.endswith("?")
        rx = _alternatives(element[:-1] if optional else element)
        if not spaced:  # first element
            body += f"(?:{rx} )?" if optional else rx
            spaced = not optional
        else:
            body += f"(?: {rx})?" if optional else f" {rx}"
    return body


_COMPILED = [re.compile(_compile(spec) + r"(?![^ ])") for _, spec, _ in PATTERNS]
_META = [(Intent(intent) if intent else None, flags) for intent, _, flags in PATTERNS]
_IMPLIED_BY = {Intent(intent): {Intent(other) for other in others} for intent, others in IMPLIED_BY.items()}


def _first_words(spec: str) -> list[str]:
    """The alternatives a match of spec can start with."""
    words: list[str] = []
    for element in spec.split():
        words += element.rstrip("?").split("|")
        if not element.endswith("?"):
            return words
    return words


_STARTING: dict[str, list[int]] = {}  # first token -> patterns that may start there, in priority order
_STARTING_PREFIX: list[tuple[str, int]] = []
for _n, (_, _spec, _) in enumerate(PATTERNS):
    for _word in _first_words(_spec):
        if _word.endswith("*"):
            _STARTING_PREFIX.append((_word[:-1], _n))
        else:
            _STARTING.setdefault("?" if _word == "QMARK" else _word, []).append(_n)


@lru_cache(maxsize=4096)
def _candidates(token: str) -> tuple[int, ...]:
    found = set(_STARTING.get(token, ()))
    if token[0].isdigit():
        found.update(_STARTING.get("NUM", ()))
    found.update(n for prefix, n in _STARTING_PREFIX if token.startswith(prefix))
    return tuple(sorted(found))


def _matches(tokens: list[str]):
    """(start, end, pattern) for each phrase, left to right; at one token the first listed pattern wins."""
    joined = " ".join(tokens)
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token) + 1
    i = 0
    while i < len(tokens):
        for n in _candidates(tokens[i]):
            match = _COMPILED[n].match(joined, offsets[i])
            if match:
                end = i + match.group().count(" ") + 1
                yield i, end, n
                i = end
                break
        else:
            i += 1


def _opens_segment(tokens: list[str], start: int) -> bool:
    j = start - 1
    while j >= 0 and tokens[j] in OPENERS:
        j -= 1
    return j < 0 or tokens[j] in BOUNDARIES


def _negation_before(tokens: list[str], start: int) -> int | None:
    j, skipped = start - 1, 0
    while j >= 0 and tokens[j] in NEGATION_FILLERS and skipped < _NEGATION_REACH:
        j, skipped = j - 1, skipped + 1
    return j if j >= 0 and tokens[j] in NEGATIONS else None


def detect_intents(text: str) -> list[Intent]:
    """Intents in the order the customer said them, each once. Yes/no only in short answers."""
    tokens = canonical_tokens(normalize(text))
    words = [i for i, token in enumerate(tokens) if token not in BOUNDARIES]
    if not words:
        return []
    short = len(words) <= SHORT_ANSWER

    found: list[tuple[int, int, Intent | None, str]] = []  # start, end (token indexes), intent, flags
    owner: dict[int, int] = {}  # token index -> index in found
    for start, end, n in _matches(tokens):
        for i in range(start, end):
            owner[i] = len(found)
        found.append((start, end, *_META[n]))

    dropped: set[int] = set()
    for n, (start, _, intent, flags) in enumerate(found):
        if intent in NEGATION_EXEMPT or "x" in flags:
            continue
        negation = _negation_before(tokens, start)
        if negation is None:
            continue
        negation_owner = owner.get(negation)
        if negation_owner is None or found[negation_owner][2] is Intent.NO:
            dropped.add(n)  # "nao quero boleto": neither second_copy nor a "no"
            if negation_owner is not None:
                dropped.add(negation_owner)

    kept: list[tuple[Intent, str]] = []
    for n, (start, end, intent, flags) in enumerate(found):
        if intent is None or n in dropped:
            continue
        if intent in (Intent.YES, Intent.NO) and not short:
            continue
        if "a" in flags and not _opens_segment(tokens, start):
            continue
        if "w" in flags and (start > words[0] or end <= words[-1]):
            continue
        kept.append((intent, flags))
    others = {intent for intent, _ in kept}
    polite = bool(others & {Intent.GREETING, Intent.THANKS_BYE, Intent.NO})
    result: list[Intent] = []
    for intent, flags in kept:
        if intent in result or others & _IMPLIED_BY.get(intent, set()):  # once; not when another implies it
            continue
        if not ("k" in flags and polite):  # "ok obrigado" is a goodbye, not a yes
            result.append(intent)
    return result
