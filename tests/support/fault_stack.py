"""Real processes to break on purpose, for tests/e2e/test_reliability.py.

A `World` is a whole installation of its own in a temp dir: an embedded PostgreSQL and Redis that the tests may
stop and start again (never the session's servers, which in CI's integration leg are the machine's), the WhatsApp
sandbox as its own uvicorn process (the provider: it retries webhooks on 5xx and connection errors), the SGP
sandbox, API processes (`uvicorn --factory api.app:app_factory`) and `niochat worker` processes, each with its
log file. Tenants are provisioned as `niochat` would: channels created in the database, instances created in
the sandbox and each channel's webhook registered there, pointing at one API process.

`Load` makes customers write through the sandbox (`POST /sandbox/inbound`: the sandbox posts the real provider
webhook and retries it), each customer's messages in order, on a schedule; `audit()` counts what happened to them
and `Audit.problems()` says what was lost or doubled.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from sqlalchemy import func, select, text

from niochat import accounts, migrate
from niochat.database import ensure_database, sync_engine
from niochat.embedded import EmbeddedPostgres, EmbeddedRedis
from niochat.readiness import Exited, NoAnswer, answers_200, wait_until_answers
from niochat.redis import QUEUE_NAME
from niochat.secrets import Keyring
from niochat.tables import channels, contacts, conversations, messages
from tests.support.basics import ROOT, SGP_DATASET, TEST_SECRET
from tests.support.servers import free_port, serving

ROOT = ROOT
SGP_DATASET = SGP_DATASET
WEBHOOK_RETRIES_ENV = "NIOCHAT_TEST_WEBHOOK_RETRIES"
SENT_STATES = ("sent", "delivered", "read")
UNFINISHED = ("received", "queued", "sending")


def whatsapp_sandbox_app():
    """`uvicorn --factory tests.support.fault_stack:whatsapp_sandbox_app`: the sandbox with enough webhook retries
    (backoff 0.2 s doubling: 12 retries span ~13 minutes) to outlast a restart of whatever it posts to."""
    from sandbox.whatsapp import create_app

    return create_app(webhook_retries=int(os.environ.get(WEBHOOK_RETRIES_ENV, "12")))


# ---------------------------------------------------------------- processes


@dataclass
class Proc:
    """One child process, restartable with the same command line (an API keeps its port, so the webhook
    URLs registered at the provider stay valid)."""

    name: str
    argv: list[str]
    env: dict = field(repr=False)  # the whole environment: never in an assertion message
    log_dir: Path
    ready_url: str | None = None
    popen: subprocess.Popen | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def start(self, ready_timeout: float = 120, wait: bool = True) -> Proc:
        self.starts += 1
        with open(self.log_path, "a") as out:
            out.write(f"\n===== start #{self.starts} at {time.strftime('%H:%M:%S')}\n")
            out.flush()
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        if self.ready_url and wait:
            self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        try:
            wait_until_answers(self.ready_url, timeout, process=self.popen, ok=answers_200, request_timeout=3)
        except Exited as exc:
            raise RuntimeError(f"{self.name} exited with {exc.returncode}:\n{self.tail()}") from None
        except NoAnswer:
            raise RuntimeError(f"{self.name} not ready on {self.ready_url} within {timeout:.0f} s:\n{self.tail()}") \
                from None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def __str__(self) -> str:
        state = "running" if self.alive() else f"exited {self.popen.returncode}" if self.popen else "not started"
        return f"{self.name} (pid {self.pid}, {state}, started {self.starts} times)"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal it (kill -9 by default: no cleanup at all) and reap it."""
        if self.alive():
            self.popen.send_signal(sig)
            self.popen.wait(timeout=60)

    def stop(self, grace: float = 20) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def status_kb(self, field_name: str) -> int | None:
        """A size from /proc/<pid>/status (VmRSS, VmHWM), in kB; None when the process is gone."""
        if not self.alive():
            return None
        try:
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# ---------------------------------------------------------------- the installation


@dataclass(frozen=True)
class Channel:
    tenant: str
    provider: str
    instance: str
    api_index: int  # which API process its webhook points at


@dataclass
class World:
    """PostgreSQL, Redis, sandboxes, API and worker processes of one installation; see the module docstring."""

    root: Path
    settings: dict
    api_count: int = 1
    webhook_retries: int = 12
    exits: ExitStack = field(default_factory=ExitStack)
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    tenants: dict = field(default_factory=dict)  # slug -> tenant id
    _phones: int = 0

    # ---- lifecycle

    def start(self) -> World:
        self.postgres = EmbeddedPostgres(self.root)
        self.redis_server = EmbeddedRedis(self.root)
        self.exits.callback(self._release_services)
        server_url = self.postgres.start()
        self.database_url = ensure_database(server_url, "niochat")
        migrate.upgrade(self.database_url)
        self.redis_url = self.redis_server.start()
        self.engine = sync_engine(self.database_url)
        self.exits.callback(self.engine.dispose)
        self.keyring = Keyring(TEST_SECRET)
        self.logs = self.root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "NIOCHAT_DATA_DIR": str(self.root / "data"),
            "NIOCHAT_DATABASE_URL": self.database_url,
            "NIOCHAT_WAREHOUSE_URL": self.database_url,  # no warehouse database: nothing here reads it
            "NIOCHAT_REDIS_URL": self.redis_url,
            "NIOCHAT_SECRET_KEY": TEST_SECRET,
            "NIOCHAT_LOG_LEVEL": "INFO",
            "NIOCHAT_LOG_FORMAT": "console",
            WEBHOOK_RETRIES_ENV: str(self.webhook_retries),
            **{f"NIOCHAT_{key.upper()}": str(value) for key, value in self.settings.items()},
        }
        self.exits.callback(self._stop_processes)
        sandbox_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox_app = _uvicorn("tests.support.fault_stack:whatsapp_sandbox_app", sandbox_port)
        self.sandbox = Proc("whatsapp-sandbox", sandbox_app, self.env, self.logs,
                            ready_url=f"{self.sandbox_url}/healthz").start()
        from sandbox.sgp import create_app as create_sgp

        self.sgp_url = self.exits.enter_context(serving(create_sgp(dataset_path=SGP_DATASET)))
        self.sgp_dataset = json.loads(SGP_DATASET.read_text())
        for index in range(self.api_count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {**self.env, "NIOCHAT_PUBLIC_URL": url, "NIOCHAT_API_PORT": str(port)}
            self.apis.append(Proc(f"api-{index}", _uvicorn("api.app:app_factory", port), env, self.logs,
                                  ready_url=f"{url}/readyz"))
        return self

    def close(self) -> None:
        self.exits.close()

    def _stop_processes(self) -> None:
        for proc in [*self.workers, *self.apis, self.sandbox]:
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - stop the others anyway
                pass

    def _release_services(self) -> None:
        self.redis_server.release()
        self.postgres.release()
        shutil.rmtree(self.root, ignore_errors=True)

    def api_url(self, index: int = 0) -> str:
        return self.apis[index].ready_url.removesuffix("/readyz")

    def start_apis(self) -> None:
        """Start the API processes not running (all at once), and wait until each is ready."""
        started = [proc.start(wait=False) for proc in self.apis if not proc.alive()]
        for proc in started:
            proc.wait_ready(120)

    def add_worker(self) -> Proc:
        proc = Proc(f"worker-{len(self.workers)}", [sys.executable, "-m", "niochat", "worker"], self.env, self.logs)
        self.workers.append(proc.start())
        return proc

    def logs_tail(self, chars: int = 2500) -> str:
        return "\n".join(f"--- {proc.name} ({proc.log_path})\n{proc.tail(chars)}"
                         for proc in [*self.apis, *self.workers])

    # ---- provisioning

    def add_tenant(self, prefix: str, *, providers=("uazapi", "evolution"), sgp: bool = False,
                   model_url: str | None = None) -> str:
        """A tenant with one channel per provider per API process, wired to the sandbox; optionally its SGP
        (the SGP sandbox's dataset credentials) and a model endpoint."""
        from api.whatsapp.sandbox_channels import connect_to_sandbox
        from tests.support.stack import configure_model, configure_sgp

        slug = f"{prefix}-{os.urandom(3).hex()}"
        created: list[tuple[Channel, uuid.UUID, str]] = []
        with self.engine.begin() as conn:
            tenant_id = accounts.create_tenant(conn, slug, "Fibra Teste")
            for team in ("financeiro", "suporte"):
                accounts.create_team(conn, slug, team, team.title())
            for api_index in range(self.api_count):
                for provider in providers:
                    instance = f"{slug}-{provider}-{api_index}"
                    channel = accounts.create_channel(conn, self.keyring, self.api_url(api_index), slug, provider,
                                                   provider, self.sandbox_url, instance, f"tk-{instance}")
                    created.append((Channel(slug, provider, instance, api_index), channel.id, channel.webhook_key))
        self.tenants[slug] = tenant_id
        for api_index in range(self.api_count):
            keys = {channel_id: key for channel, channel_id, key in created if channel.api_index == api_index}
            with self.engine.connect() as conn:
                rows = conn.execute(select(channels).where(channels.c.id.in_(list(keys)))).all()
            asyncio.run(connect_to_sandbox(self.sandbox_url, self.api_url(api_index), self.keyring, rows,
                                           keys=keys))
        self.channels.extend(channel for channel, _, _ in created)
        if sgp:
            configure_sgp(self.engine, tenant_id, self.sgp_url, self.sgp_dataset["app"], self.sgp_dataset["token"])
        if model_url:
            configure_model(self.engine, tenant_id, model_url, timeout=3)
        return slug

    def channels_of(self, slug: str) -> list[Channel]:
        return [channel for channel in self.channels if channel.tenant == slug]

    def new_phones(self, count: int) -> list[str]:
        """Phones no earlier customer of this world used: 55 + DDD 11..99 + 9 + 8 digits."""
        start, self._phones = self._phones, self._phones + count
        return [f"55{11 + (n // 10**8) % 89:02d}9{n % 10**8:08d}" for n in range(start, start + count)]

    # ---- faults and inspection

    def sandbox_fault(self, **fault) -> None:
        httpx.post(f"{self.sandbox_url}/sandbox/faults", json=fault, timeout=10).raise_for_status()

    def sandbox_deliveries(self) -> list[dict]:
        response = httpx.get(f"{self.sandbox_url}/sandbox/deliveries", timeout=60)
        response.raise_for_status()
        return response.json()

    def sandbox_messages(self) -> list[dict]:
        response = httpx.get(f"{self.sandbox_url}/sandbox/messages", timeout=60)
        response.raise_for_status()
        return response.json()

    def sandbox_messages_for(self, phone: str) -> list[dict]:
        response = httpx.get(f"{self.sandbox_url}/sandbox/messages", params={"number": phone}, timeout=60)
        response.raise_for_status()
        return response.json()

    def unfinished_messages(self) -> int:
        """Messages of any tenant still waiting for the engine: inbound unprocessed, outbound not sent yet."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(messages).where(messages.c.status.in_(UNFINISHED)))

    def queued_jobs(self) -> list[str]:
        """Job ids still in the arq queue, the sweeper's own cron runs left out."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            ids = [job.decode() for job in client.zrange(QUEUE_NAME, 0, -1)]
        finally:
            client.close()
        return [job for job in ids if not job.startswith("cron:")]

    def wait_until_settled(self, phones: list[str], timeout: float) -> None:
        """Until every customer got a reply, no message waits for the engine and no job is left in the queue."""
        deadline = time.monotonic() + timeout
        wanted = set(phones)
        while True:
            answered = {message["number"] for message in self.sandbox_messages()} & wanted
            try:
                unfinished, jobs = self.unfinished_messages(), self.queued_jobs()
            except Exception as exc:  # noqa: BLE001 - a service still coming back: ask again
                unfinished, jobs = f"unknown ({type(exc).__name__})", ["unknown"]
            if len(answered) == len(wanted) and unfinished == 0 and not jobs:
                return
            if time.monotonic() > deadline:
                return  # the audit says what is missing
            time.sleep(0.5)


def _uvicorn(target: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "30"]


def new_world(settings: dict, *, api_count: int = 1, webhook_retries: int = 12) -> World:
    # outside pytest's 0700 temp tree: the embedded PostgreSQL runs as its own system user under root
    root = Path(tempfile.mkdtemp(prefix="niochat-rel-"))
    root.chmod(0o755)
    world = World(root, settings, api_count=api_count, webhook_retries=webhook_retries)
    try:
        return world.start()
    except BaseException:
        world.close()
        raise


# ---------------------------------------------------------------- customers writing


@dataclass
class Customer:
    phone: str
    channel: Channel
    texts: list[str]
    at: list[float]  # seconds after the load starts, one per text
    ids: list[str] = field(default_factory=list)  # provider message ids, one per text


@dataclass
class Sent:
    phone: str
    message_id: str
    delivered: bool
    status: int | None
    attempts: int
    error: str | None = None


class Load:
    """Customers writing through the sandbox on a schedule, in a background thread (its own event loop): each
    customer's messages one after the other, every POST waited for (the sandbox retries the webhook inside it)."""

    def __init__(self, world: World, customers: list[Customer], concurrency: int = 64):
        self.world, self.customers, self.concurrency = world, customers, concurrency
        self.results: list[Sent] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)
        self._lock = threading.Lock()

    @property
    def message_count(self) -> int:
        return sum(len(customer.texts) for customer in self.customers)

    def posted(self) -> int:
        with self._lock:
            return len(self.results)

    def start(self) -> Load:
        self._thread.start()
        return self

    def wait_posted(self, count: int, timeout: float) -> None:
        """Until `count` webhooks were accepted (or the load ended, or the deadline passed)."""
        deadline = time.monotonic() + timeout
        while self.posted() < count and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def join(self, timeout: float) -> list[Sent]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the load did not finish within {timeout:.0f} s: {self.posted()} of "
                                 f"{self.message_count} messages posted")
        if self.errors:
            raise AssertionError(f"the load generator failed: {self.errors[:5]}")
        return self.results

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - reported by join()
            self.errors.append(repr(exc))

    async def _main(self) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.world.sandbox_url, timeout=900, limits=limits) as http:
            start = asyncio.get_running_loop().time()
            await asyncio.gather(*(self._customer(http, gate, customer, start) for customer in self.customers))

    async def _customer(self, http: httpx.AsyncClient, gate: asyncio.Semaphore, customer: Customer,
                        start: float) -> None:
        loop = asyncio.get_running_loop()
        for text_, at, message_id in zip(customer.texts, customer.at, customer.ids, strict=True):
            delay = start + at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            body = {"instance": customer.channel.instance, "from": customer.phone, "name": "Cliente Teste",
                    "text": text_, "id": message_id}
            async with gate:
                try:
                    response = await http.post("/sandbox/inbound", json=body)
                    answer = response.json() if response.status_code == 200 else {}
                    sent = Sent(customer.phone, message_id, bool(answer.get("delivered")),
                                answer.get("webhook_status"), answer.get("attempts", 0),
                                None if response.status_code == 200 else f"sandbox HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    sent = Sent(customer.phone, message_id, False, None, 0, repr(exc))
            with self._lock:
                self.results.append(sent)


TEXTS = ["oi", "bom dia", "minha internet caiu", "quero a segunda via", "a internet está lenta",
         "qual o horário de vocês?", "boa tarde, tudo bem?", "preciso de ajuda"]


def make_customers(world: World, slug: str, count: int, *, messages_each: int = 1, spread: float = 0.0,
                   texts: list[str] | None = None, seed: int = 7) -> list[Customer]:
    """`count` customers of tenant `slug`, alternating over its channels (so over providers and API processes),
    each writing `messages_each` texts at random moments within `spread` seconds."""
    rng = random.Random(seed)
    tenant_channels = world.channels_of(slug)
    customers = []
    for index, phone in enumerate(world.new_phones(count)):
        at = sorted(rng.uniform(0, spread) for _ in range(messages_each))
        said = [rng.choice(texts or TEXTS) for _ in range(messages_each)]
        ids = [f"REL{phone}X{n}" for n in range(messages_each)]
        customers.append(Customer(phone, tenant_channels[index % len(tenant_channels)], said, at, ids))
    return customers


# ---------------------------------------------------------------- counting


@dataclass
class Audit:
    customers: int
    messages_written: int
    webhooks_not_delivered: list[Sent]
    inbound_rows_per_id: Counter  # provider message id -> rows stored
    inbound_status: Counter  # status -> inbound rows (of these customers)
    outbound_status: Counter  # status -> outbound rows (of these customers)
    sandbox_per_phone: dict  # phone -> messages the sandbox received for it
    sent_rows_per_phone: dict  # phone -> outbound rows recorded as sent
    mismatched_ids: dict  # phone -> (sandbox ids, recorded provider ids) when they differ
    unanswered: list[str]
    unfinished_anywhere: int
    queued_jobs: list[str]
    written_ids: set = field(default_factory=set)

    def problems(self) -> list[str]:
        found = []
        if self.webhooks_not_delivered:
            found.append(f"{len(self.webhooks_not_delivered)} webhooks the provider gave up on "
                         f"(raise its retries): {self.webhooks_not_delivered[:3]}")
        lost = sorted(self.written_ids - set(self.inbound_rows_per_id))
        if lost:
            found.append(f"{len(lost)} customer messages never stored: {lost[:5]}")
        doubled = {key: n for key, n in self.inbound_rows_per_id.items() if n != 1}
        if doubled:
            found.append(f"{len(doubled)} customer messages stored more than once: {list(doubled.items())[:5]}")
        if set(self.inbound_status) - {"processed"}:
            found.append(f"inbound messages not processed: {dict(self.inbound_status)}")
        if set(self.outbound_status) - set(SENT_STATES):
            found.append(f"outbound messages not sent: {dict(self.outbound_status)}")
        if self.unanswered:
            found.append(f"{len(self.unanswered)} customers never answered: {self.unanswered[:5]}")
        twice = {phone: (self.sandbox_per_phone.get(phone, 0), self.sent_rows_per_phone.get(phone, 0))
                 for phone in set(self.sandbox_per_phone) | set(self.sent_rows_per_phone)
                 if self.sandbox_per_phone.get(phone, 0) != self.sent_rows_per_phone.get(phone, 0)}
        if twice:
            found.append(f"{len(twice)} customers got a different number of messages than were recorded as "
                         f"sent (sandbox, rows): {list(twice.items())[:5]}")
        if self.mismatched_ids:
            found.append(f"sandbox ids differ from recorded ids for {len(self.mismatched_ids)} customers: "
                         f"{list(self.mismatched_ids.items())[:3]}")
        if self.unfinished_anywhere:
            found.append(f"{self.unfinished_anywhere} messages left received/queued/sending")
        if self.queued_jobs:
            found.append(f"{len(self.queued_jobs)} jobs stuck in the queue: {self.queued_jobs[:5]}")
        return found

    def summary(self) -> str:
        return (f"{self.customers} customers, {self.messages_written} messages written, "
                f"{sum(self.inbound_rows_per_id.values())} stored, inbound {dict(self.inbound_status)}, "
                f"outbound {dict(self.outbound_status)}, {sum(self.sandbox_per_phone.values())} received by the "
                f"sandbox")


def audit(world: World, customers: list[Customer], results: list[Sent]) -> Audit:
    phones = [customer.phone for customer in customers]
    written = {message_id for customer in customers for message_id in customer.ids}
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(contacts.c.phone, messages.c.direction, messages.c.status, messages.c.provider_message_id)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone.in_(phones))
        ).all()
    inbound = [row for row in rows if row.direction == "inbound"]
    outbound = [row for row in rows if row.direction == "outbound"]
    recorded_ids: dict[str, list[str]] = defaultdict(list)
    for row in outbound:
        if row.status in SENT_STATES:
            recorded_ids[row.phone].append(row.provider_message_id)
    received_ids: dict[str, list[str]] = defaultdict(list)
    wanted = set(phones)
    for message in world.sandbox_messages():
        if message["number"] in wanted:
            received_ids[message["number"]].append(message["id"])
    mismatched = {phone: (sorted(received_ids[phone]), sorted(recorded_ids[phone]))
                  for phone in set(received_ids) | set(recorded_ids)
                  if sorted(received_ids[phone]) != sorted(recorded_ids[phone])}
    return Audit(
        customers=len(customers),
        messages_written=len(written),
        webhooks_not_delivered=[sent for sent in results if not sent.delivered],
        inbound_rows_per_id=Counter(row.provider_message_id for row in inbound),
        inbound_status=Counter(row.status for row in inbound),
        outbound_status=Counter(row.status for row in outbound),
        sandbox_per_phone={phone: len(ids) for phone, ids in received_ids.items()},
        sent_rows_per_phone={phone: len(ids) for phone, ids in recorded_ids.items()},
        mismatched_ids=mismatched,
        unanswered=[phone for phone in phones if not received_ids.get(phone)],
        unfinished_anywhere=world.unfinished_messages(),
        queued_jobs=world.queued_jobs(),
        written_ids=written,
    )


def count_where(world: World, sql: str, **params) -> int:
    with world.engine.connect() as conn:
        return conn.scalar(text(sql), params)


# ---------------------------------------------------------------- memory


class MemorySampler:
    """VmRSS of the given processes every `interval` seconds in a thread, by process name; VmHWM at the end."""

    def __init__(self, procs: list[Proc], interval: float = 1.0):
        self.procs, self.interval = procs, interval
        self.samples: dict[str, list[int]] = defaultdict(list)
        self.peak_kb: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        for proc in self.procs:
            if (peak := proc.status_kb("VmHWM")) is not None:
                self.peak_kb[proc.name] = peak

    def _run(self) -> None:
        while not self._stop.is_set():
            for proc in self.procs:
                if (rss := proc.status_kb("VmRSS")) is not None:
                    self.samples[proc.name].append(rss)
            self._stop.wait(self.interval)

    def thirds(self) -> dict[str, tuple[float, float]]:
        """Per process: mean RSS (MB) of the first and of the last third of the samples."""
        result = {}
        for name, values in self.samples.items():
            third = max(1, len(values) // 3)
            result[name] = (sum(values[:third]) / third / 1024, sum(values[-third:]) / third / 1024)
        return result
