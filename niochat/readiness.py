"""Wait until a started process (or server) answers over HTTP: the one loop the command, the benchmarks and the
tests share. Callers word the failure (with their log's tail); this module only tells which failure it was."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


class Exited(RuntimeError):
    """The process ended before it answered."""

    def __init__(self, url: str, returncode: int):
        super().__init__(f"the process serving {url} exited with status {returncode}")
        self.url, self.returncode = url, returncode


class NoAnswer(RuntimeError):
    """The time was up and `url` had not answered as wanted."""

    def __init__(self, url: str, seconds: float):
        super().__init__(f"{url} did not answer within {seconds:.0f} s")
        self.url, self.seconds = url, seconds


def answers_below_500(response: httpx.Response) -> bool:
    """Up, even if it refuses this request (a 404 or 401 still means the server is listening)."""
    return response.status_code < 500


def answers_200(response: httpx.Response) -> bool:
    """Ready, as a /readyz that checked its stores says."""
    return response.status_code == 200


def wait_until_answers(url: str, seconds: float, *, process: subprocess.Popen | None = None,
                       ok: Callable[[httpx.Response], bool] = answers_below_500, interval: float = 0.2,
                       request_timeout: float = 2) -> httpx.Response:
    """Poll `url` until `ok` accepts its answer and return that answer; refused connections and timeouts mean
    "not yet". Raises Exited as soon as `process` (when given) has ended, NoAnswer when `seconds` are up."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=request_timeout) as http:
        while True:
            if process is not None and process.poll() is not None:
                raise Exited(url, process.returncode)
            try:
                response = http.get(url)
                if ok(response):
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise NoAnswer(url, seconds)
            time.sleep(interval)
