"""Real uvicorn servers under test: started with the same settings, waited for until ready; the process's own
limits and event loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

from bench.environment import Environment
from bench.process_memory import tree_pids
from niochat.local_servers import free_port
from niochat.readiness import Exited, NoAnswer, answers_200, wait_until_answers


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
