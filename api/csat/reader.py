"""Reading the customer's answer to the satisfaction question: a number, an emoji or Portuguese free text -> 1..5.

Pure functions, no I/O. `read_rating` returns a `Reading` or None when the message is not a rating (a greeting,
a new request, a CPF, a phone number, a protocol, "obrigado" alone...). The survey asks once more (`CLARIFY`)
when it gets None, then gives up.

Rules, strongest evidence first (the first layer that yields one rating wins):

1. Numbers (`understood_by="number"`). Long digit groups (CPF/CNPJ, phones, protocols, dates: 6+ digits with a
   run of 3+) are never ratings, nor is the scale quoted back ("de 1 a 5"). A number counts when
   - it is a fraction of 5 or 10: "4/5", "8 de 10", "10/10";
   - it has a unit: "5 estrelas", "4 pontos", "5⭐";
   - it follows a cue: "nota 4", "nota: 4", "dou 3", "dou um 5", "daria uns 4", "uns 4", "vale 5",
     "merece 10", "avalio com 4", "foi 10", "nota dez", "nota mil";
   - or it stands on its own: the only word ("5", "4️⃣", "dez"), the start of a clause ("5, mas agora minha
     internet caiu", "obrigado. 5"), or after a thanks word ("valeu 5"),
   and is not tied to something else: "dia 5", "5 dias", "2 via", "3 boletos", "às 10", "R$ 5" are not ratings.
   Scale: 1-5 as they are (4,5 rounds half up to 5); 0 and 6-10 are the Brazilian 0-10 grade, mapped by
   round(1 + 0.4 * n): 0 -> 1, 6 -> 3, 7 -> 4, 8 -> 4, 9 -> 5, 10 -> 5; "x/5" is x, "x/10" is the grade.
   After a cue, 100, 1000, "cem", "mil" are hyperbole for 5 ("nota mil"); any other number above 10 is not
   read ("12" alone is not a rating). Keycap emojis (4️⃣, 🔟) are digits.
2. Stars (`emoji`): the count of ⭐/🌟, at most 5.
3. The scale's emojis (`emoji`): 😡 1 · 😕 2 · 😐 3 · 🙂 4 · 🤩 5. Different scale emojis together (the scale
   pasted back) are ambiguous and not read.
4. Portuguese free text (`lexicon`), see LEXICON below: accents, case, repeated letters ("pessimooo") and one
   typo in the longer words ("exelente", "maravilhozo") do not matter. Greetings ("bom dia", "boa noite") are
   not praise. "muito/super/bem/mt ..." and a following "demais/muito" strengthen bom/boa/ruim/legal/gostei...
   (4 -> 5, 2 -> 1). A negation ("não", "nem", "nunca", "nada", "sem", "n") up to three filler words before a term,
   or "não" right after it ("gostei não"), turns it: 5 -> 3, 4 -> 2, 3 -> 2, 2 -> 4, 1 -> 3 ("não foi bom" 2,
   "não foi ruim" 4, "não foi nada bom" 2: a doubled negation is emphasis, as in Portuguese). Terms of one
   side: the strongest one ("péssimo, demorou demais" 1). Praise and complaint together: their midpoint,
   a half going to the side said last ("ótimo, mas demorou" 3, "bom, mas demorou" 3).
5. Other emojis (`emoji`): 😠 🤬 👿 🤮 💩 1; 😞 😟 ☹️ 🙁 👎 😒 😔 😢 😭 😩 😫 😣 😖 2; 😶 🤷 😑 🫤 3; 😊 👍 👌 ☺️ 😉 4;
   😀 😃 😄 😁 😆 😍 🥰 😘 🥳 ❤️ ♥️ 💙 💚 💛 💜 🧡 💯 👏 🎉 🏆 🔝 5. All on one side: the strongest; both sides:
   not read. 🙏 is thanks (like "obrigado") and not a rating.
6. Weak words (`lexicon`): "ok", "okay", "blz", "beleza" and "certo" alone (3 words at most) are 3 ("ok" is
   neither praise nor complaint); with anything stronger they are ignored ("ok 👍" is 4).

The comment is the customer's words without the rating token (the number with its cue or unit, or the rating
emojis); for free text it is the whole text. No letters or digits left -> None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from niochat.vocabulary import Sentiment, sentiment_of

UnderstoodBy = Literal["number", "emoji", "lexicon"]

SCALE = "😡 1 · 😕 2 · 😐 3 · 🙂 4 · 🤩 5"
CLARIFY = f"Desculpe, não entendi sua nota. Pode responder só com um número de 1 a 5?\n{SCALE}"


@dataclass(frozen=True)
class Reading:
    rating: int
    sentiment: Sentiment
    comment: str | None
    understood_by: UnderstoodBy

    def __post_init__(self) -> None:
        if not 1 <= self.rating <= 5:
            raise ValueError(f"rating out of 1..5: {self.rating}")


def question(company: str) -> str:
    return f"Olá! Aqui é da {company}. Como foi seu atendimento? Responda de 1 a 5:\n{SCALE}"


def thanks_message(rating: int, company: str) -> str:
    if not 1 <= rating <= 5:
        raise ValueError(f"rating out of 1..5: {rating}")
    if rating == 5:
        return f"Que bom! 🤩 Muito obrigado pela sua avaliação. A equipe da {company} fica feliz em ajudar!"
    if rating == 4:
        return f"Obrigado pela sua avaliação! 🙂 A equipe da {company} fica feliz em ter ajudado."
    if rating == 3:
        return (
            f"Obrigado pela sua avaliação. A equipe da {company} segue trabalhando para atender você cada vez melhor."
        )
    return (
        f"Sentimos muito que seu atendimento não tenha sido bom. 😕 Obrigado por nos contar: a equipe da {company} "
        "vai analisar o que aconteceu para melhorar."
    )


# --- normalization -------------------------------------------------------------------------------------------

_ACCENTS = str.maketrans("áàâãäåéèêëíìîïóòôõöúùûüçñ", "aaaaaaeeeeiiiiooooouuuucn")
_DROPPED = {0xFE0E, 0xFE0F, 0x200D, 0x20E3, 0x2640, 0x2642}  # variation selectors, ZWJ, keycap, gender signs
_EXPANDED = {"🔟": "10", "º": "o", "ª": "a"}


def _normalize(text: str) -> tuple[str, list[int]]:
    """Lower case, no accents, emoji modifiers dropped; with each output character's index in `text`."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if code in _DROPPED or 0x1F3FB <= code <= 0x1F3FF or 0x0300 <= code <= 0x036F:
            continue  # skin tones and combining accents too
        piece = _EXPANDED.get(ch)
        if piece is None:
            lowered = ch.lower()
            piece = (lowered if len(lowered) == 1 else ch).translate(_ACCENTS)
        out.append(piece)
        index.extend([i] * len(piece))
    return "".join(out), index


def _blank(text: str, start: int, end: int, fill: str = " ") -> str:
    return text[:start] + fill * (end - start) + text[end:]


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- numbers -------------------------------------------------------------------------------------------------

_WORD_NUMBERS = {
    "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
    "oito": 8, "nove": 9, "dez": 10, "cem": 100, "mil": 1000,
}
_WORD = "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))
_NUM = rf"(?:\d{{1,3}}(?:\.\d{{3}})+|\d+(?:[.,]\d+)?|(?:{_WORD})\b)"
_NUM_START = r"(?<![\w.,/#])"
_NUM_END = r"(?![\w#%]|[.,/:]\d)"
_CUE_WORDS = (
    "nota|notas|dou|daria|dei|dar|darei|vale|merece|mereceu|avalio|avaliacao|avaliaria|avaliar|classifico|foi"
    "|eh|uns|umas|seria"
)
_CUE = rf"\b(?:{_CUE_WORDS})\b[\s:=]*(?:(?:com|um|uma|uns|umas|nota|e|eh|de|o|a)\b[\s:=]*)*"
_FRACTION = re.compile(
    rf"(?:{_CUE})?{_NUM_START}(?P<n>{_NUM})\s*(?:/|\bde\b)\s*(?P<d>5|10|cinco|dez)(?![\w#/]|[.,]\d)"
)
_UNIT = re.compile(rf"(?:{_CUE})?{_NUM_START}(?P<n>{_NUM})\s*(?:estrelas?\b|estrelinhas?\b|pontos?\b|[⭐🌟]+)")
_CUED = re.compile(rf"{_CUE}(?P<n>{_NUM}){_NUM_END}")
_BARE = re.compile(rf"{_NUM_START}(?P<n>\d+(?:[.,]\d+)?){_NUM_END}")
_LONG_NUMBER = re.compile(r"\+?\(?\d[\d.\-/() ]*\d")
_SCALE_QUOTED = re.compile(r"(?:\bde\s+)?(?<![\w.,/])[01]\s*(?:a|ate)\s*(?:5|10)(?![\w.,/])")
_WORDS = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+")
_SEPARATOR = re.compile(r"[,;:!?.\n\-–—|·()]")

# A number next to these is a date, an amount, a count of something: not a rating.
_NOT_AFTER = frozenset(
    "dia dias as ha faz vence venceu vencimento r rs reais numero n no na nr protocolo cpf cnpj contrato codigo "
    "fatura faturas plano de do da dos das em ate para pra por com mes ano opcao item parcela parcelas boleto "
    "boletos apto casa rua bloco lote quadra km".split()
)
_UNITS = frozenset(
    "minuto minutos min mins hora horas h hr hrs dia dias semana semanas mes meses ano anos vez vezes reais real "
    "conto contos pila mega megas mb gb giga gigas kb via vias boleto boletos fatura faturas conta contas parcela "
    "parcelas pessoa pessoas tecnico tecnicos aparelho aparelhos equipamento equipamentos roteador roteadores "
    "chamado chamados protocolo protocolos duvida duvidas pergunta perguntas problema problemas coisa coisas "
    "mensagem mensagens msg msgs numero numeros contrato contratos tentativa tentativas ligacao ligacoes x "
    "horario horarios andar am pm de da do".split()
)
_THANKS = frozenset("obrigado obrigada obg obgd brigado brigada valeu vlw grato grata agradeco".split())


Candidate = tuple[int, tuple[int, int]]  # (rating, span in the normalized text)


def _number_value(raw: str) -> Decimal | None:
    if raw in _WORD_NUMBERS:
        return Decimal(_WORD_NUMBERS[raw])
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):
        return Decimal(raw.replace(".", ""))
    try:
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def _scaled(raw: str, denominator: str | None = None, hyperbole: bool = False) -> int | None:
    value = _number_value(raw)
    if value is None or value < 0:
        return None
    if denominator in ("5", "cinco"):
        return max(1, _round(value)) if value <= 5 else None
    if denominator in ("10", "dez") or value == 0 or 5 < value <= 10:
        return _round(1 + Decimal("0.4") * value) if value <= 10 else None
    if value <= 5:
        return max(1, _round(value))
    if hyperbole and value == value.to_integral_value() and re.fullmatch(r"10+", str(int(value))):
        return 5
    return None


def _next_word(text: str, end: int) -> str | None:
    match = re.match(r"[ \t]*([a-z]+)", text[end:])
    return match.group(1) if match else None


def _number_candidates(text: str) -> tuple[list[Candidate], list[Candidate], list[tuple[int, int]]]:
    """(explicit, bare) candidates and the spans of the scale quoted back ("de 1 a 5"). Explicit candidates have
    a fraction, a unit or a cue."""
    work = text
    for match in _LONG_NUMBER.finditer(work):
        digits = re.findall(r"\d+", match.group())
        if sum(map(len, digits)) >= 6 and max(map(len, digits)) >= 3:
            work = _blank(work, match.start(), match.end(), "#")
    quoted = [match.span() for match in _SCALE_QUOTED.finditer(work)]
    for span in quoted:
        work = _blank(work, *span)
    explicit: list[Candidate] = []
    for pattern in (_FRACTION, _UNIT, _CUED):
        for match in pattern.finditer(work):
            following = _next_word(work, match.end())
            if pattern is not _UNIT and following in _UNITS:
                continue
            if pattern is _CUED and match.group("n") in ("um", "uma") and following is not None:
                continue  # "foi um lixo", "dou uma olhada": an article, not a rating
            denominator = match.group("d") if pattern is _FRACTION else None
            rating = _scaled(match.group("n"), denominator, hyperbole=pattern is not _FRACTION)
            if rating is not None:
                explicit.append((rating, match.span()))
            work = _blank(work, *match.span())
    words = list(_WORDS.finditer(work))
    bare: list[Candidate] = []
    for i, word in enumerate(words):
        raw = word.group()
        if raw in _WORD_NUMBERS:
            if len(words) == 1:
                rating = _scaled(raw)
                if rating is not None:
                    bare.append((rating, word.span()))
            continue
        if not raw[0].isdigit() or not (match := _BARE.match(work, word.start())) or match.end() != word.end():
            continue
        before = work[words[i - 1].end():word.start()] if i else ""
        after = work[word.end():words[i + 1].start()] if i + 1 < len(words) else ""
        prev_word = words[i - 1].group() if i else None
        next_word = words[i + 1].group() if i + 1 < len(words) else None
        if next_word in _UNITS and not _SEPARATOR.search(after):
            continue
        if prev_word in _NOT_AFTER and not _SEPARATOR.search(before):
            continue
        starts_clause = i == 0 or bool(_SEPARATOR.search(before))
        after_thanks = prev_word in _THANKS and next_word is None
        if len(words) == 1 or starts_clause or after_thanks:
            rating = _scaled(raw)
            if rating is not None:
                bare.append((rating, word.span()))
    return explicit, bare, quoted


# --- emojis --------------------------------------------------------------------------------------------------

_SCALE_EMOJIS = {"😡": 1, "😕": 2, "😐": 3, "🙂": 4, "🤩": 5}
_OTHER_EMOJIS = {
    **dict.fromkeys("😠🤬👿🤮💩", 1),
    **dict.fromkeys("😞😟☹🙁👎😒😔😢😭😩😫😣😖", 2),
    **dict.fromkeys("😶🤷😑🫤", 3),
    **dict.fromkeys("😊👍👌☺😉", 4),
    **dict.fromkeys("😀😃😄😁😆😍🥰😘🥳❤♥💙💚💛💜🧡💯👏🎉🏆🔝", 5),
}
_STARS = "⭐🌟"


def _one_side(ratings: list[int]) -> int | None:
    """All praise -> the strongest praise; all complaint -> the strongest complaint; mixed -> None."""
    if all(r >= 4 for r in ratings):
        return max(ratings)
    if all(r <= 2 for r in ratings):
        return min(ratings)
    return 3 if all(r == 3 for r in ratings) else None


# --- lexicon -------------------------------------------------------------------------------------------------


def _key(word: str) -> str:
    """Repeated letters count once: "pessimooo", "pesimo" and "péssimo" have one key."""
    return re.sub(r"(.)\1+", r"\1", word)


# rating -> terms. "+": intensifiers strengthen it; "~": one typo is tolerated; "=": a set phrase that carries its
# own negation ("nada a reclamar", "nem bom nem ruim"), not turned by a "não" before it.
LEXICON: dict[int, tuple[str, ...]] = {
    5: (
        "~otimo", "~otima", "~excelente", "~perfeito", "~perfeita", "~maravilhoso", "~maravilhosa", "~sensacional",
        "~incrivel", "~espetacular", "~fantastico", "~fantastica", "~excepcional", "~impecavel", "show", "top",
        "topzera", "amei", "adorei", "nota dez", "show de bola", "da hora", "daora", "foi demais", "ta demais",
        "=nada a reclamar", "=sem reclamacao", "=sem reclamacoes", "=nao tenho do que reclamar",
        "=nao poderia ser melhor", "=nao podia ser melhor", "=nao tem como ser melhor", "melhor atendimento",
        "o melhor", "nota mil", "extraordinario", "supimpa", "~magnifico", "brabo", "muito satisfeito",
        "muito satisfeita",
    ),
    4: (
        "+bom", "+boa", "+bao", "+legal", "+gostei", "resolveu", "resolvido", "resolvida", "solucionou",
        "solucionado", "+satisfeito", "+satisfeita", "~satisfatorio", "+rapido", "+rapida", "rapidinho", "agil",
        "+eficiente", "+~atencioso", "+~atenciosa", "+~educado", "+~educada", "+prestativo", "+prestativa", "tranquilo",
        "de boa", "tudo certo", "+bem atendido", "+bem atendida", "funcionou", "ajudou", "me ajudou", "bacana",
        "joia", "massa", "gostoso", "eficaz", "cordial", "simpatico", "simpatica", "valeu a pena",
    ),
    3: (
        "mais ou menos", "mais o menos", "mas ou menos", "meio termo", "~razoavel", "~normal", "regular",
        "mediano", "mediana", "medio", "media", "~aceitavel", "poderia ser melhor", "podia ser melhor",
        "pode melhorar", "podia melhorar", "poderia melhorar", "tanto faz", "=nada demais", "=nem bom nem ruim",
        "=nem ruim nem bom", "so ok", "meh", "indiferente",
    ),
    2: (
        "+ruim", "+ruin", "+rium", "+chato", "+chata", "demorou", "demorado", "demorada", "demora", "demorou demais",
        "demorou muito", "lento", "lenta", "fraco", "fraca", "deixou a desejar", "meia boca", "+insatisfeito",
        "+insatisfeita", "+mal atendido", "+mal atendida", "complicado", "complicada", "confuso", "confusa",
        "dificil", "~decepcionado", "~decepcionada", "decepcao", "~decepcionante", "=sem solucao", "=nao ajudou",
        "ruinzinho", "enrolaram", "enrolacao", "enrolado", "demorado demais",
    ),
    1: (
        "~pessimo", "~pessima", "~horrivel", "orrivel", "~terrivel", "~horroroso", "~horrorosa", "lixo", "um lixo",
        "merda", "uma merda", "bosta", "uma bosta", "porcaria", "pior", "o pior", "pior atendimento", "absurdo",
        "absurda", "vergonha", "uma vergonha", "~vergonhoso", "~ridiculo", "~ridicula", "odiei", "~desrespeito",
        "palhacada", "descaso", "~lamentavel", "desastre", "nunca mais", "grosso", "grossa", "~grosseiro",
        "~grosseira", "mal educado", "mal educada", "~incompetente", "~incompetentes", "nota zero",
        "~deploravel", "~inaceitavel",
    ),
}
_WEAK = {"ok": 3, "okay": 3, "okey": 3, "blz": 3, "beleza": 3, "certo": 3}

_TERMS: dict[tuple[str, ...], tuple[int, bool]] = {}  # words -> (rating, intensifiable)
_FIXED: set[tuple[str, ...]] = set()
_FUZZY: dict[str, list[str]] = {}  # first letter -> words that tolerate a typo
for _rating, _entries in LEXICON.items():
    for _entry in _entries:
        _plain = _entry.lstrip("+~=")
        _marks = _entry[: len(_entry) - len(_plain)]
        _term = tuple(_key(w) for w in _plain.split())
        _TERMS[_term] = (_rating, "+" in _marks)
        if "=" in _marks:
            _FIXED.add(_term)
        if "~" in _marks:
            _FUZZY.setdefault(_term[0][0], []).append(_term[0])
_LONGEST = max(len(term) for term in _TERMS)

_NEGATORS = frozenset({"nao", "naum", "nem", "nunca", "jamais", "nada", "n", "nenhum", "nenhuma", "sem"})
_FILLERS = frozenset(
    "foi era e eh esta estava ta tava ficou fiquei fui me muito mt mto tao tanto la assim tinha achei acho sou ser "
    "seu sua o a um uma atendimento atendente isso mesmo tipo pouco nos voces vcs".split()
)
_INTENSIFIERS = frozenset("muito mt mto muit mega super bem extremamente bastante tao demais".split())
_AFTER_INTENSIFIERS = frozenset({"demais", "muito", "mt", "mto", "dmais", "dms"})
_NEGATED = {5: 3, 4: 2, 3: 2, 2: 4, 1: 3}
_GREETINGS = re.compile(
    r"\b(?:bo[mn]+\s+dia|boa\s+tarde|boa\s+noite|bom\s+(?:fim|final)\s+de\s+semana|boa\s+semana|boa\s+sorte)\b"
)
_PLUS_MINUS = re.compile(r"\+\s*(?:ou|/|-)?\s*-")


def _damerau_one(a: str, b: str) -> bool:
    """Whether a and b differ by at most one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _lookup(word: str) -> tuple[int, bool] | None:
    found = _TERMS.get((word,))
    if found is None and len(word) >= 4:
        for candidate in _FUZZY.get(word[0], ()):
            if _damerau_one(word, candidate):
                return _TERMS[(candidate,)]
    return found


@dataclass(frozen=True)
class _Hit:
    rating: int
    start: int  # word indexes
    end: int


def _lexicon_hits(text: str) -> tuple[list[_Hit], int | None]:
    """The rated terms in free text, negations and intensifiers applied; and the weak words' rating."""
    text = _PLUS_MINUS.sub(" mais ou menos ", _GREETINGS.sub(" ", text))
    matches = list(re.finditer(r"[a-z]+", text))
    words = [_key(m.group()) for m in matches]
    hits: list[_Hit] = []
    i = 0
    while i < len(words):
        found = None
        for size in range(min(_LONGEST, len(words) - i), 1, -1):
            if (term := _TERMS.get(tuple(words[i:i + size]))) is not None:
                found = (term, size)
                break
        if found is None and (term := _lookup(words[i])) is not None:
            found = (term, 1)
        if found is None:
            i += 1
            continue
        (rating, intensifiable), size = found
        end = i + size
        negated = False
        j, gap = i - 1, 0
        fixed = tuple(words[i:end]) in _FIXED
        while not fixed and j >= 0 and gap <= 3 and not any(h.start <= j < h.end for h in hits):
            if words[j] in _NEGATORS:
                negated = True
                break
            if words[j] not in _FILLERS:
                break
            j, gap = j - 1, gap + 1
        if not fixed and end < len(words) and words[end] in ("nao", "naum") and not _SEPARATOR.search(
            text[matches[end - 1].end():matches[end].start()]
        ):
            negated, end = True, end + 1
        if negated:
            rating = _NEGATED[rating]
        elif intensifiable and (
            (i > 0 and words[i - 1] in _INTENSIFIERS) or (end < len(words) and words[end] in _AFTER_INTENSIFIERS)
        ):
            rating = {4: 5, 2: 1}.get(rating, rating)
        hits.append(_Hit(rating, i, end))
        i = end
    weak = None
    if not hits and len(words) <= 3:
        weak_ratings = [_WEAK[w] for w in words if w in _WEAK]
        weak = weak_ratings[0] if weak_ratings else None
    return hits, weak


def _combine(hits: list[_Hit]) -> int:
    praise = [h for h in hits if h.rating >= 4]
    complaint = [h for h in hits if h.rating <= 2]
    if praise and complaint:
        total = max(h.rating for h in praise) + min(h.rating for h in complaint)
        if total % 2 == 0:
            return total // 2
        last = max(praise + complaint, key=lambda h: h.start)
        return total // 2 + (1 if last.rating >= 4 else 0)
    if praise:
        return max(h.rating for h in praise)
    if complaint:
        return min(h.rating for h in complaint)
    return 3


# --- reading -------------------------------------------------------------------------------------------------

_LEADING = " \t\r\n,.;:-–—!·|/"
_TRAILING = " \t\r\n,;:-–—·|/"


def _comment(original: str, index: list[int], spans: list[tuple[int, int]]) -> str | None:
    """The original text without the normalized `spans` (the rating tokens), tidied; None without words."""
    pieces, last = [], 0
    for start, end in sorted(spans):
        if start >= len(index):
            continue
        first = index[start]
        stop = index[end] if end < len(index) else len(original)
        pieces.append(original[last:first])
        last = max(last, stop)
    pieces.append(original[last:])
    text = "".join(pieces).strip()
    if spans:  # tidy what the removal left: doubled spaces, a separator before or after nothing
        text = re.sub(r"[ \t]{2,}", " ", text)
        text = re.sub(r"[ \t]+([,.;:!?])", r"\1", text).lstrip(_LEADING).rstrip(_TRAILING)
    return text if any(ch.isalnum() for ch in text) else None


def _reading(rating: int, comment: str | None, understood_by: UnderstoodBy) -> Reading:
    return Reading(rating, sentiment_of(rating), comment, understood_by)


def read_rating(text: str) -> Reading | None:
    """The 1..5 rating in the customer's answer, or None when the message is not a rating (see the module doc)."""
    if not text or not text.strip():
        return None
    norm, index = _normalize(text)

    explicit, bare, quoted = _number_candidates(norm)
    for candidates in (explicit, bare):
        if candidates and len({rating for rating, _ in candidates}) == 1:
            spans = [span for _, span in candidates] + quoted
            return _reading(candidates[0][0], _comment(text, index, spans), "number")
        if candidates:
            break  # different numbers: ambiguous, let the other layers try

    emoji_spans = [(i, i + 1) for i, ch in enumerate(norm) if ch in _STARS or ch in _SCALE_EMOJIS
                   or ch in _OTHER_EMOJIS]
    stars = sum(norm.count(star) for star in _STARS)
    if stars:
        return _reading(min(stars, 5), _comment(text, index, emoji_spans), "emoji")
    on_scale = {_SCALE_EMOJIS[ch] for ch in norm if ch in _SCALE_EMOJIS}
    if len(on_scale) == 1:
        return _reading(on_scale.pop(), _comment(text, index, emoji_spans), "emoji")

    hits, weak = _lexicon_hits(norm)
    if hits:
        return _reading(_combine(hits), _comment(text, index, []), "lexicon")

    others = [_OTHER_EMOJIS[ch] for ch in norm if ch in _OTHER_EMOJIS]
    if not on_scale and others and (rating := _one_side(others)) is not None:
        return _reading(rating, _comment(text, index, emoji_spans), "emoji")

    if weak is not None:
        return _reading(weak, _comment(text, index, []), "lexicon")
    return None
