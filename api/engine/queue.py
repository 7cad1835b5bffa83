"""Enqueueing work for the arq worker. Redis only carries work: a lost enqueue is found again by the sweeper."""

from __future__ import annotations

import uuid

from arq.connections import ArqRedis
from prometheus_client import Counter
from redis.exceptions import RedisError

from niochat.logging import get_logger
from niochat.redis import QUEUE_NAME

log = get_logger(__name__)
ENQUEUE_FAILURES = Counter("niochat_enqueue_failures_total", "Jobs not enqueued (the sweeper retries)", ["job"])


async def _enqueue(arq: ArqRedis, function: str, *args, **options) -> None:
    try:
        await arq.enqueue_job(function, *args, _queue_name=QUEUE_NAME, **options)
    except (RedisError, OSError) as exc:
        ENQUEUE_FAILURES.labels(function).inc()
        log.warning("job not enqueued; the sweeper will pick it up", job=function, error=type(exc).__name__)


async def enqueue_inbound(
    arq: ArqRedis, tenant_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, debounce: float,
    job_id: str | None = None,
) -> None:
    """One job per message, deferred by the debounce window: the last one of a burst answers all of it."""
    await _enqueue(
        arq, "process_conversation", str(tenant_id), str(conversation_id),
        _job_id=job_id or f"inbound:{message_id}", _defer_by=debounce or None,
    )


async def enqueue_send(
    arq: ArqRedis, tenant_id: uuid.UUID, message_id: uuid.UUID, job_id: str | None = None
) -> None:
    await _enqueue(arq, "send_message", str(tenant_id), str(message_id), _job_id=job_id or f"send:{message_id}")


async def enqueue_job(arq: ArqRedis, function: str, *args, job_id: str) -> None:
    await _enqueue(arq, function, *(str(arg) for arg in args), _job_id=job_id)


async def enqueue_follow_up(arq: ArqRedis, tenant_id: uuid.UUID, follow_up_id: uuid.UUID, delay: float) -> None:
    """A follow-up's job, deferred until it is due; the sweeper enqueues the same job id if Redis lost it."""
    await _enqueue(arq, "run_follow_up", str(tenant_id), str(follow_up_id), _job_id=f"follow_up:{follow_up_id}",
                   _defer_by=delay or None)
