"""`niochat demo` as a newcomer runs it, headless: everything comes up on free ports in an empty data dir, both
tenants' simulated customers get answers and answer the survey, the marts and DuckDB files have both tenants,
the API and the dashboards answer, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest
import redis

from cli.demo_banner import READY
from cli.demo_reset import reset_data_dir
from niochat.embedded import EmbeddedPostgres, EmbeddedRedis
from niochat.settings import Settings
from tests.support.servers import free_port

PASSWORD = "senha-da-demo-1"
TENANTS = {"demo": "admin@demo.local", "veloz": "admin@veloz.local"}
AGENT = "carla@demo.local"  # README: the demo's agent login opens the workspace


def _check_agent_workspace(dash_url: str, api_url: str) -> None:
    import re

    with httpx.Client(base_url=dash_url, timeout=20) as dash:
        token = re.search(r'name="csrf_token" value="([^"]+)"', dash.get("/login").text).group(1)
        landed = dash.post("/login", data={"email": AGENT, "password": PASSWORD, "csrf_token": token})
        assert landed.status_code == 302 and landed.headers["location"] == "/atendimento", landed.text[:500]
        assert dash.get("/atendimento").status_code == 200
        live = dash.get("/atendimento/live-token").json()
    me = httpx.get(f"{api_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {live['token']}"}, timeout=10)
    assert me.status_code == 200 and me.json()["email"] == AGENT
    assert live["url"] == "ws" + api_url.removeprefix("http") + "/api/v1/ws"


@pytest.fixture
def data_dir():
    # outside pytest's 0700 temp tree: the embedded PostgreSQL runs as its own system user under root
    directory = Path(tempfile.mkdtemp(prefix="niochat-demo-"))
    directory.chmod(0o755)
    yield directory / "data"
    shutil.rmtree(directory, ignore_errors=True)


def _env(data_dir: Path, ports: dict[str, int]) -> dict:
    env = {
        **os.environ,
        "NIOCHAT_DATA_DIR": str(data_dir),
        "NIOCHAT_API_PORT": str(ports["api"]),
        "NIOCHAT_DASH_PORT": str(ports["dash"]),
        "NIOCHAT_WA_SANDBOX_PORT": str(ports["wa"]),
        "NIOCHAT_SGP_SANDBOX_PORT": str(ports["sgp"]),
        "NIOCHAT_PUBLIC_URL": f"http://127.0.0.1:{ports['api']}",
        "NIOCHAT_DEBOUNCE_SECONDS": "0",
        "NIOCHAT_CSAT_DELAY_SECONDS": "1",
        "NIOCHAT_DEMO_PASSWORD": PASSWORD,
    }
    for name in ("NIOCHAT_DATABASE_URL", "NIOCHAT_REDIS_URL", "NIOCHAT_WAREHOUSE_URL", "NIOCHAT_SECRET_KEY",
                 "NIOCHAT_SGP_SANDBOX_DATA", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    return env


class _Output:
    """The demo's output, read as it comes, so the test can wait for the ready line."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)
            if READY in line:
                self.ready.set()
        self.ready.set()  # the process ended: whoever waits learns it at once

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _postgres_running(data_dir: Path) -> bool:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(EmbeddedPostgres(data_dir).pgdata)
    return info is not None and info.is_running()


def _redis_running(data_dir: Path) -> bool:
    try:
        return redis.Redis(unix_socket_path=str(EmbeddedRedis(data_dir).socket), socket_timeout=1).ping()
    except (redis.ConnectionError, FileNotFoundError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _check_tenant(api: httpx.Client, email: str) -> None:
    token = api.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    since = datetime.now(UTC) - timedelta(hours=1)  # the simulated morning, not the generated history
    listed = api.get("/api/v1/conversations", params={"limit": 100}, headers=headers).json()["items"]
    live = [c for c in listed if datetime.fromisoformat(c["created_at"]) >= since]
    replied = 0
    for conversation in live:
        said = api.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=headers).json()["items"]
        replied += any(m["sender_kind"] == "bot" and m["direction"] == "outbound" for m in said)
    assert replied >= 2, (email, live)
    answers = api.get("/api/v1/csat", params={"limit": 200}, headers=headers).json()["items"]
    assert any(answer["raw_text"] for answer in answers), (email, "no survey answer read from WhatsApp")


def _check_export(path: Path) -> None:
    with duckdb.connect(str(path), read_only=True) as db:
        conversations = db.execute("select count(*), count(distinct tenant_id), count(*) filter (where is_generated)"
                                   " from fct_conversations").fetchone()
        answers = db.execute("select count(*) from fct_csat_responses").fetchone()[0]
        days = db.execute("select count(distinct activity_date) from agg_tenant_daily_kpis").fetchone()[0]
    total, tenants, generated = conversations
    assert tenants == 1 and total > generated > 0, (path.name, conversations)  # live and generated history
    assert answers > 0 and days >= 2, (path.name, answers, days)


def _check_evolution_channels(sandbox: str) -> None:
    """The demo's Evolution channels were set up with the sandbox server's global key, and veloz-evolution posts
    by events: their webhooks (carrying each instance's own token) are taken by the API."""
    listed = {item["instance"]: item for item in httpx.get(f"{sandbox}/sandbox/instances", timeout=10).json()}
    assert listed["veloz-evolution"]["webhook_by_events"] is True
    assert listed["demo-evolution"]["webhook_by_events"] is False
    for instance, customer in (("demo-evolution", "5511955501234"), ("veloz-evolution", "5581955501234")):
        answer = httpx.post(f"{sandbox}/sandbox/inbound", timeout=30,
                            json={"instance": instance, "from": customer, "name": "Teste", "text": "oi"}).json()
        assert answer["webhook_status"] == 200, (instance, answer)
        assert answer["payload"]["apikey"] == listed[instance]["token"]
        assert answer["deliveries"][0]["url"].endswith("/messages-upsert") == (instance == "veloz-evolution")


@pytest.mark.slow
def test_the_demo_runs_everything_and_stops_cleanly(data_dir):
    ports = {name: free_port() for name in ("api", "dash", "wa", "sgp")}
    demo = subprocess.Popen(
        [sys.executable, "-m", "niochat", "demo", "--customers", "2", "--rate", "300", "--mix", "invoice=1",
         "--history-days", "2", "--seed", "5"],
        env=_env(data_dir, ports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = _Output(demo)
    try:
        output.ready.wait(timeout=300)  # a deadline: two loaded cores; a quiet run is ready in about 90 s
        assert demo.poll() is None and READY in output.text, output.text
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['api']}", timeout=10) as api:
            assert api.get("/readyz").status_code == 200
            for email in TENANTS.values():
                _check_tenant(api, email)
        _check_evolution_channels(f"http://127.0.0.1:{ports['wa']}")
        login = httpx.get(f"http://127.0.0.1:{ports['dash']}/login", timeout=10)
        assert login.status_code == 200 and "Entrar" in login.text
        _check_agent_workspace(f"http://127.0.0.1:{ports['dash']}", f"http://127.0.0.1:{ports['api']}")
        for slug in TENANTS:
            _check_export(data_dir / "exports" / f"{slug}.duckdb")
        assert all(email in output.text for email in TENANTS.values())
        assert PASSWORD not in output.text  # configured, not generated: not printed
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
        output.thread.join(10)
    assert demo.returncode == 0, output.text
    assert "NioChat demo stopped." in output.text
    assert all(_port_free(port) for port in ports.values()), "a child process outlived the demo"
    assert not _postgres_running(data_dir) and not _redis_running(data_dir)


def test_a_taken_port_stops_the_demo_before_it_starts_anything(data_dir):
    ports = {name: free_port() for name in ("api", "dash", "wa", "sgp")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["dash"]))
        taken.listen()
        result = subprocess.run([sys.executable, "-m", "niochat", "demo"], env=_env(data_dir, ports),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"port {ports['dash']}" in result.stderr and "NIOCHAT_DASH_PORT" in result.stderr
    assert not (data_dir / "pgdata").exists()


def test_reset_removes_only_what_niochat_keeps(data_dir):
    for folder in ("pgdata", "redis", "exports", "logs"):
        (data_dir / folder).mkdir(parents=True)
    for name in ("secret.key", "demo-password", "notas.txt"):
        (data_dir / name).write_text("x")
    removed = reset_data_dir(Settings(data_dir=data_dir, _env_file=None))
    assert sorted(removed) == ["demo-password", "exports", "logs", "pgdata", "redis", "secret.key"]
    assert sorted(path.name for path in data_dir.iterdir()) == ["notas.txt"]
