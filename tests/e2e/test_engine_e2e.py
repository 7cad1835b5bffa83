"""End to end through real processes: sandbox -> webhook -> API -> Redis queue -> worker process -> sandbox.

Counting, not timing: every customer message stored once and answered once, whatever breaks in between.
"""

import random
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry, multiprocess
from sqlalchemy import func, select, text

from niochat.tables import conversations, messages
from tests.support.stack import start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, database_url, redis_url, engine):
    metrics_dir = tmp_path_factory.mktemp("metrics")
    with ExitStack() as exits:
        result = start_stack(
            exits,
            tmp_path=tmp_path_factory.mktemp("e2e"),
            database_url=database_url,
            redis_url=redis_url,
            engine=engine,
        )
        result.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        result.metrics_dir = metrics_dir
        result.start_worker()
        yield result


def phone() -> str:
    return f"55119{random.randint(10_000_000, 99_999_999)}"


def _inbound_rows(engine, number: str):
    from niochat.tables import contacts

    with engine.connect() as conn:
        return conn.execute(
            select(messages)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone == number)
            .order_by(messages.c.created_at)
        ).all()


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_customer_gets_one_greeting_and_receipts_are_recorded(stack, engine, provider):
    number = phone()
    delivered = stack.customer_writes(number, "oi, boa tarde", provider=provider)
    assert delivered["delivered"] is True
    sent = stack.wait_for_replies(number, 1)
    assert len(sent) == 1 and "assistente virtual da Fibra Teste" in sent[0]["text"], stack.worker_logs()
    deadline = time.monotonic() + 10
    while True:
        rows = _inbound_rows(engine, number)
        outbound = [row for row in rows if row.direction == "outbound"]
        if outbound and outbound[0].status == "delivered" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    inbound = [row for row in rows if row.direction == "inbound"]
    assert [row.status for row in inbound] == ["processed"]
    assert len(outbound) == 1 and outbound[0].sender_kind == "bot" and outbound[0].provider_message_id
    assert outbound[0].status == "delivered", "the sandbox's delivery receipt reached the message"
    with engine.connect() as conn:
        conv = conn.execute(select(conversations).where(conversations.c.id == inbound[0].conversation_id)).one()
    assert conv.status == "bot" and conv.first_bot_reply_at is not None and conv.last_inbound_at is not None


def test_the_api_and_the_worker_run_on_their_own_database_logins(stack, engine):
    """Least privilege (migration 0013): given the owner's URL, both processes connect as their own logins."""
    number = phone()
    stack.customer_writes(number, "oi")
    stack.wait_for_replies(number, 1)
    with engine.connect() as conn:
        logins = set(conn.execute(text(
            "select usename from pg_stat_activity where datname = current_database()")).scalars())
        owner = conn.scalar(text("select current_user"))
    assert {"niochat_api", "niochat_worker"} <= logins, logins
    assert owner not in {"niochat_api", "niochat_worker"}


def test_same_webhook_delivered_five_times_is_stored_and_answered_once(stack, engine):
    number = phone()
    for _ in range(5):
        stack.customer_writes(number, "quero a segunda via", id="REPLAY-5X-" + number)
    stack.wait_for_replies(number, 1)
    time.sleep(1.0)  # give a wrong second reply the time to show up
    assert len(stack.sent_to(number)) == 1
    assert len([row for row in _inbound_rows(engine, number) if row.direction == "inbound"]) == 1


def test_asking_for_a_person_hands_over_to_the_queue(stack, engine):
    number = phone()
    stack.customer_writes(number, "quero falar com um atendente")
    sent = stack.wait_for_replies(number, 2)
    assert "transferir" in sent[0]["text"]
    assert "fila" in sent[1]["text"]
    conversation_id = _inbound_rows(engine, number)[0].conversation_id
    with engine.connect() as conn:
        conv = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).one()
    assert conv.status == "waiting" and conv.handoff_at is not None and conv.handoff_reason == "customer_request"
    stack.customer_writes(number, "alguém aí?")
    time.sleep(1.5)
    assert len(stack.sent_to(number)) == 2, "the bot stays quiet while the conversation waits for a human"


def test_send_failing_three_times_then_succeeding_is_delivered_once(stack, engine):
    number = phone()
    httpx.post(f"{stack.sandbox_url}/sandbox/faults", json={"count": 3, "status": 500}).raise_for_status()
    stack.customer_writes(number, "bom dia")
    sent = stack.wait_for_replies(number, 1, timeout=30)
    time.sleep(0.5)
    assert len(stack.sent_to(number)) == 1 and len(sent) == 1
    outbound = [row for row in _inbound_rows(engine, number) if row.direction == "outbound"]
    assert outbound[0].status in ("sent", "delivered") and outbound[0].attempts == 4


def test_send_failing_forever_is_marked_failed_and_counted(stack, engine):
    number = phone()
    httpx.post(f"{stack.sandbox_url}/sandbox/faults", json={"count": 100, "status": 503}).raise_for_status()
    try:
        stack.customer_writes(number, "boa noite")
        deadline = time.monotonic() + 60
        while True:
            outbound = [row for row in _inbound_rows(engine, number) if row.direction == "outbound"]
            if outbound and outbound[0].status == "failed" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        httpx.delete(f"{stack.sandbox_url}/sandbox/faults")
    assert outbound[0].status == "failed" and "503" in outbound[0].error
    assert outbound[0].attempts == 6
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(stack.metrics_dir))
    failed = registry.get_sample_value("niochat_outbound_failed_total", {"provider": "uazapi"})
    assert failed and failed >= 1
    assert stack.sent_to(number) == []


def test_worker_killed_mid_processing_answers_everyone_exactly_once(stack, engine):
    """kill -9 mid-job: every customer is answered, the reply is decided once and goes out once."""
    numbers = [phone() for _ in range(30)]
    worker = stack.workers[0]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: stack.customer_writes(n, "minha internet caiu"), numbers))
    time.sleep(0.15)
    stack.kill_worker(worker)  # SIGKILL: no cleanup, whatever it was doing is cut
    stack.start_worker()
    for number in numbers:
        stack.wait_for_replies(number, 1, timeout=60)
    _wait_until_settled(engine, timeout=60)
    assert {number: len(stack.sent_to(number)) for number in numbers} == {number: 1 for number in numbers}
    for number in numbers:
        replies = [row for row in _inbound_rows(engine, number) if row.direction == "outbound"]
        assert len(replies) == 1 and replies[0].status in ("sent", "delivered", "read"), number


def _wait_until_settled(engine, timeout: float) -> None:
    """Until no outbound message is left queued or in an unconfirmed send."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.scalar(
                select(func.count()).select_from(messages).where(messages.c.status.in_(["queued", "sending"]))
            )
        if left == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"{left} outbound messages still queued or sending after {timeout} s")


def _sandbox_echo(stack, on: bool) -> None:
    httpx.post(f"{stack.sandbox_url}/sandbox/config", json={"echo": on}, timeout=10).raise_for_status()


def _lose_next_answer(stack, seconds: float) -> None:
    """The provider sends the next message but its answer never reaches us (hang, then 504)."""
    httpx.post(f"{stack.sandbox_url}/sandbox/faults",
               json={"count": 1, "mode": "accept_timeout", "seconds": seconds}, timeout=10).raise_for_status()


def _wait_for_status(engine, number: str, status: str, timeout: float):
    """The first reply at `status`; "sent" is reached also when the receipts already took it further (a loaded
    machine reads the row after the sandbox's "delivered" came back)."""
    reached = {"sent": {"sent", "delivered", "read"}}.get(status, {status})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [row for row in _inbound_rows(engine, number) if row.direction == "outbound"]
        if replies and replies[0].status in reached:
            return replies[0]
        time.sleep(0.2)
    raise AssertionError(f"the reply to {number} never reached {status!r}: {replies}")


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_send_whose_answer_was_lost_is_confirmed_with_the_provider_not_repeated(stack, engine, provider):
    """The provider sent it but answered 504: the retry asks the provider first (Uazapi by our track_id,
    Evolution by text and time) and records the send instead of sending it again."""
    _sandbox_echo(stack, False)  # no echo webhook to help: only asking the provider can tell
    try:
        number = phone()
        _lose_next_answer(stack, seconds=0.5)
        stack.customer_writes(number, "oi", provider=provider)
        reply = _wait_for_status(engine, number, "sent", timeout=30)
        sent = stack.sent_to(number)
        assert len(sent) == 1
        assert reply.provider_message_id == sent[0]["id"] and reply.attempts == 1
    finally:
        _sandbox_echo(stack, True)


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_echo_of_our_own_send_confirms_it_while_the_worker_is_dead(stack, engine, provider):
    """Worker killed during the provider call: the message stays 'sending' until the provider's echo of our
    own send (Uazapi track_id; Evolution: the text in flight to that contact) records it as sent."""
    number = phone()
    _lose_next_answer(stack, seconds=30)
    stack.customer_writes(number, "oi", provider=provider)
    assert len(stack.wait_for_replies(number, 1, timeout=30)) == 1
    stack.kill_worker(stack.workers[0])
    try:
        reply = _wait_for_status(engine, number, "sent", timeout=15)
        assert reply.provider_message_id == stack.sent_to(number)[0]["id"]
    finally:
        stack.start_worker()
    _wait_until_settled(engine, timeout=30)
    assert len(stack.sent_to(number)) == 1


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_worker_killed_during_the_provider_call_sends_once_after_restart(stack, engine, provider):
    """kill -9 after the provider accepted the send and before the worker recorded it, with no echo: the
    sweeper finds the unconfirmed send, the provider confirms it went out, and it is not sent again."""
    _sandbox_echo(stack, False)
    try:
        number = phone()
        _lose_next_answer(stack, seconds=30)
        stack.customer_writes(number, "oi", provider=provider)
        assert len(stack.wait_for_replies(number, 1, timeout=30)) == 1
        stack.kill_worker(stack.workers[0])
        assert _wait_for_status(engine, number, "sending", timeout=5).provider_message_id is None
        stack.start_worker()
        reply = _wait_for_status(engine, number, "sent", timeout=60)
        sent = stack.sent_to(number)
        assert len(sent) == 1 and reply.provider_message_id == sent[0]["id"]
    finally:
        _sandbox_echo(stack, True)


@pytest.mark.slow
def test_two_workers_keep_order_and_lose_nothing(stack, engine):
    stack.start_worker()
    numbers = [phone() for _ in range(50)]

    def converse(number: str) -> None:
        for index in range(10):
            stack.customer_writes(number, f"mensagem {index}")

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(converse, numbers))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.scalar(select(func.count()).select_from(messages).where(messages.c.status == "received"))
        if left == 0:
            break
        time.sleep(0.3)
    assert left == 0
    for number in numbers:
        rows = _inbound_rows(engine, number)
        inbound = [row for row in rows if row.direction == "inbound"]
        assert [row.text for row in inbound] == [f"mensagem {index}" for index in range(10)]
        # processed in arrival order: no message processed before an earlier one
        processed = [row.processed_at for row in inbound]
        assert processed == sorted(processed)
        replies = [row for row in rows if row.direction == "outbound"]
        assert 1 <= len(replies) <= 10 and len({row.idempotency_key for row in replies}) == len(replies)


@pytest.mark.slow
def test_redis_flushed_with_messages_in_flight_every_one_is_answered_once(stack, engine, redis_url):
    stack.stop_workers()  # messages pile up, as in a burst the workers have not reached yet
    numbers = [phone() for _ in range(200)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: stack.customer_writes(n, "oi"), numbers))
    redis.Redis.from_url(redis_url).flushdb()  # every queued job is gone
    stack.start_worker()
    stack.start_worker()
    deadline = time.monotonic() + 120
    for number in numbers:
        stack.wait_for_replies(number, 1, timeout=max(1.0, deadline - time.monotonic()))
    time.sleep(2)
    counts = {number: len(stack.sent_to(number)) for number in numbers}
    assert counts == {number: 1 for number in numbers}


def test_typing_delay_is_sent_when_the_tenant_wants_it(stack, engine):
    from sqlalchemy import update

    from niochat.tables import tenants

    with engine.begin() as conn:
        conn.execute(update(tenants).where(tenants.c.id == stack.tenant_id)
                     .values(settings={"typing_delay_ms_per_char": 10}))
    try:
        number = phone()
        stack.customer_writes(number, "oi")
        sent = stack.wait_for_replies(number, 1)
        assert sent[0]["delay"] == min(len(sent[0]["text"]) * 10, 4000)
    finally:
        with engine.begin() as conn:
            conn.execute(update(tenants).where(tenants.c.id == stack.tenant_id).values(settings={}))
