"""What every benchmark shares: services, provisioning, real server processes, RSS sampling, stats, results."""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from niochat.local_servers import free_port
from niochat.readiness import Exited, NoAnswer, answers_200, wait_until_answers

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
BENCH_SECRET = "bench-secret-key-" + "b" * 40


# ---------------------------------------------------------------- pure helpers


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """count, mean, p50/p95/p99 and max, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 3)

    return {
        "count": len(seconds),
        "mean_ms": ms(sum(seconds) / len(seconds)) if seconds else None,
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds)) if seconds else None,
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def customer_phone(index: int, area: int = 11) -> str:
    """A distinct Brazilian mobile number per simulated customer: 55 + DDD + 9 + 8 digits."""
    if not 0 <= index < 100_000_000:
        raise ValueError("customer index out of range")
    return f"55{area:02d}9{index:08d}"


def uazapi_inbound_payload(instance: str, token: str, phone: str, text: str, message_id: str | None = None,
                           name: str = "Cliente Bench") -> dict[str, Any]:
    """A customer's text exactly as the WhatsApp sandbox (and uazapiGO) would post it to our webhook."""
    from sandbox.whatsapp import uazapi_payloads
    from sandbox.whatsapp.ids import now, phone_message_id
    from sandbox.whatsapp.state import Instance

    owner = Instance(provider="uazapi", name=instance, token=token)
    return uazapi_payloads.inbound(
        owner, "http://127.0.0.1:8100", phone=phone, name=name, text=text,
        message_id=message_id or phone_message_id(), moment=now(), lid=False, quoted=None, quoted_text=None,
        unread=1,
    )


# ---------------------------------------------------------------- machine and results


def machine_info(database_url: str | None = None, redis_url: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count_logical": os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_total_mb": round(psutil.virtual_memory().total / 2**20),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        info["cpu_affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        pass
    if database_url:
        info["postgres"] = _postgres_version(database_url)
    if redis_url:
        info["redis"] = _redis_version(redis_url)
    for name in ("uvicorn", "fastapi", "httpx", "uvloop", "httptools", "arq"):
        info[f"{name}_version"] = _version(name)
    return info


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _postgres_version(database_url: str) -> str | None:
    try:
        from sqlalchemy import text

        from niochat.database import sync_engine

        engine = sync_engine(database_url)
        try:
            with engine.connect() as conn:
                return conn.scalar(text("show server_version"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"unknown ({type(exc).__name__})"


def _redis_version(redis_url: str) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(redis_url)
        try:
            return client.info("server").get("redis_version")
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - informative only
        return f"unknown ({type(exc).__name__})"


def write_result(name: str, payload: dict[str, Any], output: str | Path | None = None) -> Path:
    path = Path(output) if output else RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def utc_stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- services and provisioning


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
def environment(keep: bool = False):
    """Yields an Environment; stops every process it spawned and the embedded servers afterwards."""
    from niochat import migrate
    from niochat.embedded import Services
    from niochat.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="niochat-bench-"))
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
    from niochat import admin
    from niochat.database import sync_engine
    from niochat.secrets import Keyring

    keyring = Keyring(env.secret_key)
    engine = sync_engine(env.database_url)
    created = []
    try:
        with engine.begin() as conn:
            for _ in range(count):
                slug = f"bench-{secrets.token_hex(4)}"
                tenant_id = admin.create_tenant(conn, slug, name)
                admin.create_team(conn, slug, "suporte", "Suporte")
                instance, token = f"{slug}-uazapi", f"token-{secrets.token_hex(8)}"
                channel = admin.create_channel(conn, keyring, public_url, slug, "uazapi", "WhatsApp", sandbox_url,
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


# ---------------------------------------------------------------- processes


def uvicorn_args(target: str, port: int, procs: int = 1, factory: bool = True) -> list[str]:
    """The same uvicorn settings for every server under test: uvloop + httptools, no access log."""
    args = [sys.executable, "-m", "uvicorn"]
    if factory:
        args.append("--factory")
    args += [target, "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
             "--backlog", "4096", "--timeout-keep-alive", "30"]
    if procs > 1:
        args += ["--workers", str(procs)]
    return args


def wait_ready(env: Environment, process: subprocess.Popen, url: str, timeout: float = 60) -> None:
    try:
        wait_until_answers(url, timeout, process=process, ok=answers_200, interval=0.1)
    except Exited as exc:
        raise RuntimeError(f"{url} exited with {exc.returncode}:\n{env.log_tail(process)}") from None
    except NoAnswer:
        raise RuntimeError(f"{url} did not become ready in {timeout:.0f}s:\n{env.log_tail(process)}") from None


def serve(env: Environment, name: str, target: str, *, procs: int = 1, ready_path: str = "/healthz",
          extra_env: dict[str, Any] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = env.spawn(name, uvicorn_args(target, port, procs), env.env(NIOCHAT_PUBLIC_URL=url,
                                                                         **(extra_env or {})))
    wait_ready(env, process, url + ready_path)
    if procs > 1:  # every uvicorn worker process must be up, not just the first one answering
        deadline = time.monotonic() + 60
        while len(tree_pids(process.pid)) < procs + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
    return process, url


def tree_pids(pid: int) -> list[int]:
    try:
        parent = psutil.Process(pid)
        return [parent.pid] + [child.pid for child in parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def parse_vm_hwm(status: str) -> int | None:
    """Bytes of the `VmHWM:` line of a /proc/<pid>/status text: the kernel's own peak RSS of the process."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmHWM unit {unit!r}")
            return int(value) * 1024
    return None


def vm_hwm_bytes(pid: int) -> int | None:
    """The peak RSS of a live process since it started (Linux), None when unknown."""
    try:
        return parse_vm_hwm(Path(f"/proc/{pid}/status").read_text())
    except (OSError, ValueError):
        return None


def _process_label(pid: int) -> str:
    try:
        args = psutil.Process(pid).cmdline()
    except psutil.Error:
        return str(pid)
    interesting = [arg for arg in args[1:] if not arg.startswith("-")][:2]
    return f"{pid} {' '.join(Path(arg).name for arg in interesting)}".strip()


class RssSampler:
    """Samples the summed RSS of process trees every `interval` seconds in a thread; keeps the peak.

    The sampled sum can miss a short spike between samples; beside it, each process's VmHWM (the kernel's exact
    peak RSS since the process started, read at every sample and once more at the end) is kept per process.
    """

    def __init__(self, pids: Iterable[int], interval: float = 0.1):
        self.roots = list(pids)
        self.interval = interval
        self.peak_bytes = 0
        self.start_bytes: int | None = None
        self.last_bytes = 0
        self.samples = 0
        self.max_processes = 0
        self.high_water: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        total = 0
        pids = [pid for root in self.roots for pid in tree_pids(root)]
        self.max_processes = max(self.max_processes, len(pids))
        for pid in pids:
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
            if (peak := vm_hwm_bytes(pid)) is not None:
                self.high_water[pid] = max(peak, self.high_water.get(pid, 0))
                if pid not in self.labels:
                    self.labels[pid] = _process_label(pid)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            value = self.sample()
            if self.start_bytes is None:
                self.start_bytes = value
            self.last_bytes = value
            self.peak_bytes = max(self.peak_bytes, value)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()  # the processes' final high-water marks

    def as_dict(self) -> dict[str, Any]:
        mb = 2**20
        return {
            "processes": self.max_processes,
            "start_rss_mb": round((self.start_bytes or 0) / mb, 1),
            "peak_rss_mb": round(self.peak_bytes / mb, 1),
            "end_rss_mb": round(self.last_bytes / mb, 1),
            "samples": self.samples,
            **high_water_summary(self.high_water, self.labels),
        }


def high_water_summary(high_water: dict[int, int], labels: dict[int, str] | None = None) -> dict[str, Any]:
    """Per-process VmHWM in MB, its max and its sum (an upper bound of the tree's peak: the processes' peaks
    need not coincide)."""
    mb = 2**20
    labels = labels or {}
    return {
        "vmhwm_max_mb": round(max(high_water.values(), default=0) / mb, 1),
        "vmhwm_sum_mb": round(sum(high_water.values()) / mb, 1),
        "vmhwm_per_process_mb": {labels.get(pid, str(pid)): round(value / mb, 1)
                                 for pid, value in sorted(high_water.items())},
    }


def raise_fd_limit(wanted: int) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted)) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def install_uvloop() -> str:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        return "uvloop"
    except ImportError:  # pragma: no cover
        return "asyncio"


def add_dataset_arguments(parser) -> None:
    """The size of the pipeline benchmark's generated data (bench/pipeline.py populate), which the dash,
    export and sync-copy benchmarks build on."""
    parser.add_argument("--conversations", type=int, help="generated conversations (default 100000; --quick 2000)")
    parser.add_argument("--tenants", type=int, help="tenants they are spread over (default 50; --quick 5)")
    parser.add_argument("--messages-per-conversation", type=int, default=10)


def dataset_config(args) -> dict:
    return {
        "conversations": args.conversations or (2_000 if args.quick else 100_000),
        "tenants": args.tenants or (5 if args.quick else 50),
        "messages_per_conversation": args.messages_per_conversation,
        "quick": bool(args.quick),
    }
