"""The services a benchmark runs on (PostgreSQL and Redis, migrated), the processes it spawns, and the tenants
and channels it provisions."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report import log

ROOT = Path(__file__).resolve().parents[1]
BENCH_SECRET = "bench-secret-key-" + "b" * 40


@dataclass
class Environment:
    """Temp data dir, PostgreSQL + Redis (embedded unless NIOCHAT_DATABASE_URL / NIOCHAT_REDIS_URL), migrated."""

    data_dir: Path
    database_url: str
    warehouse_url: str
    redis_url: str
    embedded: list[str]
    services: Any = None
    processes: list[subprocess.Popen] = field(default_factory=list)

    def env(self, **extra: Any) -> dict[str, str]:
        values = {
            **os.environ,
            "NIOCHAT_DATA_DIR": str(self.data_dir),
            "NIOCHAT_DATABASE_URL": self.database_url,
            "NIOCHAT_WAREHOUSE_URL": self.warehouse_url,
            "NIOCHAT_REDIS_URL": self.redis_url,
            "NIOCHAT_SECRET_KEY": os.environ.get("NIOCHAT_SECRET_KEY") or BENCH_SECRET,
            "NIOCHAT_DEBOUNCE_SECONDS": "0",
            "NIOCHAT_EGRESS_ALLOW": "127.0.0.1",  # the sandboxes, on loopback, play the providers
            "NIOCHAT_LOG_LEVEL": "WARNING",
            "NIOCHAT_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        values.update({key: str(value) for key, value in extra.items()})
        return values

    @property
    def secret_key(self) -> str:
        return os.environ.get("NIOCHAT_SECRET_KEY") or BENCH_SECRET

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log_path = self.data_dir / f"{name}.log"
        with open(log_path, "w") as out:
            process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                       start_new_session=True)
        process.log_path = log_path  # type: ignore[attr-defined]
        process.bench_name = name  # type: ignore[attr-defined]
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 15) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if process in self.processes:
            self.processes.remove(process)

    def log_tail(self, process: subprocess.Popen, chars: int = 3000) -> str:
        try:
            return Path(process.log_path).read_text()[-chars:]  # type: ignore[attr-defined]
        except OSError:
            return ""


@contextmanager
def environment(keep: bool = False, data_dir: Path | None = None):
    """Yields an Environment; stops every process it spawned and the embedded servers afterwards. A given
    `data_dir` is used (its embedded PostgreSQL and Redis data reused) and kept."""
    from niochat import migrate
    from niochat.embedded import Services
    from niochat.settings import Settings

    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="niochat-bench-"))
    else:
        data_dir, keep = data_dir.resolve(), True
        data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)  # the embedded PostgreSQL runs as its own system user under root
    settings = Settings(
        data_dir=data_dir, database_url=os.environ.get("NIOCHAT_DATABASE_URL") or None,
        warehouse_url=os.environ.get("NIOCHAT_WAREHOUSE_URL") or None,
        redis_url=os.environ.get("NIOCHAT_REDIS_URL") or None, secret_key=BENCH_SECRET, _env_file=None,
    )
    services = Services(settings)
    env = None
    try:
        embedded = [name for name, server in (("postgres", services.postgres), ("redis", services.redis)) if server]
        log(f"starting services in {data_dir} (embedded: {', '.join(embedded) or 'none'})")
        urls = services.start()
        migrate.upgrade(urls.database_url)
        env = Environment(data_dir, urls.database_url, urls.warehouse_url, urls.redis_url, list(services.started),
                          services)
        yield env
    finally:
        if env is not None:
            for process in list(env.processes):
                env.stop(process)
        services.stop()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def postgres_databases(pg_url: str | None, *names: str, keep: bool = False):
    """Fresh databases (one per name) on the server `pg_url`, else on an embedded pgserver in a temp dir.

    Yields their URLs in order; drops them afterwards unless `keep` (then prints where they are).
    """
    from niochat.database import drop_database, ensure_database
    from niochat.embedded import EmbeddedPostgres

    workdir = Path(tempfile.mkdtemp(prefix="niochat-bench-"))
    workdir.chmod(0o755)  # the embedded PostgreSQL runs as its own system user under root
    embedded = None
    if not pg_url:
        embedded = EmbeddedPostgres(workdir)
        pg_url = embedded.start()
    tag = secrets.token_hex(4)
    databases = [f"bench_{name}_{tag}" for name in names]
    try:
        yield [ensure_database(pg_url, database) for database in databases]
    finally:
        if keep and not embedded:
            log(f"kept databases {', '.join(databases)} on {pg_url}")
        else:
            for database in databases:
                drop_database(pg_url, database)
        if embedded is not None:
            embedded.release()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class Channel:
    tenant_slug: str
    tenant_id: Any
    instance: str
    token: str
    webhook_key: str

    def webhook_path(self) -> str:
        return f"/webhooks/uazapi/{self.webhook_key}"


def provision(env: Environment, count: int, *, sandbox_url: str = "http://127.0.0.1:9",
              public_url: str = "http://127.0.0.1:8000", name: str = "Fibra Bench") -> list[Channel]:
    """`count` tenants, each with one Uazapi channel whose provider is `sandbox_url`."""
    from niochat import accounts
    from niochat.database import sync_engine
    from niochat.secrets import Keyring

    keyring = Keyring(env.secret_key)
    engine = sync_engine(env.database_url)
    created = []
    try:
        with engine.begin() as conn:
            for _ in range(count):
                slug = f"bench-{secrets.token_hex(4)}"
                tenant_id = accounts.create_tenant(conn, slug, name)
                accounts.create_team(conn, slug, "suporte", "Suporte")
                instance, token = f"{slug}-uazapi", f"token-{secrets.token_hex(8)}"
                channel = accounts.create_channel(conn, keyring, public_url, slug, "uazapi", "WhatsApp", sandbox_url,
                                               instance, token)
                created.append(Channel(slug, tenant_id, instance, token, channel.webhook_key))
    finally:
        engine.dispose()
    return created


def connect_sandbox(env: Environment, channels: Iterable[Channel], sandbox_url: str, api_url: str) -> None:
    """Create the instances in the WhatsApp sandbox and register our webhook there (as `niochat demo` does)."""
    from sqlalchemy import select

    from api.whatsapp.sandbox_channels import connect_to_sandbox
    from niochat.channel_keys import key_hash
    from niochat.database import sync_engine
    from niochat.secrets import Keyring
    from niochat.tables import channels as channels_table

    keys = {key_hash(channel.webhook_key): channel.webhook_key for channel in channels}
    engine = sync_engine(env.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(channels_table)
                                .where(channels_table.c.webhook_key_sha256.in_(list(keys)))).all()
    finally:
        engine.dispose()
    asyncio.run(connect_to_sandbox(sandbox_url, api_url, Keyring(env.secret_key), rows,
                                   keys={row.id: keys[row.webhook_key_sha256] for row in rows}))
