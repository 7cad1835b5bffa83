"""Hypothesis strategies for CPFs, CNPJs, phones and ordinary numbers written the ways customers write them."""

from __future__ import annotations

from hypothesis import strategies as st

WORDS = ["meu", "cpf", "é", "o", "cnpj", "da", "empresa", "segue", "ok", "obrigado", "fatura", "de", "vence", "dia",
         "2", "vias", "150", "10/06", "R$", "89,90", "protocolo", "200429142914", "oi", ",", ":", "-", "(", ")", "😀",
         "ção", "nº", "5511912340001"]
SEPARATORS = ["", "", "", ".", " ", "-", "/"]  # per gap between two digits: mostly none, else one of ". -/"


def _check_digits(body: list[int], weights: list[int], cpf: bool) -> int:
    total = sum(n * w for n, w in zip(body, weights, strict=True))
    if cpf:
        return total * 10 % 11 % 10
    return 0 if total % 11 < 2 else 11 - total % 11


@st.composite
def documents(draw) -> str:
    """A valid CPF or CNPJ (check digits computed here, not by the code under test), digits only."""
    if draw(st.booleans()):
        body = draw(st.lists(st.integers(0, 9), min_size=9, max_size=9))
        body.append(_check_digits(body, list(range(10, 1, -1)), True))
        body.append(_check_digits(body, list(range(11, 1, -1)), True))
    else:
        body = draw(st.lists(st.integers(0, 9), min_size=12, max_size=12))
        body.append(_check_digits(body, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], False))
        body.append(_check_digits(body, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], False))
    number = "".join(map(str, body))
    # one digit repeated (000.000.000-00) passes the check digits but is no one's document
    draw(st.just(None).filter(lambda _: len(set(number)) > 1))
    return number


@st.composite
def written(draw, number: str) -> str:
    """The document as a customer may type it: any separator (or none) between any two digits."""
    gaps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(number) - 1, max_size=len(number) - 1))
    return number[0] + "".join(gap + digit for gap, digit in zip(gaps, number[1:], strict=True))


@st.composite
def sentences(draw) -> tuple[str, list[str]]:
    """A message with one to three documents in any grouping among words (numbers too); returns the digits."""
    numbers = draw(st.lists(documents(), min_size=1, max_size=3))
    parts = draw(st.lists(st.sampled_from(WORDS), max_size=4))
    for number in numbers:
        parts.append(draw(written(number)) + draw(st.sampled_from(["", "", ".", ",", "!", "?", ")"])))
        parts += draw(st.lists(st.sampled_from(WORDS), max_size=3))
    return " ".join(parts), numbers


@st.composite
def phones(draw) -> str:
    """Brazilian mobiles with the country code, as WhatsApp and people write them."""
    area = draw(st.integers(11, 99))
    local = "9" + "".join(map(str, draw(st.lists(st.integers(0, 9), min_size=8, max_size=8))))
    shape = draw(st.sampled_from(["55{a}{l}", "+55 {a} {l5}-{l4}", "55 {a} {l5} {l4}", "+55 ({a}) {l5}-{l4}",
                                  "({a}) {l5}-{l4}", "+55 {a} 9 {l4b}-{l4}", "55{a} {l5}-{l4}"]))
    return shape.format(a=area, l=local, l5=local[:5], l4=local[5:], l4b=local[1:5])


@st.composite
def ordinary_numbers(draw) -> str:
    kind = draw(st.sampled_from(["protocol", "amount", "date", "id"]))
    if kind == "protocol":  # any length but 11 and 14
        size = draw(st.sampled_from([4, 6, 8, 10, 12, 13, 15, 20]))
        return "".join(map(str, draw(st.lists(st.integers(0, 9), min_size=size, max_size=size))))
    if kind == "amount":
        return f"R$ {draw(st.integers(0, 999_999)):,}".replace(",", ".") + f",{draw(st.integers(0, 99)):02d}"
    if kind == "date":
        return f"{draw(st.integers(1, 28)):02d}/{draw(st.integers(1, 12)):02d}/{draw(st.integers(2000, 2099))}"
    return f"#{draw(st.integers(1, 10**9))}"

