"""Three tenants through the real processes, then every way out of the system is checked for leaks.

`niochat serve` (API + worker, one process tree), `niochat sandbox` (WhatsApp sandbox and tenant A's SGP) and
two more SGP sandboxes (B's and C's datasets, each with its own `app`/`token` and its own customer) run as
subprocesses with NIOCHAT_LOG_FORMAT=json, their stdout/stderr captured to files. Each tenant's customers write
through the WhatsApp sandbox (real webhooks, real worker): one gets a second copy of an invoice through the SGP
(rules brain for A and B, the model brain against a fake OpenAI-compatible server for C), thanks the bot, which
closes and asks for CSAT, answered; another asks for a human, whom the tenant's admin assigns, answers and
closes through the REST API, CSAT again. Then the warehouse is built (ingest.sync + dbt) and, for each tenant:

- every GET route of the API (enumerated from the OpenAPI, path parameters filled with the tenant's own ids)
  shows none of the other tenants' ids, phones, names, e-mails or documents;
- every Dash callback (enumerated from the callback map) answers a manager with none of them either;
- `niochat export` writes a DuckDB file with that tenant's rows only;

and the captured logs of every process contain none of the secrets (channel tokens, SGP tokens, the model's
key, passwords, NIOCHAT_SECRET_KEY) and no full CPF, formatted or digits only.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest
from sqlalchemy import insert, select
from validate_docbr import CPF

from api.whatsapp.sandbox_channels import connect_to_sandbox
from ingest.dbt_command import BUILD_WITHOUT_TESTS, run_dbt
from ingest.export import TABLES
from ingest.sync import sync
from niochat import accounts, migrate
from niochat.database import drop_database, ensure_database, sync_engine
from niochat.embedded import ServiceUrls
from niochat.readiness import Exited, NoAnswer, answers_200, wait_until_answers
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import (
    ai_configs,
    channels,
    contacts,
    conversations,
    csat_responses,
    messages,
    sgp_configs,
    teams,
    tool_calls,
    users,
)
from tests.support.basics import ROOT, SGP_DATASET
from tests.support.fake_openai import create_app as create_fake_openai
from tests.support.servers import free_port, serving

ROOT = ROOT
DATASET = SGP_DATASET
SURVEY = "😡 1 · 😕 2 · 😐 3 · 🙂 4 · 🤩 5"
SAFE_LETTERS = "ghjkmnpqrstvwxyz"  # no hex digit: a marker can never be part of a uuid or a token


@dataclass
class Tenant:
    letter: str
    brain: str  # "rules" or "openai"
    marker: str = field(default_factory=lambda: "".join(random.choice(SAFE_LETTERS) for _ in range(10)))
    tenant_id: uuid.UUID | None = None
    admin_id: uuid.UUID | None = None
    password: str = field(default_factory=lambda: f"senha-{secrets.token_urlsafe(12)}")
    channel_tokens: dict[str, str] = field(default_factory=dict)
    sgp_app: str = field(default_factory=lambda: f"app-{secrets.token_hex(4)}")
    sgp_token: str = field(default_factory=lambda: f"sgp-{secrets.token_urlsafe(16)}")
    model_key: str | None = None
    cpf: str = field(default_factory=lambda: CPF().generate(mask=True))
    known: set[str] = field(default_factory=set)  # everything that identifies this tenant's data
    webhook_keys: set[str] = field(default_factory=set)

    @property
    def slug(self) -> str:
        return f"iso-{self.marker}"

    @property
    def name(self) -> str:
        return f"Provedor {self.marker.title()}"

    @property
    def customer_name(self) -> str:  # in the SGP
        return f"MARIA {self.marker.upper()} SILVA"

    @property
    def phones(self) -> tuple[str, str]:
        n = "abc".index(self.letter)
        return f"551191234{n}{n}01", f"551193333{n}{n}02"

    def email(self, role: str) -> str:
        return f"{role}@{self.slug}.test"

    def secrets(self) -> set[str]:
        values = {*self.channel_tokens.values(), self.sgp_token, self.password}
        return values | ({self.model_key} if self.model_key else set())

    def documents(self) -> set[str]:
        return {self.cpf, "".join(ch for ch in self.cpf if ch.isdigit())}


@dataclass
class World:
    tenants: dict[str, Tenant]
    urls: ServiceUrls
    api_url: str
    log_dir: Path
    secret_key: str
    env: dict[str, str]

    def others(self, tenant: Tenant) -> set[str]:
        return {value for other in self.tenants.values() if other is not tenant for value in other.known}


def leaked(text: str, values: set[str]) -> set[str]:
    lowered = text.lower()
    return {value for value in values if value.lower() in lowered}


# --- processes ------------------------------------------------------------------------------------------------


class Processes:
    """Subprocesses with stdout and stderr captured to <log_dir>/<name>.log, stopped in reverse order."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir, self.env, self.running = log_dir, env, []

    def start(self, name: str, args: list[str], **extra_env: str) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "w") as log:
            process = subprocess.Popen(args, env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
                                       cwd=ROOT, start_new_session=True)
        self.running.append((name, process))
        return process

    def wait_up(self, name: str, url: str, timeout: float = 90) -> None:
        process = dict(self.running)[name]
        try:
            wait_until_answers(url, timeout, process=process, ok=answers_200)
        except Exited:
            raise AssertionError(f"{name} exited:\n{(self.log_dir / f'{name}.log').read_text()[-3000:]}") from None
        except NoAnswer:
            raise AssertionError(f"{name} not up at {url}:\n{(self.log_dir / f'{name}.log').read_text()[-3000:]}") \
                from None

    def stop_all(self) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(self.running):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.running.clear()


def _dataset(tenant: Tenant, directory: Path) -> Path:
    """The test dataset's first customer (one contract, one open invoice), made this tenant's own."""
    data = json.loads(DATASET.read_text())
    customer = data["clientes"][0]
    phone = tenant.phones[0]
    customer.update(cpfcnpj=tenant.cpf, nome=tenant.customer_name,
                    telefones=[f"({phone[2:4]}) {phone[4:9]}-{phone[9:]}"])
    data.update(app=tenant.sgp_app, token=tenant.sgp_token, clientes=[customer])
    path = directory / f"sgp-{tenant.letter}.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def _provision(engine, keyring: Keyring, tenant: Tenant, api_url: str, sandbox_url: str, sgp_url: str,
               model_url: str) -> tuple[list, dict]:
    with engine.begin() as conn:
        tenant.tenant_id = accounts.create_tenant(conn, tenant.slug, tenant.name)
        accounts.create_team(conn, tenant.slug, "suporte", "Suporte")
        tenant.admin_id = accounts.create_user(conn, tenant.slug, tenant.email("admin"), f"Admin {tenant.marker}",
                                            tenant.password, "admin")
        accounts.create_user(conn, tenant.slug, tenant.email("gestor"), f"Gestor {tenant.marker}", tenant.password,
                          "manager")
        keys = {}  # the webhook keys, known only here: they are stored as hashes
        for provider in ("uazapi", "evolution"):
            tenant.channel_tokens[provider] = f"tok-{provider}-{secrets.token_urlsafe(16)}"
            created = accounts.create_channel(conn, keyring, api_url, tenant.slug, provider, provider.title(),
                                           sandbox_url, f"{tenant.slug}-{provider}", tenant.channel_tokens[provider])
            keys[created.id] = created.webhook_key
        tenant.webhook_keys = set(keys.values())
        conn.execute(insert(sgp_configs).values(tenant_id=tenant.tenant_id, base_url=sgp_url, app=tenant.sgp_app,
                                                timeout_seconds=5, token_encrypted=keyring.encrypt(tenant.sgp_token)))
        if tenant.brain == "openai":
            tenant.model_key = f"sk-{secrets.token_urlsafe(24)}"
            conn.execute(insert(ai_configs).values(tenant_id=tenant.tenant_id, base_url=f"{model_url}/v1",
                                                   model="fake-gpt", timeout_seconds=10,
                                                   api_key_encrypted=keyring.encrypt(tenant.model_key)))
        return conn.execute(select(channels).where(channels.c.tenant_id == tenant.tenant_id)).all(), keys


# --- the customers ----------------------------------------------------------------------------------------------


class Customer:
    def __init__(self, sandbox_url: str, tenant: Tenant, phone: str, provider: str, name: str):
        self.sandbox_url, self.tenant, self.phone, self.provider, self.name = sandbox_url, tenant, phone, provider, name

    def received(self) -> list[str]:
        response = httpx.get(f"{self.sandbox_url}/sandbox/messages", params={"number": self.phone}, timeout=10)
        body = response.raise_for_status().json()
        return [message["text"] for message in (body["messages"] if isinstance(body, dict) else body)]

    def wait_for(self, condition, what: str, timeout: float = 90) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            texts = self.received()
            if condition(texts):
                return texts
            assert time.monotonic() < deadline, f"{self.tenant.letter} {self.phone}: no {what}; got {texts}"
            time.sleep(0.3)

    def says(self, text: str, expect: int = 1) -> list[str]:
        before = len(self.received())
        httpx.post(f"{self.sandbox_url}/sandbox/inbound", timeout=30, json={
            "instance": f"{self.tenant.slug}-{self.provider}", "from": self.phone, "name": self.name, "text": text,
        }).raise_for_status()
        self.wait_for(lambda texts: len(texts) >= before + expect, f"{expect} answer(s) to {text!r}")
        time.sleep(0.3)  # a multi-message answer finishes arriving
        return self.received()


def _invoice_then_thanks_then_survey(sandbox_url: str, tenant: Tenant) -> None:
    customer = Customer(sandbox_url, tenant, tenant.phones[0], "uazapi", f"Cliente {tenant.marker}")
    if tenant.brain == "rules":
        assert "CPF" in customer.says("oi quero a 2 via do boleto")[-1]
        said = customer.says("".join(ch for ch in tenant.cpf if ch.isdigit()), expect=3)
    else:
        said = customer.says(f"oi, preciso da segunda via. meu cpf é {tenant.cpf}", expect=4)
    assert any("PIX copia e cola" in text for text in said), said
    customer.says("obrigado, era só isso")
    customer.wait_for(lambda texts: any(SURVEY in text for text in texts), "survey")
    customer.says("5")


def _human_then_survey(sandbox_url: str, api_url: str, tenant: Tenant, engine) -> None:
    customer = Customer(sandbox_url, tenant, tenant.phones[1], "evolution", f"Outro {tenant.marker}")
    customer.says("quero falar com um atendente")
    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            conversation = conn.execute(
                select(conversations.c.id, conversations.c.status)
                .join(contacts, contacts.c.id == conversations.c.contact_id)
                .where(contacts.c.phone == customer.phone, conversations.c.tenant_id == tenant.tenant_id)
            ).first()
        if conversation is not None and conversation.status == "waiting":
            break
        assert time.monotonic() < deadline, f"{tenant.letter}: no handoff ({conversation})"
        time.sleep(0.3)
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=30) as api:
        token = api.post("/auth/token", data={"username": tenant.email("admin"), "password": tenant.password})
        api.headers["Authorization"] = f"Bearer {token.raise_for_status().json()['access_token']}"
        base = f"/conversations/{conversation.id}"
        api.post(f"{base}/assign", json={"user_id": str(tenant.admin_id)}).raise_for_status()
        api.post(f"{base}/reply", json={"text": f"Aqui é o atendente {tenant.marker}, já resolvi."}).raise_for_status()
        api.post(f"{base}/close", json={"reason": "resolvido"}).raise_for_status()
    customer.wait_for(lambda texts: any(SURVEY in text for text in texts), "survey")
    customer.says("4")


def _wait_for_answers(engine, tenant: Tenant, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            found = len(conn.execute(select(csat_responses.c.id)
                                     .where(csat_responses.c.tenant_id == tenant.tenant_id)).all())
        if found >= count:
            return
        assert time.monotonic() < deadline, f"{tenant.letter}: {found} CSAT answers of {count}"
        time.sleep(0.3)


def _collect_known(engine, tenant: Tenant) -> None:
    """Every id and identifying value of the tenant's rows, read as the database owner."""
    known = {str(tenant.tenant_id), tenant.slug, tenant.name, tenant.marker, tenant.customer_name, *tenant.phones,
             *tenant.documents(), tenant.email("admin"), tenant.email("gestor")}
    with engine.connect() as conn:
        for table in (conversations, contacts, users, channels, teams, csat_responses, tool_calls, messages):
            known |= {str(row_id) for row_id in conn.execute(select(table.c.id)
                                                             .where(table.c.tenant_id == tenant.tenant_id)).scalars()}
    tenant.known = known | tenant.webhook_keys


# --- the world --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg_server_url, redis_url):
    directory = tmp_path_factory.mktemp("three")
    log_dir = directory / "logs"
    log_dir.mkdir()
    tag = uuid.uuid4().hex[:8]
    op_name, wh_name = f"niochat_iso_op_{tag}", f"niochat_iso_wh_{tag}"
    urls = ServiceUrls(ensure_database(pg_server_url, op_name), ensure_database(pg_server_url, wh_name), redis_url)
    engine = sync_engine(urls.database_url)
    secret_key = f"iso-secret-{secrets.token_urlsafe(32)}"
    tenants = {letter: Tenant(letter, "openai" if letter == "c" else "rules") for letter in "abc"}
    api_port, wa_port, sgp_port = free_port(), free_port(), free_port()
    api_url, sandbox_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{wa_port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NIOCHAT_DATA_DIR": str(directory / "data"),
        "NIOCHAT_DATABASE_URL": urls.database_url,
        "NIOCHAT_WAREHOUSE_URL": urls.warehouse_url,
        "NIOCHAT_REDIS_URL": redis_url,
        "NIOCHAT_SECRET_KEY": secret_key,
        "NIOCHAT_LOG_FORMAT": "json",
        "NIOCHAT_LOG_LEVEL": "INFO",
        "NIOCHAT_API_PORT": str(api_port),
        "NIOCHAT_PUBLIC_URL": api_url,
        "NIOCHAT_WA_SANDBOX_PORT": str(wa_port),
        "NIOCHAT_SGP_SANDBOX_PORT": str(sgp_port),
        "NIOCHAT_DEBOUNCE_SECONDS": "0",
        "NIOCHAT_CSAT_DELAY_SECONDS": "1",
        "NIOCHAT_SWEEP_INTERVAL_SECONDS": "1",
        "NIOCHAT_SEND_RETRY_BASE_SECONDS": "0.2",
    }
    processes = Processes(log_dir, env)
    try:
        with ExitStack() as exits:
            migrate.upgrade(urls.database_url)
            datasets = {letter: _dataset(tenant, directory) for letter, tenant in tenants.items()}
            model_url = exits.enter_context(serving(create_fake_openai()))
            processes.start("sandbox", [sys.executable, "-m", "niochat", "sandbox", "--plain"],
                            NIOCHAT_SGP_SANDBOX_DATA=str(datasets["a"]))
            sgp_urls = {"a": f"http://127.0.0.1:{sgp_port}"}
            for letter in "bc":
                port = free_port()
                processes.start(f"sgp-{letter}", [sys.executable, "-m", "uvicorn", "--factory",
                                                  "sandbox.sgp:create_app", "--host", "127.0.0.1", "--port", str(port)],
                                NIOCHAT_SGP_SANDBOX_DATA=str(datasets[letter]))
                sgp_urls[letter] = f"http://127.0.0.1:{port}"
            processes.start("serve", [sys.executable, "-m", "niochat", "serve"])
            processes.wait_up("sandbox", f"{sandbox_url}/sandbox/instances")
            for letter, url in sgp_urls.items():
                processes.wait_up("sandbox" if letter == "a" else f"sgp-{letter}", f"{url}/sandbox/calls")
            processes.wait_up("serve", f"{api_url}/readyz")

            keyring = Keyring(secret_key)
            for letter, tenant in tenants.items():
                rows, keys = _provision(engine, keyring, tenant, api_url, sandbox_url, sgp_urls[letter], model_url)
                asyncio.run(connect_to_sandbox(sandbox_url, api_url, keyring, rows, keys=keys))

            with ThreadPoolExecutor(6) as pool:
                runs = [pool.submit(_invoice_then_thanks_then_survey, sandbox_url, tenant)
                        for tenant in tenants.values()]
                runs += [pool.submit(_human_then_survey, sandbox_url, api_url, tenant, engine)
                         for tenant in tenants.values()]
                for run in runs:
                    run.result()
            for tenant in tenants.values():
                _wait_for_answers(engine, tenant, 2)
                _collect_known(engine, tenant)

            sync(urls.database_url, urls.warehouse_url)
            built = run_dbt(urls.warehouse_url, *BUILD_WITHOUT_TESTS)
            assert built.returncode == 0, built.stdout[-4000:]
            yield World(tenants, urls, api_url, log_dir, secret_key, env)
    finally:
        processes.stop_all()
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


# --- the checks -------------------------------------------------------------------------------------------------


def _get_routes(api_url: str) -> list[str]:
    paths = httpx.get(f"{api_url}/openapi.json", timeout=10).json()["paths"]
    return sorted(path for path, operations in paths.items() if "get" in operations and path.startswith("/api/v1"))


def _own_ids(engine, tenant: Tenant) -> dict[str, list[str]]:
    with engine.connect() as conn:
        def ids(table):
            return [str(i) for i in conn.execute(select(table.c.id).where(table.c.tenant_id == tenant.tenant_id))
                    .scalars()]

        return {"conversation_id": ids(conversations), "contact_id": ids(contacts), "user_id": ids(users)}


def test_every_api_get_route_shows_only_the_tenants_own_data(world):
    routes = _get_routes(world.api_url)
    assert {"/api/v1/conversations", "/api/v1/conversations/{conversation_id}/messages", "/api/v1/csat",
            "/api/v1/contacts/{contact_id}", "/api/v1/audit"} <= set(routes), routes
    engine = sync_engine(world.urls.database_url)
    try:
        for tenant in world.tenants.values():
            own = _own_ids(engine, tenant)
            foreign = world.others(tenant)
            seen = set()
            with httpx.Client(base_url=world.api_url, timeout=30) as api:
                token = api.post("/api/v1/auth/token", data={"username": tenant.email("admin"),
                                                             "password": tenant.password}).raise_for_status()
                api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
                for path in routes:
                    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
                    assert len(names) <= 1, f"{path}: fill several path parameters"
                    urls = [path.format(**{names[0]: value}) for value in own[names[0]]] if names else [path]
                    assert urls, f"tenant {tenant.letter} has no row for {path}"
                    for url in urls:
                        response = api.get(url, params={"limit": 200})
                        assert response.status_code == 200, f"{tenant.letter} GET {url}: {response.status_code}"
                        found = leaked(response.text, foreign)
                        assert not found, f"tenant {tenant.letter}: GET {url} shows other tenants' {found}"
                        seen |= leaked(response.text, tenant.known)
            # the check can see a leak: the tenant's own phones and names do come out of the API
            assert {*tenant.phones, tenant.marker, tenant.slug} <= seen, seen
            # and its webhook keys never do, not even to its own admin: they were shown once, at creation
            assert not seen & tenant.webhook_keys, f"tenant {tenant.letter}: a GET route shows a webhook key"
    finally:
        engine.dispose()


def test_every_dash_callback_answers_a_manager_with_only_their_tenant(world, tmp_path):
    from dash_app import create_app
    from tests.support.dashboard import callback_payloads, login, wide_period

    app = create_app(Settings(data_dir=tmp_path, secret_key=world.secret_key, _env_file=None), world.urls)
    payloads = callback_payloads(app, wide_period())
    assert len(payloads) >= 15
    for tenant in world.tenants.values():
        client = app.server.test_client()
        assert login(client, tenant.email("gestor"), tenant.password).status_code == 302
        foreign, seen = world.others(tenant), set()
        for output, payload in payloads:
            response = client.post("/_dash-update-component", json=payload)
            assert response.status_code in (200, 204), (tenant.letter, output, response.status_code)
            body = response.get_data(as_text=True)
            found = leaked(body, foreign)
            assert not found, f"tenant {tenant.letter}: callback {output} shows other tenants' {found}"
            seen |= leaked(body, tenant.known)
        assert seen, f"tenant {tenant.letter}: none of its own data in any callback, the check proves nothing"


def test_each_export_holds_only_its_tenants_rows(world, tmp_path):
    for tenant in world.tenants.values():
        out = tmp_path / f"{tenant.slug}.duckdb"
        with open(world.log_dir / f"export-{tenant.letter}.log", "w") as log:
            subprocess.run([sys.executable, "-m", "niochat", "export", "--tenant", tenant.slug, "--out", str(out)],
                           env=world.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=180, check=True)
        foreign = world.others(tenant)
        with duckdb.connect(str(out), read_only=True) as duck:
            conversations_rows = duck.execute("select count(*) from fct_conversations").fetchone()[0]
            assert conversations_rows == 2, conversations_rows
            for table in TABLES:
                rows = duck.execute(f'select distinct tenant_id from "{table}"').fetchall()
                tenant_ids = {str(row[0]) for row in rows}
                assert tenant_ids <= {str(tenant.tenant_id)}, f"{tenant.letter}: {table} holds {tenant_ids}"
                text = json.dumps(duck.execute(f'select * from "{table}"').fetchall(), default=str)
                found = leaked(text, foreign)
                assert not found, f"tenant {tenant.letter}: export table {table} holds other tenants' {found}"
            readme = json.dumps(duck.execute('select * from "README"').fetchall(), default=str)
            assert not leaked(readme, foreign)
            assert tenant.slug in readme


def test_no_process_logged_a_secret_or_a_full_cpf(world):
    logs = {path.name: path.read_text(errors="replace") for path in sorted(world.log_dir.glob("*.log"))}
    assert {"serve.log", "sandbox.log", "sgp-b.log", "sgp-c.log"} <= set(logs), sorted(logs)
    events = [json.loads(line) for line in logs["serve.log"].splitlines() if line.startswith("{")]
    assert events and all("event" in event for event in events), "the API and worker did not log JSON"
    forbidden = {world.secret_key}
    for tenant in world.tenants.values():
        forbidden |= tenant.secrets()
    documents = {document for tenant in world.tenants.values() for document in tenant.documents()}
    for name, text in logs.items():
        assert not {value for value in forbidden if value in text}, f"{name} logged a secret"
        found = {document for document in documents if document in text}
        assert not found, f"{name} logged a full CPF: {sorted(found)}"


def test_no_process_logged_a_webhook_key(world):
    keys = {key for tenant in world.tenants.values() for key in tenant.webhook_keys}
    logs = {path.name: path.read_text(errors="replace") for path in sorted(world.log_dir.glob("*.log"))}
    for name, text in logs.items():
        assert not {key for key in keys if key in text}, f"{name} logged a webhook key"
