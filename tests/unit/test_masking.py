import contextlib
import io
import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from niochat.logging import configure_logging, get_logger
from niochat.masking import mask_document, mask_documents_in, valid_document
from tests.support.documents import documents, ordinary_numbers, phones, sentences


@pytest.mark.parametrize(
    ("document", "masked"),
    [
        ("123.456.789-09", "***.456.789-**"),
        ("12345678909", "***.456.789-**"),
        ("12.345.678/0001-95", "**.345.678/****-**"),
        ("12345678000195", "**.345.678/****-**"),
    ],
)
def test_mask_document(document, masked):
    assert mask_document(document) == masked


def test_documents_inside_text_are_masked_and_other_numbers_kept():
    text = "meu cpf e 123.456.789-09, cnpj 12345678000195, fatura 998877, fone 5511987654321"
    masked = mask_documents_in(text)
    assert "123.456.789-09" not in masked and "12345678000195" not in masked
    assert "***.456.789-**" in masked and "**.345.678/****-**" in masked
    assert "998877" in masked and "5511987654321" in masked


def test_logs_never_carry_full_documents_or_secrets(capsys):
    configure_logging("json", "INFO")
    get_logger("test").info("cliente identificado", cpf="12345678909", text="cpf 123.456.789-09", token="abc")
    logging.getLogger("stdlib").warning("documento 98765432100 recebido")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    dumped = json.dumps(lines)
    assert "12345678909" not in dumped and "123.456.789-09" not in dumped and "98765432100" not in dumped
    assert lines[0]["cpf"] == "***.456.789-**" and lines[0]["token"] == "***"
    assert "***.654.321-**" in lines[1]["event"]


def test_log_lines_keep_ids_whole_even_when_their_digits_count_as_a_cpf(root_logging_restored, capsys):
    """e6a8f115-5896-4740-...: the groups 115, 5896 and 4740 hold eleven digits; masked, no log line would find
    its channel. A CPF next to the id is still masked."""
    configure_logging("json", "INFO")
    channel = "e6a8f115-5896-4740-a6cc-6a493929b2f6"
    get_logger("test").warning("webhook refused", channel_id=channel, text=f"{channel} cpf 529.982.247-25")
    logging.getLogger("uvicorn.access").info('"POST /api/v1/conversations/%s/take HTTP/1.1" 200', channel)
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["channel_id"] == channel and lines[0]["text"] == f"{channel} cpf ***.982.247-**"
    assert channel in lines[1]["event"]


@pytest.fixture
def root_logging_restored():
    """configure_logging binds the root handler to the current stderr, which pytest closes after the test."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_access_log_lines_show_the_webhook_route_not_its_key(root_logging_restored, capsys):
    import logging

    from niochat.logging import configure_logging

    configure_logging("json")  # here, not in a fixture: capsys replaces stderr only while the test runs
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/webhooks/uazapi/Sup3rS3cretKey?x=1", "1.1", 200
    )
    logging.getLogger("other").warning("posting to http://h/webhooks/evolution/An0therKey failed")
    err = capsys.readouterr().err
    assert "Sup3rS3cretKey" not in err and "An0therKey" not in err
    assert "/webhooks/uazapi/***" in err and "/webhooks/evolution/***" in err


def test_access_log_lines_hide_a_token_in_the_query_string(root_logging_restored, capsys):
    import logging

    from niochat.logging import configure_logging

    configure_logging("json")
    logging.getLogger("uvicorn.access").info(  # the SGP's GET listings take app+token in the query
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
        "/api/os/ocorrencia/tipo/list/?app=niochat&token=Sgp-T0ken-42&limit=5", "1.1", 200)
    err = capsys.readouterr().err
    assert "Sgp-T0ken-42" not in err and "tipo/list/?app=niochat&token=***&limit=5" in err


# --- documents in any grouping (property-based) --------------------------------------------------------------





def _only_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_the_generated_documents_are_valid():
    from validate_docbr import CNPJ, CPF

    @given(documents())
    def check(number):
        assert (CPF() if len(number) == 11 else CNPJ()).validate(number)
        assert valid_document(number)

    check()


@pytest.mark.parametrize(("text", "masked"), [
    ("529 982 247 25", "***.982.247-**"),
    ("529982247-25", "***.982.247-**"),
    ("529.982.24725", "***.982.247-**"),
    ("5 2 9 9 8 2 2 4 7 2 5", "***.982.247-**"),
    ("529.982.247 - 25", "***.982.247-**"),
    ("11 444 777 0001 61", "**.444.777/****-**"),
    ("11444777/000161", "**.444.777/****-**"),
    ("cpf 529 982 247 25 2 vias", "cpf ***.982.247-** 2 vias"),
    ("52998224725 11144477735", "***.982.247-** ***.444.777-**"),
    ("55 529.982.247-25", "55 ***.982.247-**"),
])
def test_documents_written_in_any_grouping_are_masked(text, masked):
    assert mask_documents_in(text) == masked


@pytest.mark.parametrize("text", [
    "telefone 5511912340001", "+55 11 98765-4321", "55 11 98765 4321", "+55 (11) 98765-4321", "(11) 98765-4321",
    "+55 11 9 8765-4321", "5511 98765-4321", "opção 2 5511912340001", "protocolo 200429142914", "pedido 12345678",
    "R$ 1.234.567,89",
    "vence 10/06/2026", "fatura 998877 de R$ 89,90", "123.456.789-091", "valor 1.234.567.890-12",
])
def test_phones_protocols_amounts_and_dates_are_kept(text):
    assert mask_documents_in(text) == text


@hypothesis_settings(max_examples=400, deadline=None)
@given(sentences())
def test_no_generated_document_survives_masking(sentence):
    text, numbers = sentence
    masked = mask_documents_in(text)
    for number in numbers:
        assert number not in _only_digits(masked), (text, masked)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(phones(), ordinary_numbers()), min_size=1, max_size=3),
       st.lists(st.sampled_from(["oi", "meu", "número", "é", "e", "o", "valor", "ok", ","]), min_size=1, max_size=3))
def test_phones_and_ordinary_numbers_are_never_masked(numbers, words):
    # Not "." between two numbers: "01/01/2000 . 000000" is one run of 14 digits, a CNPJ's count, masked by rule 1
    # on purpose (a document typed with spaced dots looks just like it).
    text = " ".join(word for pair in zip(words * 3, numbers, strict=False) for word in pair)
    assert mask_documents_in(text) == text


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sentences())
def test_log_lines_never_carry_a_document_in_any_grouping(root_logging_restored, sentence):
    text, numbers = sentence
    stream = io.StringIO()
    with contextlib.redirect_stderr(stream):
        configure_logging("json", "INFO")  # the handler binds to the stderr of this moment
    get_logger("test").info(text, said=text, document=numbers[0])
    logging.getLogger("stdlib").warning("recebido: %s", text)
    logging.getLogger("stdlib").warning(f"recebido: {text}")
    dumped = stream.getvalue()
    assert len(dumped.strip().splitlines()) == 3
    for line in dumped.strip().splitlines():
        for value in json.loads(line).values():
            for number in numbers:
                assert number not in _only_digits(str(value)), line
