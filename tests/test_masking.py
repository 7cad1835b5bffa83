import json
import logging

import pytest

from niochat.logging import configure_logging, get_logger
from niochat.masking import mask_document, mask_documents_in


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
