"""docker-compose.yml and the Dockerfile, checked without a Docker engine (there is none on this machine).

- The file is a valid Compose file: it is validated with `jsonschema` against the Compose Specification's own
  JSON schema, stored verbatim in tests/data/compose-spec.json. Source: the compose-spec/compose-spec repository
  on GitHub, file schema/compose-spec.json at commit b2835e8acc1e42e7aecbc27a9bc4a1fc66ef21ba (compose-go, the
  library behind `docker compose`, embeds this schema).
- The stack holds together: long-running services have healthchecks, depends_on points at real services, every
  NioChat service gets the same shared environment, and every NIOCHAT_* name in it is a field of Settings.
- Every service's command starts something that exists: one parametrized case per service.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from importlib.metadata import entry_points

import jsonschema
import pytest
import typer
import yaml

from niochat.settings import Settings
from tests.support.basics import DATA, ROOT

ROOT = ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = DATA / "compose-spec.json"

EXPECTED_SERVICES = {"postgres", "redis", "migrate", "api", "worker", "dagster-webserver", "dagster-daemon", "dash"}
ONE_SHOT = {"migrate"}
# Services run from third-party images: the image each must use, and the executables it ships.
EXTERNAL_IMAGES = {"postgres": ("postgres:16", {"postgres"}), "redis": ("redis:7", {"redis-server"})}
# What `${NIOCHAT_SECRET_KEY:?...}`-style required variables are set to when the tests interpolate the file.
REQUIRED_VALUES = {"NIOCHAT_SECRET_KEY": "compose-test-secret-" + "x" * 32, "POSTGRES_PASSWORD": "pg-test-Passw0rd",
                   "REDIS_PASSWORD": "redis-test-Passw0rd", "NIOCHAT_DATABASE_API_PASSWORD": "api-test-Passw0rd",
                   "NIOCHAT_DATABASE_WORKER_PASSWORD": "worker-test-Passw0rd"}
# The database login of each NioChat service (migration 0013): the owner only where the schema or every tenant is
# needed; the dashboards check logins as the API does.
DATABASE_LOGINS = {"migrate": "niochat", "dagster-webserver": "niochat", "dagster-daemon": "niochat",
                   "api": "niochat_api", "worker": "niochat_worker", "dash": "niochat_api"}
LOGIN_PASSWORDS = {"niochat": "POSTGRES_PASSWORD", "niochat_api": "NIOCHAT_DATABASE_API_PASSWORD",
                   "niochat_worker": "NIOCHAT_DATABASE_WORKER_PASSWORD"}
# Published only on the host's loopback: tools without a login or without TLS (reached through a tunnel or proxy).
LOOPBACK_ONLY = {"dagster-webserver", "dash"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b|AUTH")

_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")
_MODULE_ATTR = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def _load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


COMPOSE = _load_compose()
SERVICES: dict[str, dict] = COMPOSE["services"]


def _builds_niochat(service: dict) -> bool:
    return "build" in service


def _niochat_services() -> list[str]:
    return sorted(name for name, service in SERVICES.items() if _builds_niochat(service))


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


class MissingVariable(Exception):
    """What `docker compose` does for an unset `${VAR:?message}`: refuse to start, saying the message."""


def _interpolate(value: str, given: dict[str, str] | None = None) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, with required variables from REQUIRED_VALUES
    (or `given`: an unset required one raises MissingVariable, as compose refuses to start)."""
    values = REQUIRED_VALUES if given is None else given

    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if op == "?":
            if given is None:
                assert name in REQUIRED_VALUES, f"${{{name}}} is required by compose; add it to REQUIRED_VALUES"
            if not values.get(name):
                raise MissingVariable(f"required variable {name} is missing a value: {arg}")
            return values[name]
        return arg if op == "-" else ""

    return _INTERPOLATION.sub(replace, value).replace("$$", "$")


def _command(service: dict) -> list[str]:
    command = service.get("command")
    return command.split() if isinstance(command, str) else list(command or [])


# --- the Compose Specification ----------------------------------------------------------------------------


def _compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_follows_the_compose_spec():
    errors = sorted(_compose_validator().iter_errors(COMPOSE), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def test_the_schema_rejects_what_compose_rejects():
    """Guards against a schema that accepts anything (e.g. a truncated copy)."""
    validator = _compose_validator()
    assert not validator.is_valid({"services": {"api": {"image": "x", "helthcheck": {}}}})
    assert not validator.is_valid({"services": {"api": {"image": "x", "depends_on": {"db": {"condition": "up"}}}}})
    assert validator.is_valid(
        {"services": {"api": {"image": "x", "depends_on": {"db": {"condition": "service_healthy"}}}}}
    )


def test_the_stack_has_every_runtime_piece():
    assert set(SERVICES) == EXPECTED_SERVICES


# --- the stack holds together -----------------------------------------------------------------------------


def test_yaml_anchors_and_merge_keys_resolve():
    def walk(node, where):
        if isinstance(node, dict):
            assert "<<" not in node, f"unmerged `<<` at {where}"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(COMPOSE, "")
    for name, service in SERVICES.items():
        for key, value in _environment(service).items():
            assert value is not None, f"{name}: {key} has no value (it would leak in from the host's environment)"


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES - ONE_SHOT))
def test_long_running_services_have_a_healthcheck(name):
    healthcheck = SERVICES[name].get("healthcheck")
    assert healthcheck and healthcheck.get("test"), f"{name} has no healthcheck"
    assert not healthcheck.get("disable"), f"{name} disables its healthcheck"


def test_every_niochat_service_but_the_one_shot_has_a_healthcheck():
    missing = [name for name in _niochat_services() if name not in ONE_SHOT and "healthcheck" not in SERVICES[name]]
    assert not missing


def test_migrations_run_once_before_everything_that_uses_the_database():
    assert SERVICES["migrate"].get("restart") == "no"
    assert _command(SERVICES["migrate"]) == ["niochat", "db", "upgrade"]
    for name in _niochat_services():
        if name not in ONE_SHOT:
            depends_on = SERVICES[name].get("depends_on") or {}
            assert depends_on.get("migrate", {}).get("condition") == "service_completed_successfully", name


def test_depends_on_points_at_services_that_can_satisfy_the_condition():
    for name, service in SERVICES.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, rule in depends_on.items():
            assert target in SERVICES, f"{name} depends on unknown service {target}"
            assert target != name, f"{name} depends on itself"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits for {target} to be healthy; it has no check"
            if rule["condition"] == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for {target} to exit, but {target} keeps running"


def test_mounted_files_and_named_volumes_exist():
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            elif source:
                assert source in declared, f"{name} uses volume {source}, not declared under volumes:"


def test_env_files_exist():
    for name, service in SERVICES.items():
        env_files = service.get("env_file") or []
        for entry in [env_files] if isinstance(env_files, str) else env_files:
            path, required = (entry, True) if isinstance(entry, str) else (entry["path"], entry.get("required", True))
            if required:
                assert (ROOT / path).exists(), f"{name} reads env file {path}, which does not exist"


@pytest.mark.parametrize("name", _niochat_services())
def test_niochat_services_share_one_environment(name):
    shared = {key: str(value) for key, value in COMPOSE["x-niochat-env"].items()}
    env = _environment(SERVICES[name])
    different = {key: env.get(key) for key, value in shared.items() if env.get(key) != value}
    assert not different, f"{name} does not get the shared x-niochat-env values: {different}"


def test_every_niochat_variable_in_compose_is_a_setting():
    names = set(re.findall(r"\bNIOCHAT_[A-Z0-9_]+\b", COMPOSE_FILE.read_text()))
    assert names, "no NIOCHAT_* variables found"
    unknown = sorted(name for name in names if name.removeprefix("NIOCHAT_").lower() not in Settings.model_fields)
    assert not unknown, f"not fields of niochat.settings.Settings: {unknown}"


@pytest.mark.parametrize("name", _niochat_services())
def test_each_service_environment_is_accepted_by_settings(name, monkeypatch):
    for key in list(Settings.model_fields):
        monkeypatch.delenv(f"NIOCHAT_{key.upper()}", raising=False)
    for key, value in _environment(SERVICES[name]).items():
        monkeypatch.setenv(key, _interpolate(value))
    settings = Settings(_env_file=None)
    assert settings.database_url and settings.redis_url and settings.secret_key
    assert settings.database_url.rsplit("/", 1)[-1] == "niochat"
    if name not in ("api", "worker"):  # those two never read the warehouse
        assert settings.warehouse_url.rsplit("/", 1)[-1] == "niochat_warehouse"
    assert settings.log_format == "json"


def test_the_warehouse_database_is_created_by_the_postgres_init_script():
    mounts = [volume for volume in SERVICES["postgres"]["volumes"] if "/docker-entrypoint-initdb.d/" in volume]
    assert mounts, "postgres mounts no init script"
    script = (ROOT / mounts[0].split(":", 1)[0]).read_text()
    assert re.search(r"create\s+database\s+niochat_warehouse\b", script, re.IGNORECASE)


# --- every command starts something that exists ----------------------------------------------------------


def _console_scripts() -> set[str]:
    return {entry.name for entry in entry_points(group="console_scripts")}


def _check_niochat_command(args: list[str]) -> None:
    from cli import app

    command = typer.main.get_command(app)
    path = ["niochat"]
    rest = list(args)
    while isinstance(getattr(command, "commands", None), dict):  # a group (typer may vendor its own click)
        assert rest and rest[0] in command.commands, (
            f"`{' '.join(path)}` has no command {rest[0] if rest else '(none given)'!r}; "
            f"it has {sorted(command.commands)}"
        )
        name = rest.pop(0)
        command = command.commands[name]
        path.append(name)
    try:
        command.make_context(" ".join(path), rest)  # its options and arguments parse
    except Exception as exc:  # click's usage errors (typer may vendor its own click)
        raise AssertionError(f"`{' '.join(path + rest)}`: {exc}") from exc


def _module_exists(module_name: str) -> bool:
    """Importable by spec: found on the path without running the module (its parent packages are imported)."""
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _check_dagster_module(module_name: str) -> None:
    import dagster

    assert _module_exists(module_name), f"module {module_name} not found"
    module = importlib.import_module(module_name)
    lazy_definitions = type(dagster.definitions(lambda: dagster.Definitions()))
    loadable = (dagster.Definitions, dagster.RepositoryDefinition, lazy_definitions)
    found = [attr for attr, value in vars(module).items() if isinstance(value, loadable)]
    assert found, f"`-m {module_name}`: module {module_name} has no Definitions at module scope"


def _check_module_targets(args: list[str]) -> None:
    for index, arg in enumerate(args):
        if arg in ("-m", "--module-name") and index + 1 < len(args):
            _check_dagster_module(args[index + 1])
        elif _MODULE_ATTR.match(arg):
            module_name = arg.split(":", 1)[0]
            assert _module_exists(module_name), f"{arg}: module {module_name} not found"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_command_names_a_real_entry_point(name):
    service = SERVICES[name]
    command = _command(service)
    if not _builds_niochat(service):
        image, executables = EXTERNAL_IMAGES[name]
        assert service.get("image") == image
        assert not command or command[0] in executables, f"{image} ships no {command[0]}"
        return
    assert command, f"{name} has no command (the image's default would run `niochat serve`)"
    executable, args = command[0], command[1:]
    assert executable in _console_scripts(), f"no installed distribution declares the console script {executable}"
    if executable == "niochat":
        _check_niochat_command(args)
    else:
        _check_module_targets(args)


# --- the image ----------------------------------------------------------------------------------------------


def test_dockerfile_installs_the_project_and_serves_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"pip install \.\s*$", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    assert re.search(r"^EXPOSE 8000\b", dockerfile, re.MULTILINE)
    assert re.search(r'^CMD \["niochat", "serve"\]', dockerfile, re.MULTILINE)
    for name in _niochat_services():
        assert SERVICES[name]["build"] in (".", {"context": "."}), f"{name} does not build from ./Dockerfile"


@pytest.mark.parametrize(
    "args", [["nope"], ["db"], ["db", "nope"], ["serve", "--no-such-option"]], ids=lambda args: " ".join(args)
)
def test_the_command_check_rejects_what_niochat_would_reject(args):
    with pytest.raises(AssertionError):
        _check_niochat_command(args)


def test_the_module_check_rejects_missing_modules():
    with pytest.raises(AssertionError):
        _check_module_targets(["--bind", "0.0.0.0:8050", "no_such_package.wsgi:server"])
    _check_module_targets(["--bind", "0.0.0.0:8050", "niochat.settings:Settings"])


# --- no default secrets, internal tools on loopback, Redis with a password ------------------------------------


def test_every_secret_is_required_from_the_environment():
    text = COMPOSE_FILE.read_text()
    variables = {match["name"]: match["op"] for match in _INTERPOLATION.finditer(text)}
    secrets = {name for name in variables if SECRET_NAME.search(name)}
    assert {"NIOCHAT_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"} <= secrets
    for name in secrets:
        assert variables[name] == "?", f"${{{name}}} must be `${{{name}:?...}}`: no default, no empty value"
    assert "niochat@postgres" not in text and ":-niochat}" not in text, "a default database password is left"


@pytest.mark.parametrize("missing", ["NIOCHAT_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"])
def test_compose_refuses_to_start_without_each_secret(missing):
    given = {name: value for name, value in REQUIRED_VALUES.items() if name != missing}
    with pytest.raises(MissingVariable, match=missing):
        _interpolate(COMPOSE_FILE.read_text(), given)
    _interpolate(COMPOSE_FILE.read_text(), dict(REQUIRED_VALUES))  # with all of them it interpolates


def _published(service: dict) -> list[tuple[str | None, str]]:
    """(host address or None for all interfaces, host port) of each published port."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip"), str(port.get("published"))))
            continue
        parts = str(port).rsplit(":", 2)
        found.append((parts[0], parts[1]) if len(parts) == 3 else (None, parts[0]))
    return found


@pytest.mark.parametrize("name", sorted(LOOPBACK_ONLY))
def test_internal_tools_are_published_on_loopback_only(name):
    published = _published(SERVICES[name])
    assert published, f"{name} publishes no port"
    for host, port in published:
        assert host == "127.0.0.1", f"{name} publishes {port} on {host or 'every interface'}"


def test_the_stores_publish_no_port():
    for name in ("postgres", "redis"):
        assert not SERVICES[name].get("ports"), f"{name} must only be reachable on the compose network"


def test_redis_requires_a_password_and_every_client_sends_it():
    from urllib.parse import urlsplit

    redis = SERVICES["redis"]
    command = [_interpolate(part) for part in _command(redis)]
    assert command[command.index("--requirepass") + 1] == REQUIRED_VALUES["REDIS_PASSWORD"]
    assert _interpolate(_environment(redis)["REDISCLI_AUTH"]) == REQUIRED_VALUES["REDIS_PASSWORD"]
    health = " ".join(redis["healthcheck"]["test"])
    assert "redis-cli" in health and "PONG" in health  # an unauthenticated ping answers NOAUTH, not PONG
    for name in _niochat_services():
        url = urlsplit(_interpolate(_environment(SERVICES[name])["NIOCHAT_REDIS_URL"]))
        assert url.password == REQUIRED_VALUES["REDIS_PASSWORD"] and url.hostname == "redis", name


def test_the_database_password_is_the_one_postgres_is_created_with():
    from urllib.parse import urlsplit

    created_with = _interpolate(_environment(SERVICES["postgres"])["POSTGRES_PASSWORD"])
    assert created_with == REQUIRED_VALUES["POSTGRES_PASSWORD"]
    assert set(DATABASE_LOGINS) == set(_niochat_services())
    for name, login in DATABASE_LOGINS.items():
        env = _environment(SERVICES[name])
        url = urlsplit(_interpolate(env["NIOCHAT_DATABASE_URL"]))
        assert (url.username, url.password) == (login, REQUIRED_VALUES[LOGIN_PASSWORDS[login]]), name
        if "NIOCHAT_WAREHOUSE_URL" in env:
            assert urlsplit(_interpolate(env["NIOCHAT_WAREHOUSE_URL"])).password == created_with, name


def test_the_api_and_the_worker_never_get_the_owners_password():
    """A leaked environment of the services that face the network is not the database owner's."""
    owner_password = REQUIRED_VALUES["POSTGRES_PASSWORD"]
    for name in ("api", "worker"):
        values = [_interpolate(value) for value in _environment(SERVICES[name]).values()]
        assert not [value for value in values if owner_password in value], name


def test_migrate_sets_the_passwords_the_service_logins_use():
    env = {key: _interpolate(value) for key, value in _environment(SERVICES["migrate"]).items()}
    for login in ("niochat_api", "niochat_worker"):
        variable = LOGIN_PASSWORDS[login]
        assert env[variable] == REQUIRED_VALUES[variable], login
