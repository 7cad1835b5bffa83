"""Reading the customer's answer to the satisfaction survey: numbers, emojis, free Portuguese text, and what is
not a rating at all. Each table row is one way customers really answer."""

from __future__ import annotations

import time

import pytest

from api.csat.reader import CLARIFY, SCALE, Reading, question, read_rating, thanks_message
from niochat.vocabulary import sentiment_of

# (text, rating, comment)
NUMBERS = [
    ("5", 5, None),
    ("1", 1, None),
    ("3.", 3, None),
    ("4!", 4, None),
    (" 2 ", 2, None),
    ("nota 4", 4, None),
    ("Nota: 3", 3, None),
    ("NOTA 5", 5, None),
    ("4/5", 4, None),
    ("3 de 5", 3, None),
    ("dou 3", 3, None),
    ("dou um 5", 5, None),
    ("daria uns 4", 4, None),
    ("uns 4", 4, None),
    ("avalio com 4", 4, None),
    ("5 estrelas", 5, None),
    ("cinco estrelas", 5, None),
    ("5⭐", 5, None),
    ("4️⃣", 4, None),
    ("🔟", 5, None),
    ("cinco", 5, None),
    ("nota dois", 2, None),
    ("de 1 a 5 dou 4", 4, None),
    ("4,5", 5, None),
    ("5 obrigado", 5, "obrigado"),
    ("valeu 5", 5, "valeu"),
    ("Obrigado pelo atendimento. 5", 5, "Obrigado pelo atendimento."),
    ("4 - atendente muito educado.", 4, "atendente muito educado."),
    ("Nota 10!! Atendente muito educada", 5, "Atendente muito educada"),
    ("atendimento excelente, nota 10", 5, "atendimento excelente"),
]

# Brazilians grade 0-10 at school: 1-5 stay on the survey's scale, 0 and 6-10 are round(1 + 0.4 n).
ZERO_TO_TEN = [
    ("nota 10", 5, None),
    ("nota dez", 5, None),
    ("10/10", 5, None),
    ("10", 5, None),
    ("dez", 5, None),
    ("foi 10", 5, None),
    ("merece um 10", 5, None),
    ("nota 9", 5, None),
    ("9/10", 5, None),
    ("nota 8", 4, None),
    ("8 de 10", 4, None),
    ("7", 4, None),
    ("nota 6", 3, None),
    ("5/10", 3, None),
    ("nota 0", 1, None),
    ("nota zero", 1, None),
    ("0", 1, None),
    ("nota mil", 5, None),
    ("nota 1000", 5, None),
    ("nota 100", 5, None),
    ("nota 9,5", 5, None),
]

# (text, rating, comment): understood_by "emoji"
EMOJIS = [
    ("😡", 1, None),
    ("😕", 2, None),
    ("😐", 3, None),
    ("🙂", 4, None),
    ("🤩", 5, None),
    ("🤩🤩🤩", 5, None),
    ("😠", 1, None),
    ("🤬", 1, None),
    ("😞", 2, None),
    ("😟", 2, None),
    ("☹️", 2, None),
    ("🙁", 2, None),
    ("👎", 2, None),
    ("👎🏽", 2, None),
    ("😶", 3, None),
    ("🤷‍♂️", 3, None),
    ("😊", 4, None),
    ("👍", 4, None),
    ("👍🏻", 4, None),
    ("👌", 4, None),
    ("😀", 5, None),
    ("😃", 5, None),
    ("😄", 5, None),
    ("😁", 5, None),
    ("😍", 5, None),
    ("🥰", 5, None),
    ("❤️", 5, None),
    ("❤", 5, None),
    ("💯", 5, None),
    ("👏👏", 5, None),
    ("⭐⭐⭐⭐", 4, None),
    ("⭐⭐⭐⭐⭐ perfeito", 5, "perfeito"),
    ("🌟🌟", 2, None),
    ("🤩 adorei o atendimento", 5, "adorei o atendimento"),
    ("Obrigado!!!! 😍", 5, "Obrigado!!!!"),
    ("😡 demorou demais", 1, "demorou demais"),
    ("ok 👍", 4, "ok"),
    ("😍🥰👏", 5, None),
    ("😞😡", 1, None),
]

# (text, rating): free Portuguese, understood_by "lexicon", the comment is the whole text
FREE_TEXT = [
    ("foi ótimo", 5),
    ("Ótimo atendimento!", 5),
    ("excelente atendimento", 5),
    ("perfeito, resolveu rapidinho", 5),
    ("top demais", 5),
    ("muito bom", 5),
    ("mt bom", 5),
    ("bom demais", 5),
    ("show de bola", 5),
    ("amei", 5),
    ("nada a reclamar", 5),
    ("não poderia ser melhor", 5),
    ("a moça foi super atenciosa", 5),
    ("valeu, foi top", 5),
    ("boa noite, foi ótimo", 5),
    ("bom", 4),
    ("gostei", 4),
    ("resolveu", 4),
    ("foi bom, obrigado", 4),
    ("fui bem atendido", 4),
    ("rápido e eficiente", 4),
    ("tudo certo", 4),
    ("mais ou menos", 3),
    ("+ ou -", 3),
    ("razoável", 3),
    ("normal", 3),
    ("ok", 3),
    ("Ok obrigado", 3),
    ("beleza", 3),
    ("podia ser melhor", 3),
    ("nem bom nem ruim", 3),
    ("ótimo, mas demorou", 3),
    ("bom, mas demorou", 3),
    ("ruim", 2),
    ("demorou demais", 2),
    ("não resolveu", 2),
    ("não gostei", 2),
    ("deixou a desejar", 2),
    ("meia boca", 2),
    ("fiquei insatisfeito", 2),
    ("péssimo, demorou demais", 1),
    ("horrível", 1),
    ("um lixo", 1),
    ("foi um lixo", 1),
    ("pior atendimento", 1),
    ("muito ruim", 1),
    ("bem ruim", 1),
    ("atendente grossa", 1),
    ("uma vergonha", 1),
    ("PESSIMO ATENDIMENTO", 1),
]

NEGATIONS = [
    ("não foi bom", 2),
    ("nada bom", 2),
    ("não foi nada bom", 2),
    ("nao foi muito bom", 2),
    ("n gostei", 2),
    ("gostei não", 2),
    ("não me ajudou", 2),
    ("não resolveu nada", 2),
    ("não foi ruim", 4),
    ("não demorou", 4),
    ("sem demora", 4),
    ("não deixou a desejar", 4),
    ("não foi péssimo", 3),
    ("não foi nada demais", 3),
    ("não tenho nada a reclamar", 5),
]

TYPOS = [
    ("otimo", 5),
    ("otmo", 5),
    ("ótimoooo", 5),
    ("exelente", 5),
    ("excelenteee!!!", 5),
    ("maravilhozo", 5),
    ("perfeitu", 5),
    ("pessimo", 1),
    ("pesimo", 1),
    ("PESSIMOOO", 1),
    ("orrivel", 1),
    ("horrivelll", 1),
    ("ruinnn", 2),
    ("muiiito bom", 5),
    ("razoavel", 3),
    ("mais o menos", 3),
    ("boom", 4),
]

# A rating and a new request in the same message: both are kept (the comment carries the request).
MIXED = [
    ("nota 5, mas agora minha internet caiu", 5, "mas agora minha internet caiu"),
    ("5. Agora preciso da segunda via", 5, "Agora preciso da segunda via"),
    ("4\nminha internet tá lenta", 4, "minha internet tá lenta"),
    ("nota 3 e quero falar com o financeiro", 3, "e quero falar com o financeiro"),
    ("10/10! Aproveitando, qual o valor da fatura?", 5, "Aproveitando, qual o valor da fatura?"),
    ("😡 e minha internet continua caindo", 1, "e minha internet continua caindo"),
]

NOT_RATINGS = [
    "",
    "   ",
    "oi",
    "Oi, boa tarde",
    "bom dia",
    "boa noite, tudo bem?",
    "minha internet caiu",
    "quero a segunda via",
    "segunda via do boleto por favor",
    "quero a 2 via",
    "2a via",
    "529.982.247-25",
    "meu cpf é 529.982.247-25",
    "52998224725",
    "(11) 98765-4321",
    "+55 11 98765-4321",
    "11987654321",
    "protocolo 2611240001",
    "0800 123 4567",
    "obrigado",
    "Obrigada!",
    "muito obrigado pelo atendimento",
    "valeu",
    "🙏",
    "obrigado 🙏",
    "12",
    "11",
    "1000",
    "nota 12",
    "5 dias sem internet",
    "paguei dia 10",
    "às 10 horas",
    "R$ 5,00",
    "plano de 100 mega",
    "tenho 2 boletos",
    "uns 4 dias",
    "sim",
    "não",
    "qual o valor da fatura?",
    "dou uma olhada depois",
    "certo, vou aguardar o técnico",
    "ok, quero a segunda via",
    "😡 1 · 😕 2 · 😐 3 · 🙂 4 · 🤩 5",
]


def _check(text: str, rating: int, comment, understood_by: str) -> None:
    reading = read_rating(text)
    assert reading is not None, f"{text!r} was not read"
    assert (reading.rating, reading.understood_by) == (rating, understood_by), f"{text!r}: {reading}"
    assert reading.comment == comment, f"{text!r}: comment {reading.comment!r}"
    assert reading.sentiment == sentiment_of(rating)


@pytest.mark.parametrize(("text", "rating", "comment"), NUMBERS + ZERO_TO_TEN)
def test_numbers(text, rating, comment):
    _check(text, rating, comment, "number")


@pytest.mark.parametrize(("text", "rating", "comment"), EMOJIS)
def test_emojis(text, rating, comment):
    _check(text, rating, comment, "emoji")


@pytest.mark.parametrize(("text", "rating"), FREE_TEXT + NEGATIONS + TYPOS)
def test_free_text(text, rating):
    _check(text, rating, text.strip(), "lexicon")


@pytest.mark.parametrize(("text", "rating", "comment"), MIXED)
def test_a_rating_with_a_new_request_keeps_the_request_as_comment(text, rating, comment):
    reading = read_rating(text)
    assert reading is not None and (reading.rating, reading.comment) == (rating, comment), f"{text!r}: {reading}"


@pytest.mark.parametrize("text", NOT_RATINGS)
def test_what_is_not_a_rating(text):
    assert read_rating(text) is None


def test_the_tables_cover_enough_phrasings():
    readable = NUMBERS + ZERO_TO_TEN + EMOJIS + FREE_TEXT + NEGATIONS + TYPOS + MIXED
    assert len({row[0] for row in readable}) >= 60 and len(set(NOT_RATINGS)) >= 20


def test_sentiment_of():
    assert [sentiment_of(r) for r in range(1, 6)] == ["negative", "negative", "neutral", "positive", "positive"]


def test_reading_is_frozen_and_in_scale():
    reading = read_rating("nota 4")
    assert reading == Reading(4, "positive", None, "number")
    with pytest.raises(AttributeError):
        reading.rating = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        Reading(6, "positive", None, "number")


def test_question_names_the_company_and_shows_the_scale():
    text = question("Fibra Veloz")
    assert "Fibra Veloz" in text and "Como foi seu atendimento?" in text
    assert "😡 1 · 😕 2 · 😐 3 · 🙂 4 · 🤩 5" in text and SCALE in CLARIFY
    assert "1 a 5" in CLARIFY and "não entendi" in CLARIFY


def test_thanks_message_follows_the_rating():
    for rating in (4, 5):
        assert "obrigado" in thanks_message(rating, "NetSul").lower() and "NetSul" in thanks_message(rating, "NetSul")
    for rating in (1, 2):
        text = thanks_message(rating, "NetSul")
        assert "Sentimos muito" in text and "equipe" in text and "melhorar" in text and "NetSul" in text
    neutral = thanks_message(3, "NetSul")
    assert "Sentimos" not in neutral and "NetSul" in neutral
    assert len({thanks_message(r, "X") for r in range(1, 6)}) >= 3
    with pytest.raises(ValueError):
        thanks_message(0, "NetSul")


def test_reading_is_fast_even_for_long_messages():
    texts = [row[0] for row in NUMBERS + EMOJIS + FREE_TEXT] + NOT_RATINGS
    started = time.perf_counter()
    for text in texts * 10:
        read_rating(text)
    read_rating("minha internet caiu de novo e ninguém resolve " * 500 + "1 " * 500 + "." * 5000)
    assert time.perf_counter() - started < 2
