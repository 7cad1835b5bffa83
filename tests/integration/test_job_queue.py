"""arq's job queue speaks JSON on both ends: what the API and the sweeper enqueue is JSON with string arguments,
and a worker never unpickles what it finds in Redis (a planted pickle does not run)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
import uuid

import pytest
from arq.connections import ArqRedis

from api.engine.queue import enqueue_inbound, enqueue_job, enqueue_send
from api.engine.worker import build_worker
from niochat import migrate
from niochat.embedded import ServiceUrls
from niochat.redis import JOB_CODEC, QUEUE_NAME, async_redis, job_serializer
from niochat.settings import Settings
from tests.support.basics import TEST_SECRET

JOB_KEY = "arq:job:"


async def test_enqueued_jobs_are_json_with_string_arguments(redis_url, redis_client):
    redis = async_redis(redis_url)
    arq = ArqRedis(connection_pool=redis.connection_pool, default_queue_name=QUEUE_NAME, **JOB_CODEC)
    tenant, conversation, message = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        await enqueue_inbound(arq, tenant, conversation, message, 0)
        await enqueue_send(arq, tenant, message)
        await enqueue_job(arq, "send_csat", tenant, uuid.uuid4(), job_id="csat:x")
    finally:
        await redis.aclose()
    for job_id in (f"inbound:{message}", f"send:{message}", "csat:x"):
        raw = redis_client.get(JOB_KEY + job_id)
        assert raw is not None and not raw.startswith(b"\x80"), "a pickle"
        job = json.loads(raw)
        assert all(isinstance(arg, str) for arg in job["a"]), job
    assert json.loads(redis_client.get(JOB_KEY + f"inbound:{message}"))["a"] == [str(tenant), str(conversation)]


def test_a_non_string_argument_fails_the_enqueue_instead_of_being_pickled():
    with pytest.raises(TypeError, match="not JSON"):
        job_serializer({"f": "send_message", "a": [uuid.uuid4()], "k": {}})
    assert json.loads(job_serializer({"r": ValueError("boom")}))["r"] == "ValueError: boom"  # failed jobs' results


class _Planted:
    """What an attacker with Redis access would plant: unpickling it creates a file (could be any code)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_worker_never_unpickles_a_planted_job(tmp_path, empty_database_url, redis_url, redis_client):
    """On a database of its own: the session's shared one holds other tests' unfinished work, which the burst worker
    would try to finish (against sandboxes long gone) before it exits."""
    migrate.upgrade(empty_database_url)
    database_url = empty_database_url
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"t": 1, "f": "send_message", "a": [_Planted(str(marker))], "k": {}, "et": 0})
    redis_client.set(JOB_KEY + "planted", payload)
    redis_client.zadd(QUEUE_NAME, {"planted": int(time.time() * 1000)})
    env = {**os.environ, "NIOCHAT_DATABASE_URL": database_url, "NIOCHAT_REDIS_URL": redis_url,
           "NIOCHAT_SECRET_KEY": TEST_SECRET, "NIOCHAT_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "niochat", "worker", "--burst"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not marker.exists(), "the worker unpickled the planted job"
    assert redis_client.zscore(QUEUE_NAME, "planted") is None, "the bad job is dropped, not retried forever"


def test_no_job_holds_its_in_progress_mark_longer_than_the_job_timeout():
    """arq keeps every job's in-progress mark for the longest timeout of any function or cron: one long timeout
    (the retention cron had an hour) and a killed worker's jobs wait that long before another worker retries."""
    settings = Settings(job_timeout_seconds=20)
    urls = ServiceUrls("postgresql://unused/x", "postgresql://unused/w", "redis://127.0.0.1:1/0")
    worker = build_worker(settings, urls, burst=True)
    assert worker.in_progress_timeout_s == 20 + 10
