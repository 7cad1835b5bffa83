"""The local stack a run needs: sandboxes, API servers and workers on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cli.evaluation.runner import Endpoints
from niochat.embedded import ServiceUrls
from niochat.local_servers import serving
from niochat.settings import Settings


@contextmanager
def worker_process(env: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "niochat", "worker"], env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)  # arq's own graceful stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for_workers(redis_url: str, processes: list[subprocess.Popen], logs: list[Path], seconds: float = 60) -> None:
    """Until a worker has reported to arq's health-check key; a worker that dies says why (its log's end)."""
    import redis

    from api.engine.worker import HEALTH_CHECK_KEY

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    deadline = time.monotonic() + seconds
    try:
        while not client.exists(HEALTH_CHECK_KEY):
            for process, log in zip(processes, logs, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"the worker exited ({process.returncode}):\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no worker started within {seconds:.0f} s; see {logs[0]}")
            time.sleep(0.1)
    finally:
        client.close()


@contextmanager
def local_stack(settings: Settings, urls: ServiceUrls, secret_key: str, *, lanes: int = 4, apis: int = 2,
                workers: int = 1) -> Iterator[Endpoints]:
    """WhatsApp sandbox, `lanes` SGP sandboxes, `apis` API servers and `workers` worker processes, all on loopback,
    answering at once (no debounce window). Worker logs go to the data directory (eval-worker-N.log)."""
    from api.app import create_app
    from sandbox.sgp import create_app as create_sgp
    from sandbox.whatsapp import create_app as create_whatsapp

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    quick = {"debounce_seconds": 0.0, "csat_delay_seconds": 3600.0, "send_retry_base_seconds": 0.2,
             # the sandboxes (random loopback ports) stand in for the providers and SGPs: the egress guard lets them
             "egress_allow": ",".join(filter(None, (settings.egress_allow, "127.0.0.1")))}
    api_settings = settings.model_copy(update={**quick, "secret_key": secret_key})
    env = {
        **os.environ, "NIOCHAT_DATABASE_URL": urls.database_url, "NIOCHAT_WAREHOUSE_URL": urls.warehouse_url,
        "NIOCHAT_REDIS_URL": urls.redis_url, "NIOCHAT_SECRET_KEY": secret_key, "NIOCHAT_DATA_DIR": str(data_dir),
        **{f"NIOCHAT_{key.upper()}": str(value) for key, value in quick.items()},
    }
    with ExitStack() as stack:
        whatsapp_url = stack.enter_context(serving(create_whatsapp()))
        sgp_urls = tuple(stack.enter_context(serving(create_sgp(settings.sgp_sandbox_data))) for _ in range(lanes))
        api_urls = tuple(stack.enter_context(serving(create_app(api_settings, urls))) for _ in range(apis))
        logs = [data_dir / f"eval-worker-{n}.log" for n in range(workers)]
        processes = [stack.enter_context(worker_process(env, log)) for log in logs]
        wait_for_workers(urls.redis_url, processes, logs)
        yield Endpoints(urls.database_url, api_urls, whatsapp_url, sgp_urls)
