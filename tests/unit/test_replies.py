"""Fixed replies for a persona with emojis off: the engine strips them before anything is queued."""

import pytest

from api.brain import replies
from api.brain.replies import without_emojis


@pytest.mark.parametrize(("text", "expected"), [
    ("Encontrei seu cadastro, Ana! ✅", "Encontrei seu cadastro, Ana!"),
    (replies.BYE, "Por nada! Se precisar, é só chamar. Até mais!"),
    ("Liberei. ✅ Em minutos volta.", "Liberei. Em minutos volta."),
    ("Olá 😊, tudo bem?", "Olá, tudo bem?"),
    ("Linha 1 👍\nLinha 2", "Linha 1\nLinha 2"),
    ("R$ 99,90 vence 10/12 — PIX: 000201...", "R$ 99,90 vence 10/12 — PIX: 000201..."),
])
def test_emojis_are_removed_and_the_text_stays_readable(text, expected):
    assert without_emojis(text) == expected


def test_every_fixed_reply_is_emoji_free_after_stripping():
    fixed = [value for value in vars(replies).values() if isinstance(value, str) and len(value) > 20]
    assert fixed
    for text in fixed:
        assert not replies._EMOJI.search(without_emojis(text)), text


def test_the_document_request_says_what_it_is_for():
    from api.brain.rules import ACTIONS

    asks = {action: replies.ask_document(action) for action in ACTIONS}
    assert asks["second_copy"].startswith("Para te enviar a fatura, preciso do CPF ou CNPJ")
    assert asks["connection_down"].startswith("Para verificar sua conexão, preciso do CPF ou CNPJ")
    assert all("Para isso" not in ask and "CPF ou CNPJ do titular" in ask for ask in asks.values())
