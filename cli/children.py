"""The processes `niochat demo` keeps running: each with its output in a log file, waited for until it answers,
and stopped together (SIGTERM or SIGINT, then SIGKILL of its whole process group after a grace period).

Each child gets a session of its own, so the terminal's Ctrl-C reaches only the demo, which then stops them
in an orderly way instead of every process racing to shut down at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from niochat.readiness import Exited, NoAnswer, answers_below_500, wait_until_answers

GRACE_SECONDS = 20


class StepFailed(RuntimeError):
    """A step of the demo did not work; the message says which and where to look."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM

    def tail(self, lines: int = 12) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def exited(self) -> StepFailed:
        return StepFailed(f"the {self.name} exited with status {self.process.returncode}; "
                          f"the end of {self.log}:\n{self.tail()}")


class Children:
    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.running: list[Child] = []

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], log_name: str, stop_signal: int = signal.SIGTERM,
              extra_env: dict | None = None) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / log_name
        with open(log, "w") as out:
            process = subprocess.Popen(argv, env={**self.env, **(extra_env or {})}, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        child = Child(name, process, log, stop_signal)
        self.running.append(child)
        return child

    def wait_ready(self, child: Child, url: str, seconds: float, ok=answers_below_500):
        """Until `url` answers as `ok` says; fails when the child exits or the time is up."""
        try:
            wait_until_answers(url, seconds, process=child.process, ok=ok)
        except Exited:
            raise child.exited() from None
        except NoAnswer:
            raise StepFailed(f"the {child.name} did not answer on {url} within {seconds:.0f} s; "
                             f"the end of {child.log}:\n{child.tail()}") from None

    def first_exited(self) -> Child | None:
        return next((child for child in self.running if child.process.poll() is not None), None)

    def stop_all(self) -> None:
        """Signal every child at once (newest first), then wait; whatever is left is killed with its group, and
        so are descendants that outlive their parent (Dagster's code servers sit in groups of their own)."""
        descendants = _descendants([child.process.pid for child in self.running if child.process.poll() is None])
        for child in reversed(self.running):
            if child.process.poll() is None:
                try:
                    child.process.send_signal(child.stop_signal)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + GRACE_SECONDS
        for child in reversed(self.running):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # still not reaped, so the group is surely its own: its children (the API's worker, Dagster's
                # webserver and daemon) go with it
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
        self.running.clear()
        _end(descendants)


def _descendants(pids: list[int]) -> list:
    import psutil  # a dependency of dagster's, so always installed with NioChat

    found = []
    for pid in pids:
        try:
            found += psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    return found


def _end(processes: list) -> None:
    """Terminate, then kill, the ones still running (psutil checks each is still the process it was)."""
    import psutil

    alive = [process for process in processes if process.is_running()]
    for process in alive:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, stubborn = psutil.wait_procs(alive, timeout=5)
    for process in stubborn:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def child_env(settings, urls) -> dict:
    """Children use the servers this process resolved (and keeps alive), and the same secret key."""
    from niochat.secrets import load_secret_key

    return {
        **os.environ,
        "NIOCHAT_DATABASE_URL": urls.database_url,
        "NIOCHAT_WAREHOUSE_URL": urls.warehouse_url,
        "NIOCHAT_REDIS_URL": urls.redis_url,
        "NIOCHAT_SECRET_KEY": load_secret_key(settings),
    }
