"""niochat.readiness: the one wait for a started process or server to answer (issue #23), against real ones."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from niochat.readiness import Exited, NoAnswer, answers_200, wait_until_answers
from tests.support.servers import free_port, serving

# A server that starts listening only after a while, as ours do while they migrate and connect.
LATE_SERVER = """
import http.server, sys, time
time.sleep(0.6)
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"up")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""


async def _unavailable(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": b"not ready"})


def test_a_process_that_starts_listening_late_is_waited_for():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LATE_SERVER, str(port)])
    try:
        response = wait_until_answers(f"http://127.0.0.1:{port}/", 20, process=process, interval=0.05)
        assert response.status_code == 200 and response.text == "up"
    finally:
        process.kill()
        process.wait()


def test_a_process_that_exits_is_reported_at_once_with_its_status():
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    started = time.monotonic()
    with pytest.raises(Exited) as caught:
        wait_until_answers(f"http://127.0.0.1:{free_port()}/", 30, process=process)
    assert caught.value.returncode == 3
    assert time.monotonic() - started < 10  # not the whole 30 s


def test_a_server_answering_5xx_is_not_up_and_the_wait_ends_at_the_deadline():
    with serving(_unavailable) as url:
        started = time.monotonic()
        with pytest.raises(NoAnswer, match="did not answer within 1 s"):
            wait_until_answers(url, 1, interval=0.05)
        assert 1 <= time.monotonic() - started < 5


def test_what_counts_as_an_answer_is_the_callers_choice():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", LATE_SERVER, str(port)])
    try:
        url = f"http://127.0.0.1:{port}/"
        assert wait_until_answers(url, 20, process=process, ok=answers_200).status_code == 200
        with pytest.raises(NoAnswer):
            wait_until_answers(url, 0.3, process=process, ok=lambda response: response.status_code == 204)
    finally:
        process.kill()
        process.wait()


def test_nothing_listening_is_no_answer():
    with pytest.raises(NoAnswer):
        wait_until_answers(f"http://127.0.0.1:{free_port()}/", 0.5, interval=0.05)
