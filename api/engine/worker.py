"""The arq worker: inbound processing, outbound delivery, follow-ups, the sweeper cron and the hourly retention cron.

`niochat worker` runs it; `niochat serve` runs one beside the API. Any number of workers share the queue.
"""

from __future__ import annotations

from arq import cron
from arq.connections import create_pool
from arq.worker import Worker, func

from api.csat.survey import send_csat
from api.engine.delivery import send_message
from api.engine.deps import WorkerDeps
from api.engine.follow_ups import run_follow_up
from api.engine.inbound import process_conversation
from api.engine.retention import apply_retention
from api.engine.sweeper import sweep
from niochat.database import WORKER_LOGIN, async_engine, login_url
from niochat.egress import guarded_client
from niochat.embedded import ServiceUrls
from niochat.redis import JOB_CODEC, QUEUE_NAME, arq_settings, async_redis
from niochat.secrets import Keyring, load_secret_key
from niochat.settings import Settings

HEALTH_CHECK_KEY = f"{QUEUE_NAME}:health-check"


def build_worker(settings: Settings, urls: ServiceUrls, *, burst: bool = False) -> Worker:
    async def startup(ctx: dict) -> None:
        ctx["deps"] = WorkerDeps(
            settings=settings, redis=async_redis(urls.redis_url),
            engine=async_engine(login_url(urls.database_url, WORKER_LOGIN, settings.database_worker_password)),
            arq=await create_pool(arq_settings(urls.redis_url), default_queue_name=QUEUE_NAME, **JOB_CODEC),
            http=guarded_client(settings), keyring=Keyring(load_secret_key(settings)),
            http_private_sgp=guarded_client(settings, private_ok=True),
        )

    async def shutdown(ctx: dict) -> None:
        deps: WorkerDeps | None = ctx.get("deps")
        if deps is not None:
            await deps.http.aclose()
            if deps.http_private_sgp is not None:
                await deps.http_private_sgp.aclose()
            await deps.arq.aclose()
            await deps.redis.aclose()
            await deps.engine.dispose()

    every = settings.sweep_interval_seconds
    return Worker(
        functions=[
            func(process_conversation, keep_result=0, max_tries=20),
            func(send_message, keep_result=0, max_tries=settings.send_max_attempts + 2),
            func(send_csat, keep_result=0, max_tries=5),
            func(run_follow_up, keep_result=0, max_tries=5),
        ],
        cron_jobs=[
            cron(sweep, second=set(range(0, 60, every)), run_at_startup=True, keep_result=0),
            # the tenants' retention settings (LGPD), hourly; a long backlog is worked off over several runs.
            # No longer timeout here: arq keeps every job's in-progress mark for the longest one.
            cron(apply_retention, minute=7, second=0, run_at_startup=True, keep_result=0),
        ],
        queue_name=QUEUE_NAME,
        redis_settings=arq_settings(urls.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        job_timeout=settings.job_timeout_seconds,
        poll_delay=0.05,
        max_jobs=50,
        health_check_interval=30,
        health_check_key=HEALTH_CHECK_KEY,
        burst=burst,
        **JOB_CODEC,
        handle_signals=True,
        log_results=False,
    )
