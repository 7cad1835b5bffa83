import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from cli import app
from niochat.settings import Settings
from tests.support.basics import ROOT


def test_defaults_match_the_documented_interface(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("NIOCHAT_"):
            monkeypatch.delenv(name)
    s = Settings(_env_file=None)
    assert (s.debounce_seconds, s.csat_delay_seconds, s.csat_expiry_seconds) == (3, 90, 86400)
    assert (s.api_port, s.dash_port, s.wa_sandbox_port, s.sgp_sandbox_port) == (8000, 8050, 8100, 8200)
    assert s.log_format == "console" and str(s.data_dir) == ".niochat"
    assert s.database_url is None and s.redis_url is None and s.warehouse_url is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NIOCHAT_DATABASE_URL", "mysql://x/y", "PostgreSQL URL"),
        ("NIOCHAT_WAREHOUSE_URL", "sqlite:///w.db", "PostgreSQL URL"),
        ("NIOCHAT_REDIS_URL", "http://localhost", "Redis URL"),
        ("NIOCHAT_SECRET_KEY", "short", "at least 32 characters"),
        ("NIOCHAT_API_PORT", "70000", "less than or equal to 65535"),
        ("NIOCHAT_LOG_FORMAT", "xml", "'console' or 'json'"),
        ("NIOCHAT_DEBOUNCE_SECONDS", "-1", "greater than or equal to 0"),
        ("NIOCHAT_PUBLIC_URL", "example.com", "http://"),
    ],
)
def test_invalid_settings_are_rejected_with_a_clear_message(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    assert message in str(raised.value)

    result = CliRunner().invoke(app, ["tenant", "list"], env={variable: value})
    assert result.exit_code == 2
    assert variable in result.output and message in result.output.replace("\n", " ")


def test_rotation_keys_each_need_32_characters(monkeypatch):
    monkeypatch.setenv("NIOCHAT_SECRET_KEY", "a" * 40 + "," + "b" * 10)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
    monkeypatch.setenv("NIOCHAT_SECRET_KEY", "a" * 40 + "," + "b" * 40)
    assert Settings(_env_file=None).secret_key.count(",") == 1


def test_env_example_documents_every_setting():

    documented = ROOT.joinpath(".env.example").read_text()
    missing = [
        f"NIOCHAT_{name.upper()}" for name in Settings.model_fields if f"NIOCHAT_{name.upper()}=" not in documented
    ]
    assert missing == []
