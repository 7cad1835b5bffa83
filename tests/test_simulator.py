"""`niochat simulate` against a real stack: every simulated customer gets answers, agents take handoffs,
surveys get answered — counted from what the sandboxes and the database saw."""

import asyncio
import json
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select

from niochat import admin
from niochat.cli.simulate import customers_from_dataset, parse_mix
from niochat.tables import csat_responses, messages
from sandbox.sgp import create_app as create_sgp
from sandbox.simulator import SimulationConfig, simulate
from tests.factories import PASSWORD
from tests.servers import serving
from tests.stack import configure_sgp, start_stack

DATASET = Path(__file__).parent / "data" / "sgp-dataset.json"


def _answers(engine, tenant_id) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(csat_responses).where(csat_responses.c.tenant_id == tenant_id)
        )


@pytest.mark.slow
def test_simulated_customers_and_agent_complete_their_conversations(tmp_path, database_url, redis_url, engine):
    dataset = json.loads(DATASET.read_text())
    with ExitStack() as exits:
        sgp_url = exits.enter_context(serving(create_sgp(dataset_path=DATASET)))
        stack = start_stack(
            exits,
            tmp_path=tmp_path,
            database_url=database_url,
            redis_url=redis_url,
            engine=engine,
            csat_delay_seconds=1,
            sweep_interval_seconds=1,
        )
        configure_sgp(engine, stack.tenant_id, sgp_url, dataset["app"], dataset["token"])
        agent = f"agente@{stack.tenant_slug}.test"
        with engine.begin() as conn:
            admin.create_user(conn, stack.tenant_slug, agent, "Carla Souza", PASSWORD, "manager")
        stack.start_worker()
        config = SimulationConfig(
            sandbox_url=stack.sandbox_url,
            instances=list(stack.instances.values()),
            customers=customers_from_dataset(DATASET),
            count=4,
            rate_per_minute=600,
            mix=parse_mix("invoice=1,human=1"),
            api_url=stack.api_url,
            agent_email=agent,
            agent_password=PASSWORD,
            think_seconds=(0.05, 0.1),
            csat_wait=20,
            seed=7,
        )
        report = asyncio.run(simulate(config))
        deadline = time.monotonic() + 15
        while _answers(engine, stack.tenant_id) < report.csat_answers and time.monotonic() < deadline:
            time.sleep(0.2)  # the last answer is still being read by the worker
    assert (report.started, report.completed, report.no_reply) == (4, 4, 0), report.as_dict()
    assert report.csat_answers == 4
    assert report.agent_replies == report.intents["human"]
    answered = _answers(engine, stack.tenant_id)
    with engine.connect() as conn:
        agent_messages = conn.scalar(
            select(func.count())
            .select_from(messages)
            .where(messages.c.tenant_id == stack.tenant_id, messages.c.sender_kind == "agent")
        )
    assert answered == 4 and agent_messages == 2 * report.intents["human"]
