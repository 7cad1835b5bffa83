"""`niochat tenant|team|user|channel create`: success paths and clear errors for bad input."""

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from niochat import migrate
from niochat.channel_keys import key_hash
from niochat.secrets import Keyring
from niochat.tables import channels, users
from tests.support.basics import TEST_SECRET, unique_slug


@pytest.fixture
def cli(tmp_path, database_url, redis_url):
    env = {
        "NIOCHAT_DATABASE_URL": database_url,
        "NIOCHAT_REDIS_URL": redis_url,
        "NIOCHAT_SECRET_KEY": TEST_SECRET,
        "NIOCHAT_DATA_DIR": str(tmp_path),
        "NIOCHAT_PUBLIC_URL": "https://chat.example.com/",
    }

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(app, list(args), env=env, input=input)

    return run


@pytest.fixture
def slug(cli):
    slug = unique_slug()
    assert cli("tenant", "create", slug, "--name", "Fibra Norte").exit_code == 0
    return slug


def test_tenant_create_and_list(cli, slug):
    listed = cli("tenant", "list")
    assert listed.exit_code == 0 and slug in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tenant", "create", "Bad Slug", "--name", "x"], "slug must be"),
        (["tenant", "create", "ok-slug", "--name", "  "], "name must not be empty"),
        (["tenant", "create", "ok-slug2", "--name", "x", "--timezone", "Mars/Olympus"], "unknown timezone"),
        (["user", "create", "a@b.test", "--tenant", "no-such-tenant", "--password", "longenough"], "does not exist"),
        (
            [
                "channel",
                "create",
                "--tenant",
                "no-such-tenant",
                "--provider",
                "uazapi",
                "--base-url",
                "https://x.test",
                "--instance",
                "i",
                "--token",
                "t",
            ],
            "does not exist",
        ),
    ],
)
def test_bad_input_without_tenant(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_duplicate_tenant(cli, slug):
    result = cli("tenant", "create", slug, "--name", "Outro")
    assert result.exit_code == 1 and f"tenant '{slug}' already exists" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--role", "owner", "--password", "longenough"], "role must be one of"),
        (["--password", "short"], "at least 8 characters"),
        (["--password", "longenough", "--team", "nope"], "team 'nope' does not exist"),
    ],
)
def test_user_bad_input(cli, slug, extra, message):
    result = cli("user", "create", f"x@{slug}.test", "--tenant", slug, *extra)
    assert result.exit_code == 1 and message in result.output


def test_user_create_with_prompted_password_team_and_duplicates(cli, slug, engine):
    assert cli("team", "create", "financeiro", "--tenant", slug, "--name", "Financeiro").exit_code == 0
    dup_team = cli("team", "create", "financeiro", "--tenant", slug, "--name", "Financeiro")
    assert dup_team.exit_code == 1 and "already exists" in dup_team.output
    email = f"Maria@{slug}.test"
    created = cli(
        "user",
        "create",
        email,
        "--tenant",
        slug,
        "--role",
        "manager",
        "--team",
        "financeiro",
        input="s3nha-forte\ns3nha-forte\n",
    )
    assert created.exit_code == 0, created.output
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == email.lower())).one()
    assert row.role == "manager" and row.password_hash.startswith("$argon2id$") and "s3nha" not in row.password_hash
    dup = cli("user", "create", email.upper(), "--tenant", slug, "--password", "longenough")
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad_email = cli("user", "create", "not-an-email", "--tenant", slug, "--password", "longenough")
    assert bad_email.exit_code == 1 and "invalid e-mail" in bad_email.output


def test_channel_create_prints_webhook_url_and_encrypts_the_token(cli, slug, engine):
    import httpx

    from sandbox.whatsapp import create_app
    from tests.support.servers import serving

    with serving(create_app()) as sandbox:
        httpx.post(f"{sandbox}/sandbox/instances",
                   json={"provider": "evolution", "instance": "loja1", "token": "evo-api-key-123"})
        args = ["channel", "create", "--tenant", slug, "--provider", "evolution", "--base-url", f"{sandbox}/",
                "--instance", "loja1", "--token", "evo-api-key-123"]
        result = cli(*args)
        assert result.exit_code == 0, result.output
        dup = cli(*args)
    with engine.connect() as conn:
        row = conn.execute(
            select(channels).where(channels.c.instance == "loja1", channels.c.base_url == sandbox)
        ).one()
    (url,) = [line for line in result.output.splitlines() if line.startswith("https://chat.example.com/webhooks/")]
    key = url.removeprefix("https://chat.example.com/webhooks/evolution/")
    assert len(key) >= 32 and row.webhook_key_sha256 == key_hash(key) and key not in str(row)  # only its hash
    assert "the token of instance 'loja1' itself" in " ".join(result.output.split())
    assert row.connection_status == "connected"
    assert "evo-api-key-123" not in row.token_encrypted and row.webhook_token_encrypted is None
    assert Keyring(TEST_SECRET).decrypt(row.token_encrypted) == "evo-api-key-123"
    assert dup.exit_code == 1 and "already has a evolution channel" in dup.output


@pytest.mark.parametrize(
    ("provider", "base_url", "message"),
    [("twilio", "https://x.test", "provider must be one of"), ("uazapi", "ftp://x.test", "http(s) URL")],
)
def test_channel_bad_input(cli, slug, provider, base_url, message):
    result = cli(
        "channel",
        "create",
        "--tenant",
        slug,
        "--provider",
        provider,
        "--base-url",
        base_url,
        "--instance",
        "i",
        "--token",
        "t",
    )
    assert result.exit_code == 1 and message in result.output


def test_admin_commands_refuse_an_unmigrated_database(tmp_path, empty_database_url, redis_url):
    env = {
        "NIOCHAT_DATABASE_URL": empty_database_url,
        "NIOCHAT_REDIS_URL": redis_url,
        "NIOCHAT_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["tenant", "list"], env=env)
    assert result.exit_code == 1 and "niochat db upgrade" in result.output
    upgraded = CliRunner().invoke(app, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0 and f"database at revision {migrate.head_revision()}" in upgraded.output
    assert CliRunner().invoke(app, ["tenant", "list"], env=env).exit_code == 0


def test_help_explains_every_command():
    result = CliRunner().invoke(app, ["--help"])
    for command in ("serve", "demo", "db", "tenant", "user", "channel"):
        assert command in result.output
    channel_help = CliRunner().invoke(app, ["channel", "create", "--help"])
    assert "webhook URL" in channel_help.output


def test_channel_create_registers_the_webhook_with_the_provider(cli, slug):
    import httpx

    from sandbox.whatsapp import create_app
    from tests.support.servers import serving

    with serving(create_app()) as sandbox:
        httpx.post(f"{sandbox}/sandbox/instances", json={"provider": "uazapi", "instance": "loja2", "token": "tk-1"})
        result = cli("channel", "create", "--tenant", slug, "--provider", "uazapi", "--base-url", sandbox,
                     "--instance", "loja2", "--token", "tk-1")
        assert result.exit_code == 0, result.output
        assert "webhook registered" in result.output
        instances = httpx.get(f"{sandbox}/sandbox/instances").json()
    listed = instances["instances"] if isinstance(instances, dict) else instances
    registered = [i for i in listed if i["instance"] == "loja2"][0]
    webhook = registered.get("webhook_url") or registered.get("webhook", {}).get("url")
    assert webhook.startswith("https://chat.example.com/webhooks/uazapi/")
    assert webhook.split("/")[-1] in result.output


def test_channel_setup_takes_a_new_token_after_the_provider_changed_it(cli, slug, engine):
    import httpx

    from sandbox.whatsapp import create_app
    from tests.support.servers import serving

    with serving(create_app()) as sandbox:
        instance = {"provider": "uazapi", "instance": f"{slug}-zap", "token": "tk-antigo"}
        httpx.post(f"{sandbox}/sandbox/instances", json=instance).raise_for_status()
        created = cli("channel", "create", "--tenant", slug, "--provider", "uazapi", "--base-url", sandbox,
                      "--instance", instance["instance"], "--token", "tk-antigo")
        assert created.exit_code == 0, created.output
        httpx.post(f"{sandbox}/sandbox/instances", json={**instance, "token": "tk-novo"}).raise_for_status()
        stale = cli("channel", "setup", "--tenant", slug, "--instance", instance["instance"])
        assert stale.exit_code == 1 and "refused the token" in stale.output and "Nothing was changed" in stale.output
        renewed = cli("channel", "setup", "--tenant", slug, "--instance", instance["instance"], "--new-token",
                      input="tk-novo\n")
        assert renewed.exit_code == 0, renewed.output
        hooks = httpx.get(f"{sandbox}/webhook", headers={"token": "tk-novo"}).json()
        missing = cli("channel", "setup", "--tenant", slug, "--instance", "nao-existe")
    assert len(hooks) == 1 and hooks[0]["url"].startswith("https://chat.example.com/webhooks/uazapi/")
    with engine.connect() as conn:
        row = conn.execute(select(channels).where(channels.c.instance == instance["instance"])).one()
    assert Keyring(TEST_SECRET).decrypt(row.token_encrypted) == "tk-novo"
    assert missing.exit_code == 1 and "has no channel for instance 'nao-existe'" in missing.output
