"""Text plumbing shared by the NLU: normalization, tokens, typo correction."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from api.brain.nlu.lexicon import ABBREVIATIONS, FUZZY_TARGETS, JOINS, KNOWN

_DROP = dict.fromkeys(map(ord, "\ufe0f\u20e3\u200d\u200b"), None)  # emoji variation, keycap, joiners
_SPECIAL = {ord("🔟"): "10", ord("ß"): "ss", ord("ø"): "o", ord("ł"): "l", ord("–"): "-", ord("—"): "-"}
_REPEATS = re.compile(r"([a-z])\1{2,}")
_DOUBLES = re.compile(r"([a-qt-z])\1")  # "siim", "diaa"; rr and ss are Portuguese
_SPACES = re.compile(r"\s+")
# numbers keep their inner punctuation (529.982.247-25 is one token); other punctuation ends a segment
_TOKENS = re.compile(r"\d+(?:[.,/\-]\d+)*|[a-z]+|\?+|[.,;!:\n]+|[👍👎✅❌👌]")
BOUNDARIES = frozenset("#?")


def normalize(text: str) -> str:
    """Lowercase, no accents, no letter repeated more than twice in a row ("caaaiu" -> "caiu"), single spaces."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL).lower()).translate(_DROP)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _REPEATS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def raw_tokens(normalized: str) -> list[str]:
    """Words, numbers and the few meaningful emojis; "#" and "?" stand for punctuation between segments."""
    out: list[str] = []
    for token in _TOKENS.findall(normalized):
        if token[0] in ".,;!:\n":
            token = "#"
        elif token[0] == "?":
            token = "?"
        if token in BOUNDARIES and (not out or out[-1] in BOUNDARIES):
            continue
        out.append(token)
    return out


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits and adjacent swaps), giving up past limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _allowed_edits(word: str) -> int:
    return 0 if len(word) <= 4 else 1 if len(word) <= 9 else 2


_BY_INITIAL: dict[str, list[str]] = {}
for _target in FUZZY_TARGETS:
    _BY_INITIAL.setdefault(_target[0], []).append(_target)


@lru_cache(maxsize=4096)
def correct(word: str) -> str:
    """The keyword a typo most likely meant ("bolto" -> "boleto"), or the word itself."""
    if word in KNOWN or not word.isalpha():
        return word
    limit = _allowed_edits(word)
    best, best_distance = word, limit + 1
    for target in _BY_INITIAL.get(word[0], ()):  # typos rarely hit the first letter
        distance = osa_distance(word, target, limit)
        if distance < best_distance:
            best, best_distance = target, distance
    return best


def _undouble(word: str) -> str:
    """A stretched word without its doubled letter ("siim" -> "sim", "diaa" -> "dia"), when that is a known one."""
    if word in KNOWN or word in ABBREVIATIONS:
        return word
    single = _DOUBLES.sub(r"\1", word)
    return single if single in KNOWN or single in ABBREVIATIONS else word


def canonical_tokens(normalized: str) -> list[str]:
    """Tokens with abbreviations expanded, split words joined ("wi fi") and typos corrected."""
    out: list[str] = []
    for token in raw_tokens(normalized):
        token = _undouble(token)
        if out and (out[-1], token) in JOINS:
            out[-1] = JOINS[out[-1], token]
            continue
        expanded = ABBREVIATIONS.get(token)
        if expanded is not None:
            out.extend(expanded.split())
        else:
            out.append(correct(token))
    return out
