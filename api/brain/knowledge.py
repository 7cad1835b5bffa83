"""Answers from the provider's knowledge base: BM25 (bm25s) over accent-folded words, typos mapped to the base's
closest word (rapidfuzz), and a threshold under which the bots say they don't know instead of guessing.

Entries are short (a title, aliases, a paragraph), questions shorter: a word's presence matters more than its
frequency, so the BM25 scores are read with a second test, the share of the question's words the best entry
holds. One index per tenant lives in this process, rebuilt when the base changes (its row count and latest
update).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import bm25s
from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.brain.nlu.text import normalize
from niochat.tables import knowledge_entries

MIN_SCORE = 0.9  # BM25 score of the best entry
MIN_SHARE = 0.6  # share of the question's words the best entry holds
MIN_SHARE_IN_CATEGORY = 0.4  # when the topic is known already (the question came with an action of that topic)
FUZZY_CUTOFF = 85  # rapidfuzz ratio for a typo to count as the base's word ("istalacao" -> "instalacao")
FUZZY_MIN_LENGTH = 5  # shorter words are too easy to confuse
TOP = 3

_WORDS = re.compile(r"[a-z]+|\d+")
# Words that say nothing about the topic: greetings, question words, articles, pronouns, common verbs.
STOPWORDS = frozenset("""
a o os as um uma uns umas de do da dos das no na nos nas em por pra para pro com sem e ou que se me te
meu minha seu sua voces voce vcs vc eu ele ela nos gente isso esse essa este esta aqui ai la ja so tambem
qual quais quanto quanta quantos quantas como onde quando porque pq oi ola bom boa dia tarde noite tudo bem
obrigado obrigada favor por ser ter tem tenho temos e esta estou sao fica ficam vai vou queria quero gostaria
saber sobre mais muito pouco algum alguma nao sim ok
faco faz fazer posso pode mes semana vem hoje amanha agora logo qnto qto internet net
""".split())


def fold(text: str) -> str:
    return normalize(text)


def _stem(word: str) -> str:
    """Plurals as the singular ("planos" -> "plano", "instalacoes" -> "instalacao"), so either finds the other."""
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix, replacement in (("coes", "cao"), ("oes", "ao"), ("aes", "ao"), ("is", "l"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    return word


def words(text: str) -> list[str]:
    """The topic words of a text: folded, stemmed, without stopwords."""
    return [_stem(w) for w in _WORDS.findall(fold(text)) if w not in STOPWORDS]


@dataclass(frozen=True)
class Entry:
    id: uuid.UUID
    category: str
    title: str
    answer: str
    keywords: tuple[str, ...] = ()
    neighbourhoods: tuple[str, ...] = ()
    cep_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float
    share: float


class Index:
    def __init__(self, entries: list[Entry]):
        self.entries = entries
        # the title and aliases twice: they say what an entry is about; the answer once (its places, its words)
        self.documents = [
            words(f"{e.title} {e.title} {' '.join(e.keywords)} {' '.join(e.keywords)} {e.answer} "
                  f"{' '.join(e.neighbourhoods)}")
            for e in entries
        ]
        self.vocabulary = sorted({w for document in self.documents for w in document})
        self._known = frozenset(self.vocabulary)
        self._bm25 = bm25s.BM25()
        if entries:
            self._bm25.index([document or [""] for document in self.documents], show_progress=False)

    def _spell(self, word: str) -> str | None:
        if word in self._known:
            return word
        if len(word) < FUZZY_MIN_LENGTH or word.isdigit():
            return None
        found = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else None

    def query_words(self, question: str) -> tuple[list[str], int]:
        """The question's words as the base spells them, and how many topic words the question had."""
        asked = list(dict.fromkeys(words(question)))
        return [w for w in (self._spell(word) for word in asked) if w], len(asked)

    def search(self, question: str, *, category: str | None = None, top: int = TOP) -> list[Match]:
        """The best entries above the threshold, best first; [] when none answers the question."""
        query, asked = self.query_words(question)
        if not self.entries or not query:
            return []
        scores = self._bm25.get_scores(query)
        ranked = sorted(range(len(self.entries)), key=lambda n: -scores[n])
        found = []
        for n in ranked:
            entry = self.entries[n]
            if category and entry.category != category:
                continue
            share = len(set(query) & set(self.documents[n])) / asked
            if scores[n] < MIN_SCORE or share < (MIN_SHARE_IN_CATEGORY if category else MIN_SHARE):
                continue
            found.append(Match(entry, float(scores[n]), share))
            if len(found) == top:
                break
        return found

    # --- coverage ---------------------------------------------------------------------------------------------

    def coverage(self, place: str) -> tuple[str, Entry | None]:
        """("covered", entry) when a neighbourhood or CEP of the place is covered, ("not_covered", None) when the
        place names a CEP or words the base does not cover, ("no_place", None) when it names nothing, and
        ("no_coverage_data", None) when the base lists no covered place at all (a person checks)."""
        digits = re.sub(r"\D", "", place)
        areas = [e for e in self.entries if e.category == "cobertura" and (e.neighbourhoods or e.cep_prefixes)]
        if not areas:
            return "no_coverage_data", None
        if len(digits) == 8:
            entry = next((e for e in areas if any(digits.startswith(p) for p in e.cep_prefixes)), None)
            return ("covered", entry) if entry else ("not_covered", None)
        folded = " " + " ".join(_WORDS.findall(fold(place))) + " "
        names = [(fold(name), e) for e in areas for name in e.neighbourhoods]
        for name, entry in sorted(names, key=lambda pair: -len(pair[0])):  # "boa vista" before "vista"
            if f" {name} " in folded:
                return "covered", entry
        topic = [w for w in _WORDS.findall(fold(place)) if w not in STOPWORDS and w not in PLACE_WORDS]
        if not topic:
            return "no_place", None
        candidate = " ".join(topic)
        found = process.extractOne(candidate, [name for name, _ in names], scorer=fuzz.ratio, score_cutoff=85)
        if found:
            return "covered", names[found[2]][1]
        return "not_covered", None


# Words around a place that are not its name: "no bairro", "moro em", "rua", "cep"
PLACE_WORDS = frozenset(
    "bairro moro morar mora fico casa rua avenida av cep endereco atende atendem chega regiao internet fibra "
    "plano contratar cobertura tem la area cidade".split()
)


# One index per tenant (a few dozen entries each): rebuilt in place when the tenant's base changes.
_INDEXES: dict[uuid.UUID, tuple[tuple, Index]] = {}


async def index_for(conn: AsyncConnection, tenant_id: uuid.UUID) -> Index:
    """The tenant's index, rebuilt when an entry was added, changed, switched off or deleted."""
    version = tuple((await conn.execute(
        select(func.count(), func.max(knowledge_entries.c.updated_at))
        .where(knowledge_entries.c.tenant_id == tenant_id)
    )).one())
    cached = _INDEXES.get(tenant_id)
    if cached and cached[0] == version:
        return cached[1]
    rows = (await conn.execute(
        select(knowledge_entries).where(knowledge_entries.c.tenant_id == tenant_id, knowledge_entries.c.is_active)
        .order_by(knowledge_entries.c.created_at, knowledge_entries.c.id)
    )).all()
    index = Index([
        Entry(r.id, r.category, r.title, r.answer, tuple(r.keywords), tuple(r.neighbourhoods), tuple(r.cep_prefixes))
        for r in rows
    ])
    _INDEXES[tenant_id] = (version, index)
    return index
