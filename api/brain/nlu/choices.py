"""Answers to what the bot offered: a numbered menu, or one of the customer's contracts."""

from __future__ import annotations

import re

from api.brain.nlu.text import normalize, osa_distance

_NUMBERS = {
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8,
    "nove": 9, "dez": 10,
    "primeiro": 1, "primeira": 1, "segundo": 2, "segunda": 2, "terceiro": 3, "terceira": 3, "quarto": 4, "quarta": 4,
    "quinto": 5, "quinta": 5, "sexto": 6, "sexta": 6, "setimo": 7, "setima": 7, "oitavo": 8, "oitava": 8,
    "nono": 9, "nona": 9, "decimo": 10, "decima": 10,
}
_LAST = {"ultimo", "ultima", "ultma", "ultino"}
_NOT_ORDINAL_AFTER = {"via", "vias", "vai", "vis", "feira"}  # "segunda via", "sexta feira"
_ALL_OR_NONE = {"ambos", "ambas", "todos", "todas", "nenhum", "nenhuma", "tanto"}
_FILLERS = frozenset(
    "a o as os opcao opcoes op opc numero num no nr item quero queria escolho prefiro vou de da do com fico pode ser "
    "e eh essa esse esta este isso favor por pf pfv pfvr obrigado obrigada obg sim ok mesmo seria acho que la ai so "
    "ta bom entao hm hmm manda mandar me pra para mim plano contrato endereco conta boleto fatura alternativa linha "
    "resposta escolha aqui n".split())
_TOKEN = re.compile(r"\d+|[a-z]+")
_LEADING_NUMBER = re.compile(r"^(\d{1,2})(?:[\s).:\-]|$)")
_LABEL_STOPWORDS = frozenset(
    "a o as os de da das do dos e em no na nos nas n r rua av avenida al alameda tv travessa rod rodovia estrada "
    "bairro casa apto ap apartamento bloco bl lote quadra qd lt numero num mb mega megas mbps plano contrato "
    "internet quero ser pode sim o um uma pra para com esse essa aquele aquela que".split())


def menu_choice(text: str, options: int) -> int | None:
    """The 1-based option a customer picked from a numbered menu ("2", "2)", "opcao 2", "a segunda", "dois",
    "2️⃣"), or None when the message is not a (single, in range) pick."""
    normalized = normalize(text)
    tokens = _TOKEN.findall(normalized)
    if not tokens or options < 1:
        return None
    picks: set[int] = set()
    loose = False  # a word that is neither a pick nor a filler
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        previous = tokens[i - 1] if i else ""
        if token.isdigit():
            picks.add(int(token))
        elif token in _LAST:
            picks.add(options)
        elif token in _NUMBERS and following not in _NOT_ORDINAL_AFTER:
            if token in ("um", "uma") and len(tokens) > 1 and previous not in ("opcao", "numero", "o", "a", "op"):
                continue  # an article, not a number
            if (previous, token) in (("os", "dois"), ("as", "duas")):
                return None
            picks.add(_NUMBERS[token])
        elif token in _ALL_OR_NONE:
            return None
        elif token not in _FILLERS:
            loose = True
    if len(picks) > 1:
        return None
    if loose:
        leading = _LEADING_NUMBER.match(normalized)  # "2) internet lenta": the customer copied the option
        picks = {int(leading.group(1))} if leading else set()
    if len(picks) != 1:
        return None
    pick = picks.pop()
    return pick if 1 <= pick <= options else None


def _words(text: str) -> set[str]:
    return {w for w in _TOKEN.findall(normalize(text)) if w not in _LABEL_STOPWORDS and (w.isdigit() or len(w) > 1)}


def _mentions(said: set[str], word: str) -> bool:
    if word in said:
        return True
    if word.isdigit() or len(word) < 5:
        return False
    return any(w[0] == word[0] and osa_distance(w, word, 1) <= 1 for w in said if len(w) >= 4)


def _plain_id(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalize(value))


def contract_choice(text: str, contracts: list[tuple[str, str]]) -> str | None:
    """The contract id the customer meant: by menu number, by id, or by words of its label ("o da rua das flores",
    "fibra 300"); None when nothing or more than one contract fits."""
    if not contracts:
        return None
    normalized = normalize(text)
    said_plain = {_plain_id(t) for t in re.split(r"[\s,;]+", normalized) if t}
    by_id = [cid for cid, _ in contracts if _plain_id(cid) and _plain_id(cid) in said_plain]
    pick = menu_choice(text, len(contracts))
    long_id = [cid for cid in by_id if len(_plain_id(cid)) >= 3]
    if len(set(long_id)) == 1:
        return long_id[0]
    if pick is not None:
        return contracts[pick - 1][0]
    if len(set(by_id)) == 1:
        return by_id[0]

    said = _words(text)
    labels = [_words(label) for _, label in contracts]
    shared = set.intersection(*labels) if len(labels) > 1 else set()
    scores = [sum(1 for word in label - shared if _mentions(said, word)) for label in labels]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return contracts[scores.index(best)][0]
