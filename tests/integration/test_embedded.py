"""Embedded PostgreSQL and Redis: started under the data dir, reused by a second process, stopped by the last."""

import os
import signal
import subprocess
import sys
import time

import httpx
import psycopg
import pytest
import redis

from niochat.embedded import EmbeddedPostgres, EmbeddedRedis, Services
from niochat.readiness import Exited, answers_200, wait_until_answers
from niochat.settings import Settings
from tests.support.servers import free_port

HOLDER = """
import sys
from niochat.embedded import Services
from niochat.settings import Settings
urls = Services(Settings(data_dir=sys.argv[1], _env_file=None)).start()
print(urls.database_url, urls.redis_url, flush=True)
sys.stdin.readline()
"""


def _postgres_running(data_dir) -> bool:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(EmbeddedPostgres(data_dir).pgdata)
    return info is not None and info.is_running()


def _redis_running(data_dir) -> bool:
    try:
        return redis.Redis(unix_socket_path=str(EmbeddedRedis(data_dir).socket), socket_timeout=1).ping()
    except (redis.ConnectionError, FileNotFoundError):
        return False


def test_started_reused_across_processes_and_stopped_by_the_last(tmp_path):
    data_dir = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        held_db, held_redis = holder.stdout.readline().split()
        services = Services(Settings(data_dir=data_dir, _env_file=None))
        urls = services.start()
        assert (urls.database_url, urls.redis_url) == (held_db, held_redis)  # reused, not a second server
        assert urls.warehouse_url.split("?")[0].endswith("/niochat_warehouse")
        for url in (urls.database_url, urls.warehouse_url):
            with psycopg.connect(url) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        assert redis.Redis.from_url(urls.redis_url).ping()
        services.stop()
        assert _postgres_running(data_dir) and _redis_running(data_dir), "the other process still uses them"
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert not _postgres_running(data_dir) and not _redis_running(data_dir), "the last user stops them"


def test_configured_urls_start_nothing(tmp_path, database_url, redis_url):
    services = Services(Settings(data_dir=tmp_path, database_url=database_url, redis_url=redis_url, _env_file=None))
    urls = services.start()
    services.stop()
    assert urls.database_url == database_url and urls.redis_url == redis_url
    assert urls.warehouse_url.split("?")[0].endswith("_warehouse")
    assert not (tmp_path / "pgdata").exists() and not (tmp_path / "redis").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_demo_answers_a_customer_and_stops_cleanly(tmp_path, stop_signal):
    """`niochat demo` on an empty data dir: embedded services, migrations, sandbox, worker, a reply, clean stop."""
    port, sandbox_port, sgp_port, dash_port = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "NIOCHAT_DATA_DIR": str(tmp_path / "demo"),
        "NIOCHAT_API_PORT": str(port),
        "NIOCHAT_WA_SANDBOX_PORT": str(sandbox_port),
        "NIOCHAT_SGP_SANDBOX_PORT": str(sgp_port),
        "NIOCHAT_DASH_PORT": str(dash_port),  # a demo running beside the suite holds the default ports
        "NIOCHAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NIOCHAT_DEBOUNCE_SECONDS": "0",
    }
    for name in ("NIOCHAT_DATABASE_URL", "NIOCHAT_REDIS_URL", "NIOCHAT_WAREHOUSE_URL", "NIOCHAT_SECRET_KEY"):
        env.pop(name, None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "niochat", "demo", "--customers", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_answers(f"{base}/readyz", 120, process=demo, ok=answers_200, interval=0.3)
        except Exited:
            pytest.fail(demo.stdout.read())
        password = (tmp_path / "demo" / "demo-password").read_text().strip()
        login = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "admin@demo.local", "password": password}, timeout=10
        )
        assert login.status_code == 200
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        # Maria, from her registered phone in the built-in SGP dataset, asks for her invoice
        httpx.post(
            f"{sandbox}/sandbox/inbound",
            timeout=10,
            json={
                "instance": "demo-evolution",
                "from": "5511912340001",
                "name": "Maria",
                "text": "oi, quero a segunda via, cpf 529.982.247-25",
                "lid_only": False,  # the demo's sandbox hides one number in ten; Maria's is shown
            },
        ).raise_for_status()
        deadline = time.monotonic() + 60  # generous: a loaded machine; a healthy run answers in a second
        while True:
            if demo.poll() is not None:  # the demo stopped by itself: what it said is the diagnosis
                pytest.fail(f"the demo exited with {demo.returncode} before answering:\n{demo.stdout.read()}")
            sent = httpx.get(f"{sandbox}/sandbox/messages", params={"number": "5511912340001"}, timeout=5).json()
            if len(sent) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        texts = [message["text"] for message in sent]
        assert "Provedor Demo" in texts[0] and any(text.startswith("PIX copia e cola") for text in texts), texts
    finally:
        demo.send_signal(stop_signal)
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, output
    assert "admin@demo.local" in output and password in output
    assert not _postgres_running(tmp_path / "demo") and not _redis_running(tmp_path / "demo")


def test_serve_on_a_fresh_data_dir_migrates_the_embedded_database_and_answers(tmp_path):
    """A newcomer's first command: `niochat serve --sandbox` with nothing configured migrates its own database."""
    port, sandbox_port, sgp_port = free_port(), free_port(), free_port()
    env = {**os.environ, "NIOCHAT_DATA_DIR": str(tmp_path / "first"), "NIOCHAT_API_PORT": str(port),
           "NIOCHAT_WA_SANDBOX_PORT": str(sandbox_port), "NIOCHAT_SGP_SANDBOX_PORT": str(sgp_port),
           "NIOCHAT_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    for name in ("NIOCHAT_DATABASE_URL", "NIOCHAT_REDIS_URL", "NIOCHAT_WAREHOUSE_URL", "NIOCHAT_SECRET_KEY"):
        env.pop(name, None)
    serve = subprocess.Popen([sys.executable, "-m", "niochat", "serve", "--sandbox"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        try:
            wait_until_answers(f"http://127.0.0.1:{port}/readyz", 120, process=serve, ok=answers_200, interval=0.3)
        except Exited:
            pytest.fail(serve.stdout.read())
        sent = httpx.post(f"http://127.0.0.1:{sandbox_port}/sandbox/inbound", timeout=10, json={
            "instance": "demo-uazapi", "from": "5511912340001", "name": "Maria", "text": "oi", "lid_only": False})
        assert sent.json()["webhook_status"] == 200, sent.text
    finally:
        serve.send_signal(signal.SIGINT)
        output, _ = serve.communicate(timeout=60)
    assert "embedded database migrated to revision" in output, output
    assert "not up to date" not in output


def test_serve_refuses_a_configured_database_that_is_not_migrated(tmp_path, empty_database_url, redis_url):
    env = {**os.environ, "NIOCHAT_DATA_DIR": str(tmp_path), "NIOCHAT_DATABASE_URL": empty_database_url,
           "NIOCHAT_REDIS_URL": redis_url, "NIOCHAT_API_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "niochat", "serve"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "not up to date (revision none" in done.stderr and "niochat db upgrade" in done.stderr, done.stderr
