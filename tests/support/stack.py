"""The whole engine for end-to-end tests: API server, worker processes, WhatsApp sandbox, one tenant.

Everything is real: uvicorn servers on loopback, `niochat worker` subprocesses, PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from api.app import create_app
from api.whatsapp.sandbox_channels import connect_to_sandbox
from niochat import accounts
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import channels
from sandbox.whatsapp import create_app as create_sandbox
from tests.support.basics import TEST_SECRET, unique_slug
from tests.support.servers import serving


@dataclass
class Stack:
    api_url: str
    sandbox_url: str
    tenant_slug: str
    tenant_id: object
    instances: dict  # provider -> instance name
    env: dict
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def worker_logs(self) -> str:
        return "\n".join(open(path).read()[-4000:] for path in self.logs)

    def start_worker(self) -> subprocess.Popen:
        log = open(os.path.join(self.env["NIOCHAT_DATA_DIR"], f"worker-{len(self.logs)}.log"), "w")  # noqa: SIM115
        self.logs.append(log.name)
        worker = subprocess.Popen([sys.executable, "-m", "niochat", "worker"], env=self.env, stdout=log, stderr=log)
        log.close()
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        worker.send_signal(sig)
        worker.wait(timeout=30)
        self.workers.remove(worker)

    def stop_workers(self) -> None:
        for worker in list(self.workers):
            self.kill_worker(worker, signal.SIGTERM)

    def customer_writes(self, phone: str, text: str, provider: str = "uazapi", **extra) -> dict:
        response = httpx.post(
            f"{self.sandbox_url}/sandbox/inbound",
            json={"instance": self.instances[provider], "from": phone, "name": "Cliente Teste", "text": text, **extra},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def customer_sends(self, phone: str, kind: str, provider: str = "uazapi", **extra) -> dict:
        """A voice note (`text` = what it says), a photo or a document (`caption`, `file_name`)."""
        return self.customer_writes(phone, extra.pop("text", None), provider=provider, kind=kind, **extra)

    def attendant_types(self, phone: str, text: str, provider: str = "uazapi") -> dict:
        """A person answers from the instance's own phone (WhatsApp app or Web), not through NioChat."""
        response = httpx.post(f"{self.sandbox_url}/sandbox/phone-reply",
                              json={"instance": self.instances[provider], "to": phone, "text": text}, timeout=30)
        response.raise_for_status()
        return response.json()

    def sent_to(self, phone: str) -> list[dict]:
        response = httpx.get(f"{self.sandbox_url}/sandbox/messages", params={"number": phone}, timeout=10)
        response.raise_for_status()
        return response.json()["messages"] if isinstance(response.json(), dict) else response.json()

    def wait_for_replies(self, phone: str, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent_to(phone)
            if len(sent) >= count or time.monotonic() > deadline:
                return sent
            time.sleep(0.1)


def _provision(engine, public_url: str, sandbox_url: str):
    slug = unique_slug("e2e")
    keyring = Keyring(TEST_SECRET)
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, "Fibra Teste")
        for team in ("financeiro", "suporte"):
            accounts.create_team(conn, slug, team, team.title())
        instances, keys = {}, {}
        for provider in ("uazapi", "evolution"):
            instances[provider] = f"{slug}-{provider}"
            created = accounts.create_channel(
                conn,
                keyring,
                public_url,
                slug,
                provider,
                provider,
                sandbox_url,
                instances[provider],
                f"token-{provider}-{slug}",
            )
            keys[created.id] = created.webhook_key  # shown this once: stored as its hash
        rows = conn.execute(select(channels).where(channels.c.tenant_id == tenant_id)).all()
    asyncio.run(connect_to_sandbox(sandbox_url, public_url, keyring, rows, keys=keys))
    return slug, tenant_id, instances


def configure_sgp(engine, tenant_id, sgp_url: str, app: str, token: str) -> None:
    from sqlalchemy import insert

    from niochat.tables import sgp_configs

    with engine.begin() as conn:
        conn.execute(
            insert(sgp_configs).values(
                tenant_id=tenant_id,
                base_url=sgp_url,
                app=app,
                timeout_seconds=3,
                token_encrypted=Keyring(TEST_SECRET).encrypt(token),
            )
        )


def configure_model(engine, tenant_id, base_url: str, timeout: float = 3,
                    transcription_model: str | None = "whisper-1") -> None:
    from sqlalchemy import insert

    from niochat.tables import ai_configs

    with engine.begin() as conn:
        conn.execute(
            insert(ai_configs).values(
                tenant_id=tenant_id,
                base_url=base_url,
                model="fake-gpt",
                transcription_model=transcription_model,
                timeout_seconds=timeout,
                api_key_encrypted=Keyring(TEST_SECRET).encrypt("sk-test-key"),
            )
        )


def start_stack(stack: ExitStack, *, tmp_path, database_url: str, redis_url: str, engine, **settings_overrides):
    """Serve API + sandbox, provision a tenant wired to the sandbox; workers are started by the test."""
    values = {"debounce_seconds": 0, "send_retry_base_seconds": 0.2, "sweep_interval_seconds": 2, **settings_overrides}
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None, **values)
    urls = ServiceUrls(database_url, database_url, redis_url)
    sandbox_url = stack.enter_context(serving(create_sandbox()))
    api_url = stack.enter_context(serving(create_app(settings, urls)))
    slug, tenant_id, instances = _provision(engine, api_url, sandbox_url)
    env = {
        **os.environ,
        "NIOCHAT_DATABASE_URL": database_url,
        "NIOCHAT_REDIS_URL": redis_url,
        "NIOCHAT_SECRET_KEY": TEST_SECRET,
        "NIOCHAT_DATA_DIR": str(tmp_path),
        "NIOCHAT_LOG_LEVEL": "INFO",
        **{f"NIOCHAT_{key.upper()}": str(value) for key, value in values.items()},
    }
    result = Stack(api_url, sandbox_url, slug, tenant_id, instances, env)
    stack.callback(result.stop_workers)
    return result
