"""Reliability under faults and over time, through real processes (issue #9): nothing lost, nothing doubled.

Each test makes customers write through the WhatsApp sandbox (real provider webhooks, retried by the sandbox on
5xx and connection errors, as Uazapi and Evolution do) while something breaks, then counts:
every customer message stored exactly once (rows per provider message id) and processed, every customer answered,
the number of messages the sandbox received for each number equal to the outbound rows recorded as sent for it
(with the same provider ids: no reply went out twice), no message left received/queued/sending, no job left in
the queue. Counting, never timing: waits are "until the condition, or a generous deadline".

The installation under test (tests/support/fault_stack.py) has a PostgreSQL and a Redis of its own, in a temp
dir, so they can be stopped and started again; the API (`uvicorn --factory api.app:app_factory`) and the workers
(`niochat worker`) are subprocesses that can be killed with SIGKILL.

The soak (2 API processes, 2 workers, one PostgreSQL, one Redis) runs short by default; the long one is marked
slow and sized by NIOCHAT_SOAK_CUSTOMERS (1000), NIOCHAT_SOAK_SECONDS (300), NIOCHAT_SOAK_MESSAGES (5).
"""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest
import redis
from sqlalchemy import select, text

from niochat.tables import ai_usage, contacts, conversations
from tests.support.fault_stack import Load, MemorySampler, World, audit, count_where, make_customers, new_world
from tests.support.servers import free_port

SETTINGS = {
    "debounce_seconds": 0.5,  # short bursts are answered together, as in production (3 s there)
    "send_retry_base_seconds": 0.2,
    "sweep_interval_seconds": 2,
    "csat_delay_seconds": 3600,  # no survey goes out while the tests count messages
    "job_timeout_seconds": 20,  # a killed worker's job is picked up again after this + 10 s
}
SETTLE_SECONDS = 240  # generous: the machine is shared; a healthy run settles in seconds
LOAD_SECONDS = 600
SECOND_COPY = ["oi, quero a segunda via do boleto, meu cpf é 529.982.247-25",
               "preciso da 2 via da fatura, cpf 086.016.613-94",
               "segunda via por favor, cnpj 11.222.333/0001-81"]


def check(world: World, customers, results):
    """Nothing lost, nothing doubled: see the module docstring. Returns the audit."""
    world.wait_until_settled([customer.phone for customer in customers], SETTLE_SECONDS)
    report = audit(world, customers, results)
    problems = report.problems()
    assert not problems, "\n".join([report.summary(), *problems, world.logs_tail()])
    return report


def retried(results) -> int:
    """Webhooks the provider had to post more than once: the fault did hit the load."""
    return sum(1 for sent in results if sent.attempts > 1)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def failed_deliveries(world: World, customers, status: int | None) -> int:
    """These customers' webhooks whose latest attempt got `status` (None: no answer at all), which the sandbox
    is about to retry."""
    ids = {message_id for customer in customers for message_id in customer.ids}
    return sum(1 for d in world.sandbox_deliveries()
               if d["kind"] == "inbound" and d["message_id"] in ids and d["status_code"] == status)


class Supervisor:
    """Restarts workers that exit, as the deployment's process manager does (docker-compose's
    `restart: unless-stopped`); counts the restarts."""

    def __init__(self, world: World):
        self.world, self.restarts = world, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for proc in self.world.workers:
                if not proc.alive():
                    self.restarts += 1
                    proc.start()


@pytest.fixture(scope="module")
def world():
    world = new_world(SETTINGS)
    try:
        world.slug = world.add_tenant("rel", sgp=True)
        world.model_slug = world.add_tenant("relai", model_url=f"http://127.0.0.1:{free_port()}/v1")  # nobody there
        world.start_apis()
        world.add_worker()
        yield world
    finally:
        world.close()


@pytest.fixture(autouse=True)
def workers_alive(request):
    """Every fault test starts with its world's processes up (a failed test may have left one down)."""
    if "world" in request.fixturenames:
        world = request.getfixturevalue("world")
        world.start_apis()
        for proc in world.workers:
            if not proc.alive():
                proc.start()
    yield


def test_worker_killed_with_sigkill_during_load_and_restarted(world):
    customers = make_customers(world, world.slug, 60, messages_each=2, spread=8, seed=1)
    load = Load(world, customers).start()
    load.wait_posted(50, LOAD_SECONDS)
    worker = world.workers[0]
    worker.kill()  # SIGKILL: whatever it was doing (a job, a provider call) is cut
    worker.start()
    results = load.join(LOAD_SECONDS)
    check(world, customers, results)
    assert worker.starts == 2


def test_api_killed_with_sigkill_during_load_and_restarted(world):
    """The provider retries while the API is down (connection refused) and after it is back on the same port."""
    customers = make_customers(world, world.slug, 60, messages_each=2, spread=8, seed=2)
    load = Load(world, customers).start()
    load.wait_posted(40, LOAD_SECONDS)
    api = world.apis[0]
    api.kill()
    wait_for(lambda: failed_deliveries(world, customers, None) >= 1, 60, "the provider saw the API gone")
    api.start()
    results = load.join(LOAD_SECONDS)
    check(world, customers, results)
    assert retried(results) > 0


def test_api_killed_between_the_dedup_mark_and_the_commit_loses_nothing(world):
    """A slow database (here: a real lock on `messages` held by the test) keeps the webhook between its Redis
    dedup mark and its commit; the API is killed there, as a deploy or the OOM killer would."""
    customers = make_customers(world, world.slug, 1, seed=10)
    marks = redis.Redis.from_url(world.redis_url)
    dedup_key = f"niochat:dedup:*:{customers[0].ids[0]}"
    try:
        with world.engine.connect() as conn:
            locked = conn.begin()
            conn.execute(text("lock table messages in share mode"))  # inserts wait; reads go on
            load = Load(world, customers).start()
            wait_for(lambda: marks.keys(dedup_key), 60, "the webhook marked the message as seen")
            world.apis[0].kill()
            locked.rollback()
        world.apis[0].start()
        results = load.join(LOAD_SECONDS)
    finally:
        marks.close()
    assert results[0].delivered, "the provider got its 200"
    # a 200 comes after the commit: the row is there now or never will be
    sql = "select count(*) from messages where provider_message_id = :id"
    stored = count_where(world, sql, id=results[0].message_id)
    assert stored == 1, f"the provider was told 200 (after {results[0].attempts} attempts) but {stored} rows exist"
    check(world, customers, results)


def test_redis_restarted_empty_during_load(world):
    """Redis goes away and comes back with nothing (no snapshot: the queue, the dedup keys, everything lost).
    Webhooks get 503 meanwhile and are retried; the sweeper re-enqueues from PostgreSQL what was in flight;
    the unique index stops the replays the lost dedup keys let through."""
    customers = make_customers(world, world.slug, 60, messages_each=2, spread=8, seed=3)
    with Supervisor(world) as supervisor:
        load = Load(world, customers).start()
        load.wait_posted(40, LOAD_SECONDS)
        world.redis_server.stop(save=False)
        (world.redis_server.dir / "dump.rdb").unlink(missing_ok=True)
        wait_for(lambda: failed_deliveries(world, customers, 503) >= 3, 60, "webhooks answered 503 while Redis is down")
        world.redis_server.start()
        results = load.join(LOAD_SECONDS)
        check(world, customers, results)
    assert retried(results) > 0
    print(f"workers restarted by the supervisor after the Redis restart: {supervisor.restarts}")


def test_worker_outlives_a_redis_restart(world):
    worker = world.workers[0]
    before = worker.starts
    world.redis_server.stop(save=True)
    try:
        time.sleep(1)  # the worker polls every 50 ms: a second of outage is twenty polls
    finally:
        world.redis_server.start()
    customers = make_customers(world, world.slug, 1, seed=4)
    results = Load(world, customers).start().join(LOAD_SECONDS)
    wait_for(lambda: not worker.alive() or world.sandbox_messages_for(customers[0].phone), 60,
             "the customer answered or the worker gone")
    assert worker.alive() and worker.starts == before, f"after the Redis restart: {worker}"
    check(world, customers, results)


def test_postgres_restarted_during_load(world):
    """Webhooks get 503 while PostgreSQL is down (the sandbox sees them and retries), jobs fail and are found
    again by the sweeper; afterwards nothing is lost and nothing doubled."""
    customers = make_customers(world, world.slug, 60, messages_each=2, spread=8, seed=5)
    load = Load(world, customers).start()
    load.wait_posted(40, LOAD_SECONDS)
    assert world.postgres.stop()
    try:
        wait_for(lambda: failed_deliveries(world, customers, 503) >= 5, 60, "webhooks answered 503, PostgreSQL down")
    finally:
        world.postgres.start()
    results = load.join(LOAD_SECONDS)
    check(world, customers, results)
    assert retried(results) >= 5


@pytest.mark.parametrize("mode", ["status", "accept_timeout"])
def test_whatsapp_provider_failing_sends(world, mode):
    """Sends fail (HTTP 500), or go out while the answer is lost (hang, then 504): retried with backoff; the
    lost answers are confirmed with the provider, not sent again."""
    customers = make_customers(world, world.slug, 40, messages_each=2, spread=6, seed=6 if mode == "status" else 7)
    load = Load(world, customers).start()
    load.wait_posted(10, LOAD_SECONDS)
    # fewer failures than a message's attempts (6): however they fall, nothing is given up on
    fault = {"count": 5, "status": 500} if mode == "status" else {"count": 4, "mode": "accept_timeout", "seconds": 1}
    world.sandbox_fault(**fault)
    results = load.join(LOAD_SECONDS)
    check(world, customers, results)
    # every planned failure was spent on these customers' sends (nothing else sends in this world meanwhile)
    wait_for(lambda: not httpx.get(f"{world.sandbox_url}/sandbox/faults", timeout=10).json(), 60,
             "every planned send failure used")
    if mode == "status":  # a lost answer confirmed with the provider leaves no trace but the counts above
        sql = """select count(*) from messages m join conversations cv on cv.id = m.conversation_id
                 join contacts c on c.id = cv.contact_id
                 where m.direction = 'outbound' and m.attempts > 1 and c.phone = any(:phones)"""
        assert count_where(world, sql, phones=[customer.phone for customer in customers]) >= 1


def test_sgp_timing_out_customers_get_an_apology_not_silence(world):
    sgp = world.sgp_url
    httpx.post(f"{sgp}/sandbox/faults", json={"count": 10_000, "mode": "timeout"}, timeout=10).raise_for_status()
    try:
        customers = make_customers(world, world.slug, 12, spread=2, texts=SECOND_COPY, seed=8)
        results = Load(world, customers).start().join(LOAD_SECONDS)
        check(world, customers, results)
    finally:
        httpx.delete(f"{sgp}/sandbox/faults", timeout=10).raise_for_status()
    calls = httpx.get(f"{sgp}/sandbox/calls", timeout=10).json()
    assert calls, "the SGP was asked (and timed out)"
    for customer in customers:
        said = " ".join(message["text"] for message in world.sandbox_messages_for(customer.phone))
        assert "instável" in said and "atendente" in said, (customer.phone, said)
    sql = """select count(distinct cv.id) from tool_calls t join conversations cv on cv.id = t.conversation_id
             join contacts c on c.id = cv.contact_id where t.outcome = 'sgp_unavailable' and c.phone = any(:phones)"""
    assert count_where(world, sql, phones=[customer.phone for customer in customers]) == len(customers)


def test_model_endpoint_down_the_rules_brain_answers(world):
    customers = make_customers(world, world.model_slug, 20, spread=3, texts=["quero a segunda via"], seed=9)
    results = Load(world, customers).start().join(LOAD_SECONDS)
    check(world, customers, results)
    for customer in customers:
        said = [message["text"] for message in world.sandbox_messages_for(customer.phone)]
        assert any("CPF" in text for text in said), (customer.phone, said)
    with world.engine.connect() as conn:
        outcomes = conn.execute(
            select(ai_usage.c.outcome).join(conversations, conversations.c.id == ai_usage.c.conversation_id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(contacts.c.phone.in_([customer.phone for customer in customers]))
        ).scalars().all()
    assert len(outcomes) >= len(customers) and all(outcome.startswith("error") for outcome in outcomes), outcomes


# ---------------------------------------------------------------- soak


@pytest.fixture(scope="module")
def soak_world():
    """Horizontal scale: 2 API processes and 2 workers on one PostgreSQL and one Redis. The tenant has one
    channel per provider per API process (a channel registers one webhook URL at its provider), and customers
    alternate over the four channels, so over both providers and both API processes."""
    world = new_world(SETTINGS, api_count=2)
    try:
        world.slug = world.add_tenant("soak", sgp=True)
        world.start_apis()
        world.add_worker()
        world.add_worker()
        yield world
    finally:
        world.close()


def soak(world: World, customers_count: int, seconds: float, messages_each: int, seed: int) -> None:
    warm = make_customers(world, world.slug, 8, seed=seed)  # every channel, API and worker used before measuring
    check(world, warm, Load(world, warm).start().join(LOAD_SECONDS))
    customers = make_customers(world, world.slug, customers_count, messages_each=messages_each, spread=seconds,
                               seed=seed + 1)
    with MemorySampler([*world.apis, *world.workers]) as memory:
        results = Load(world, customers, concurrency=128).start().join(seconds + LOAD_SECONDS)
    counted = check(world, customers, results)
    print(f"soak: {counted.summary()}")
    assert all(proc.starts == 1 for proc in [*world.apis, *world.workers]), "no process died during the soak"
    thirds = memory.thirds()
    report = {name: f"{first:.0f} -> {last:.0f} MB (peak {memory.peak_kb.get(name, 0) / 1024:.0f} MB)"
              for name, (first, last) in thirds.items()}
    print(f"soak: {customers_count} customers x {messages_each} messages over {seconds:.0f} s; RSS first third "
          f"-> last third: {report}")
    assert set(thirds) == {proc.name for proc in [*world.apis, *world.workers]}
    grown = {name: values for name, values in thirds.items() if values[1] > 1.5 * values[0]}
    assert not grown, f"memory grew by more than 1.5x during the soak: {report}"


def test_soak_short_two_apis_two_workers(soak_world):
    soak(soak_world, customers_count=100, seconds=30, messages_each=3, seed=100)


SOAK_CUSTOMERS = int(os.environ.get("NIOCHAT_SOAK_CUSTOMERS", "1000"))
SOAK_SECONDS = float(os.environ.get("NIOCHAT_SOAK_SECONDS", "300"))
SOAK_MESSAGES = int(os.environ.get("NIOCHAT_SOAK_MESSAGES", "5"))


def long_soak_asked_for(config) -> bool:
    """`make test` runs every test, slow ones included: the long soak runs only when asked for, with `-m slow`
    (or a mark expression selecting slow tests) or by setting its size."""
    expression = config.option.markexpr or ""
    selected = "slow" in expression and "not slow" not in expression
    return selected or any(os.environ.get(name) for name in ("NIOCHAT_SOAK_CUSTOMERS", "NIOCHAT_SOAK_SECONDS"))


@pytest.mark.slow
@pytest.mark.timeout(int(SOAK_SECONDS) + 1800)
def test_soak_long_two_apis_two_workers(request):
    if not long_soak_asked_for(request.config):
        pytest.skip("the long soak runs with `-m slow` or NIOCHAT_SOAK_CUSTOMERS / NIOCHAT_SOAK_SECONDS set")
    soak(request.getfixturevalue("soak_world"), customers_count=SOAK_CUSTOMERS, seconds=SOAK_SECONDS,
         messages_each=SOAK_MESSAGES, seed=200)
