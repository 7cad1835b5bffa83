"""The follow-ups the worker owes a customer (api/engine/follow_ups.py) on real PostgreSQL and Redis: a due promise
reminder goes out once however often its job runs, one outside WhatsApp's 24-hour window is skipped with its reason
and a tool call for the metrics, and only the worker's login lists what is due, across tenants."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from arq.connections import create_pool
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from api.engine.deps import WorkerDeps
from api.engine.follow_ups import run_follow_up
from niochat import accounts
from niochat.database import WORKER_LOGIN, async_engine, login_url
from niochat.redis import JOB_CODEC, QUEUE_NAME, arq_settings, async_redis
from niochat.settings import Settings
from niochat.tables import contacts, conversations, follow_ups, messages, tool_calls
from tests.support.basics import TEST_SECRET, unique_slug
from tests.support.desk import KEYRING


def _conversation(engine, *, last_inbound_at: datetime) -> tuple:
    slug = unique_slug()
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, f"Provedor {slug}")
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", slug, "uazapi", "WhatsApp",
                                          "http://127.0.0.1:8100", slug, "tok")
        contact_id = conn.execute(insert(contacts).values(tenant_id=tenant_id, phone="5511988887777", name="Ana")
                                  .returning(contacts.c.id)).scalar_one()
        conversation_id = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel.id, contact_id=contact_id, status="bot",
            last_inbound_at=last_inbound_at).returning(conversations.c.id)).scalar_one()
    return tenant_id, conversation_id, contact_id


def _reminder(engine, tenant_id, conversation_id, contact_id, *, due_in: timedelta, until: date):
    with engine.begin() as conn:
        return conn.execute(insert(follow_ups).values(
            tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, kind="promise_reminder",
            due_at=datetime.now(UTC) + due_in, payload={"contract_id": "18740", "until": until.isoformat(),
                                                        "brain": "rules"},
        ).returning(follow_ups.c.id)).scalar_one()


def _run(database_url: str, redis_url: str, tenant_id, follow_up_id, times: int = 1) -> list[str]:
    """The worker's follow-up job, run here `times` times (a retried or duplicated job)."""
    settings = Settings(secret_key=TEST_SECRET, _env_file=None)

    async def run() -> list[str]:
        deps = WorkerDeps(settings=settings, engine=async_engine(database_url), redis=async_redis(redis_url),
                          arq=await create_pool(arq_settings(redis_url), default_queue_name=QUEUE_NAME, **JOB_CODEC),
                          http=None, keyring=KEYRING)
        try:
            return [await run_follow_up({"deps": deps}, str(tenant_id), str(follow_up_id)) for _ in range(times)]
        finally:
            await deps.arq.aclose()
            await deps.redis.aclose()
            await deps.engine.dispose()

    return asyncio.run(run())


def _state(engine, follow_up_id, conversation_id):
    with engine.connect() as conn:
        row = conn.execute(select(follow_ups).where(follow_ups.c.id == follow_up_id)).one()
        sent = conn.execute(select(messages.c.text).where(messages.c.conversation_id == conversation_id,
                                                          messages.c.direction == "outbound")).scalars().all()
        calls = conn.execute(select(tool_calls.c.tool, tool_calls.c.outcome)
                             .where(tool_calls.c.conversation_id == conversation_id)).all()
    return row, sent, [f"{call.tool}:{call.outcome}" for call in calls]


def test_a_due_reminder_goes_out_once_inside_the_window(engine, database_url, redis_url):
    tenant_id, conversation_id, contact_id = _conversation(engine, last_inbound_at=datetime.now(UTC))
    until = date.today() + timedelta(days=1)
    follow_up_id = _reminder(engine, tenant_id, conversation_id, contact_id, due_in=-timedelta(minutes=1),
                             until=until)
    assert _run(database_url, redis_url, tenant_id, follow_up_id, times=3) == ["sent", "not_due", "not_due"]
    row, sent, calls = _state(engine, follow_up_id, conversation_id)
    assert row.status == "sent" and row.sent_at is not None and row.reason is None
    assert len(sent) == 1 and until.strftime("%d/%m/%Y") in sent[0] and "pague" in sent[0]
    assert calls == ["promise_reminder:sent"]


def test_a_reminder_outside_the_24_hour_window_is_skipped_with_its_reason(engine, database_url, redis_url):
    tenant_id, conversation_id, contact_id = _conversation(engine,
                                                           last_inbound_at=datetime.now(UTC) - timedelta(hours=25))
    follow_up_id = _reminder(engine, tenant_id, conversation_id, contact_id, due_in=-timedelta(minutes=1),
                             until=date.today() + timedelta(days=1))
    assert _run(database_url, redis_url, tenant_id, follow_up_id, times=2) == ["skipped_outside_window", "not_due"]
    row, sent, calls = _state(engine, follow_up_id, conversation_id)
    assert (row.status, row.reason, row.sent_at) == ("skipped", "outside_window", None)
    assert sent == [] and calls == ["promise_reminder:skipped_outside_window"]


def test_a_reminder_not_due_yet_is_left_pending(engine, database_url, redis_url):
    tenant_id, conversation_id, contact_id = _conversation(engine, last_inbound_at=datetime.now(UTC))
    follow_up_id = _reminder(engine, tenant_id, conversation_id, contact_id, due_in=timedelta(hours=5),
                             until=date.today() + timedelta(days=2))
    assert _run(database_url, redis_url, tenant_id, follow_up_id) == ["not_due"]
    row, sent, calls = _state(engine, follow_up_id, conversation_id)
    assert row.status == "pending" and sent == [] and calls == []


async def _due_as_worker(database_url: str) -> set:
    engine = async_engine(login_url(database_url, WORKER_LOGIN))
    try:
        async with engine.begin() as conn:
            rows = (await conn.execute(text("select * from niochat_due_follow_ups()"))).all()
        async with engine.begin() as conn:
            with pytest.raises(DBAPIError):  # the worker's tenantless login reads no follow_ups row directly
                await conn.execute(text("insert into follow_ups (tenant_id) values (gen_random_uuid())"))
        return {row.follow_up_id for row in rows}
    finally:
        await engine.dispose()


def test_the_sweeper_lists_what_is_due_for_every_tenant(engine, database_url):
    first = _conversation(engine, last_inbound_at=datetime.now(UTC))
    second = _conversation(engine, last_inbound_at=datetime.now(UTC))
    due = _reminder(engine, *first, due_in=-timedelta(seconds=5), until=date.today() + timedelta(days=1))
    other_due = _reminder(engine, *second, due_in=-timedelta(seconds=5), until=date.today() + timedelta(days=1))
    later = _reminder(engine, *second, due_in=timedelta(days=1), until=date.today() + timedelta(days=3))
    listed = asyncio.run(_due_as_worker(database_url))
    assert {due, other_due} <= listed and later not in listed


def test_the_reminder_goes_to_the_customers_newest_conversation(engine, database_url, redis_url):
    tenant_id, old_conversation, contact_id = _conversation(engine,
                                                            last_inbound_at=datetime.now(UTC) - timedelta(hours=30))
    with engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == old_conversation)
                     .values(status="closed", closed_at=datetime.now(UTC) - timedelta(hours=29)))
        channel_id = conn.scalar(select(conversations.c.channel_id).where(conversations.c.id == old_conversation))
        newest = conn.execute(insert(conversations).values(
            tenant_id=tenant_id, channel_id=channel_id, contact_id=contact_id, status="bot",
            last_inbound_at=datetime.now(UTC)).returning(conversations.c.id)).scalar_one()
    follow_up_id = _reminder(engine, tenant_id, old_conversation, contact_id, due_in=-timedelta(minutes=1),
                             until=date.today() + timedelta(days=1))
    assert _run(database_url, redis_url, tenant_id, follow_up_id) == ["sent"]
    assert _state(engine, follow_up_id, old_conversation)[1] == []
    assert len(_state(engine, follow_up_id, newest)[1]) == 1


def test_a_recheck_is_skipped_once_a_person_has_the_conversation(engine, database_url, redis_url):
    tenant_id, conversation_id, contact_id = _conversation(engine, last_inbound_at=datetime.now(UTC))
    with engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(status="waiting"))
        follow_up_id = conn.execute(insert(follow_ups).values(
            tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, kind="connection_recheck",
            due_at=datetime.now(UTC), payload={"contract_id": "18630", "cause": "restart", "brain": "rules"},
        ).returning(follow_ups.c.id)).scalar_one()
    assert _run(database_url, redis_url, tenant_id, follow_up_id) == ["skipped_with_agent"]
    row, sent, calls = _state(engine, follow_up_id, conversation_id)
    assert (row.status, row.reason) == ("skipped", "with_agent")
    assert sent == [] and calls == ["connection_recheck:skipped_with_agent"]
