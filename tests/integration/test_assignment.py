"""Assignment and people (issue #18): presence, capacity, auto-assignment, give back, the supervisors' load view.
Over real HTTP on real PostgreSQL and Redis, with the desk of tests/support/desk.py (`agent` in suporte, `agent2`
in financeiro, a manager, an admin) and a second suporte agent per test."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from sqlalchemy import func, select, update

from api.engine import assignment, presence
from niochat import live_keys
from niochat.database import API_LOGIN, WORKER_LOGIN, async_engine, login_url, tenant_transaction
from niochat.redis import async_redis
from niochat.tables import conversations, users
from tests.support.desk import Desk, add_conversation, audit_rows, make_desk, row_of, token_for
from tests.support.factories import PASSWORD


@pytest.fixture
def sync_redis(redis_url):
    with redis.Redis.from_url(redis_url) as client:
        yield client


def _second_agent(desk: Desk, capacity: int = 5) -> None:
    """agent3, in suporte with `agent`."""
    created = desk.post("admin", "/users", {"email": f"agent3@{desk.rows.slug}.test", "name": "Agente Três",
                                            "password": PASSWORD, "role": "agent", "team_ids": [str(desk.team_id)]})
    assert created.status_code == 201, created.text
    desk.people["agent3"] = uuid.UUID(created.json()["id"])
    desk.tokens["agent3"] = token_for(desk.people["agent3"], desk.tenant_id)
    assert desk.patch("admin", f"/users/{desk.people['agent3']}", {"capacity": capacity}).status_code == 200


def _auto_assign(desk: Desk, on: bool = True) -> None:
    changed = desk.patch("admin", f"/teams/{desk.team_id}", {"auto_assign": on})
    assert changed.status_code == 200 and changed.json()["auto_assign"] is on, changed.text


def _presence(desk: Desk, who: str, status: str) -> None:
    response = desk.api.put("/api/v1/me/presence", headers=desk.headers(who), json={"status": status})
    assert response.status_code == 200 and response.json()["status"] == status, response.text


def _to_suporte(engine, desk: Desk) -> uuid.UUID:
    """A conversation with the bot, transferred by the manager to suporte's queue (a queue entry)."""
    conversation_id = add_conversation(engine, desk, "bot")
    moved = desk.post("manager", f"/conversations/{conversation_id}/transfer", {"team_id": str(desk.team_id)})
    assert moved.status_code == 200, moved.text
    return conversation_id


def _holder(engine, conversation_id) -> tuple[str, uuid.UUID | None]:
    row = row_of(engine, conversations, conversation_id)
    return row.status, row.assignee_id


def _load(desk: Desk) -> dict[str, dict]:
    response = desk.get("manager", "/agents/load")
    assert response.status_code == 200, response.text
    names = {user_id: who for who, user_id in desk.people.items()}
    return {names[uuid.UUID(row["user_id"])]: row for row in response.json()}


def test_presence_is_chosen_shown_and_expires_without_the_socket(engine, desk, sync_redis):
    assert desk.get("agent", "/auth/me").json()["presence"] == "offline"
    _presence(desk, "agent", "online")
    assert desk.get("agent", "/auth/me").json()["presence"] == "online"
    assert desk.get("agent", "/me/presence").json() == {"status": "online", "grace_seconds": presence.GRACE_SECONDS}
    beat = live_keys.heartbeat_key(desk.tenant_id, desk.people["agent"])
    assert 0 < sync_redis.ttl(beat) <= presence.GRACE_SECONDS
    _presence(desk, "agent2", "away")
    load = _load(desk)
    assert (load["agent"]["presence"], load["agent2"]["presence"]) == ("online", "away")
    assert [row.details["status"] for row in audit_rows(engine, desk, "user.presence")] == ["online", "away"]

    sync_redis.delete(beat)  # what the TTL does GRACE_SECONDS after the workspace's socket closed
    assert desk.get("agent", "/auth/me").json()["presence"] == "offline"
    assert _load(desk)["agent"]["presence"] == "offline"
    bad = desk.api.put("/api/v1/me/presence", headers=desk.headers("agent"), json={"status": "busy"})
    assert bad.status_code == 422


def test_agents_may_not_see_the_load_and_managers_see_only_their_tenant(api, engine, desk):
    assert desk.get("agent", "/agents/load").status_code == 403
    other = make_desk(api, engine)
    _presence(other, "agent", "online")
    seen = {row["user_id"] for row in desk.get("admin", "/agents/load").json()}
    assert seen == {str(desk.people[who]) for who in ("agent", "agent2")}  # managers and admins are in no team
    assert str(other.people["agent"]) not in seen
    # the other tenant's online agent gets none of this tenant's waiting conversations
    _auto_assign(desk)
    conversation_id = _to_suporte(engine, desk)
    assert _holder(engine, conversation_id) == ("waiting", None)


def test_least_loaded_online_member_under_capacity_gets_each_queued_conversation(engine, desk):
    _second_agent(desk, capacity=1)
    assert desk.patch("admin", f"/users/{desk.people['agent']}", {"capacity": 2}).json()["capacity"] == 2
    add_conversation(engine, desk, "open", assignee="agent", team="suporte")  # agent has one already
    _auto_assign(desk)
    first = _to_suporte(engine, desk)
    assert _holder(engine, first) == ("waiting", None)  # nobody online: it waits
    _presence(desk, "agent3", "online")  # coming online pulls the oldest waiting one
    assert _holder(engine, first) == ("open", desk.people["agent3"])
    _presence(desk, "agent", "online")
    second, third = _to_suporte(engine, desk), _to_suporte(engine, desk)
    assert _holder(engine, second) == ("open", desk.people["agent"])  # agent3 is at capacity (1)
    assert _holder(engine, third) == ("waiting", None)  # both full
    closed = desk.post("agent3", f"/conversations/{first}/close", {"reason": "resolvido"})
    assert closed.status_code == 200
    assert _holder(engine, third) == ("open", desk.people["agent3"])  # freed capacity pulls it
    fourth = _to_suporte(engine, desk)
    assert _holder(engine, fourth) == ("waiting", None)
    assert desk.patch("admin", f"/users/{desk.people['agent']}", {"capacity": 3}).status_code == 200
    assert _holder(engine, fourth) == ("open", desk.people["agent"])  # more capacity pulls it too

    audited = audit_rows(engine, desk, "conversation.auto_assign")
    assert [(row.entity_id, row.details["assignee_id"], row.actor_kind) for row in audited] == [
        (str(first), str(desk.people["agent3"]), "system"), (str(second), str(desk.people["agent"]), "system"),
        (str(third), str(desk.people["agent3"]), "system"), (str(fourth), str(desk.people["agent"]), "system")]
    load = _load(desk)
    assert (load["agent"]["open_conversations"], load["agent"]["capacity"]) == (3, 3)
    assert (load["agent3"]["open_conversations"], load["agent3"]["capacity"]) == (1, 1)


def test_ties_go_to_who_waited_longest_since_their_last_assignment(engine, desk):
    _second_agent(desk)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == desk.people["agent"])
                     .values(last_assigned_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 5)))
        conn.execute(update(users).where(users.c.id == desk.people["agent3"])
                     .values(last_assigned_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 30)))
    _presence(desk, "agent", "online")
    _presence(desk, "agent3", "online")
    _auto_assign(desk)
    first, second = _to_suporte(engine, desk), _to_suporte(engine, desk)
    assert _holder(engine, first)[1] == desk.people["agent3"]  # assigned 30 minutes ago, agent only 5
    assert _holder(engine, second)[1] == desk.people["agent"]  # now agent3 was assigned last


def test_auto_assign_off_leaves_the_queue_to_agents_taking(engine, desk):
    _presence(desk, "agent", "online")
    conversation_id = _to_suporte(engine, desk)
    assert _holder(engine, conversation_id) == ("waiting", None)
    assert desk.post("agent", f"/conversations/{conversation_id}/take").status_code == 200


async def test_concurrent_assignments_never_exceed_capacity(engine, desk, database_url, redis_url):
    _second_agent(desk, capacity=3)
    assert desk.patch("admin", f"/users/{desk.people['agent']}", {"capacity": 2}).status_code == 200
    _auto_assign(desk)
    waiting = [add_conversation(engine, desk, "waiting", team="suporte") for _ in range(8)]
    aengine = async_engine(login_url(database_url, API_LOGIN), pool_size=6)
    live = async_redis(redis_url)
    try:
        for who in ("agent", "agent3"):
            await presence.set_presence(live, desk.tenant_id, desk.people[who], "online")

        async def one_fill():
            async with tenant_transaction(aengine, desk.tenant_id) as conn:
                return await assignment.fill(conn, live, desk.tenant_id)

        results = await asyncio.gather(*(one_fill() for _ in range(6)))
    finally:
        await live.aclose()
        await aengine.dispose()
    moves = [move for result in results for move in result]
    with engine.connect() as conn:
        held = dict(conn.execute(select(conversations.c.assignee_id, func.count())
                                 .where(conversations.c.id.in_(waiting), conversations.c.status == "open")
                                 .group_by(conversations.c.assignee_id)).all())
    assert held == {desk.people["agent"]: 2, desk.people["agent3"]: 3}
    assert len(moves) == 5 and len({move.conversation_id for move in moves}) == 5


def test_going_offline_gives_back_the_unanswered_and_they_go_to_who_is_online(engine, desk):
    _second_agent(desk, capacity=1)
    _auto_assign(desk)
    _presence(desk, "agent", "online")
    unanswered, answered = _to_suporte(engine, desk), _to_suporte(engine, desk)
    assert {_holder(engine, unanswered), _holder(engine, answered)} == {("open", desk.people["agent"])}
    assert desk.post("agent", f"/conversations/{answered}/reply", {"text": "Oi, já vejo."}).status_code == 201
    _presence(desk, "agent3", "away")  # away gets nothing
    assert _holder(engine, unanswered) == ("open", desk.people["agent"])
    _presence(desk, "agent3", "online")
    _presence(desk, "agent", "offline")
    assert _holder(engine, answered) == ("open", desk.people["agent"])  # answered: still theirs
    assert _holder(engine, unanswered) == ("open", desk.people["agent3"])  # given back, then auto-assigned
    (gave,) = audit_rows(engine, desk, "conversation.give_back")
    assert (gave.entity_id, gave.details["reason"], gave.details["previous_assignee_id"]) == (
        str(unanswered), "agent_offline", str(desk.people["agent"]))


async def test_an_expired_presence_gives_back_at_the_next_sweep(engine, desk, database_url, redis_url, sync_redis):
    _auto_assign(desk)
    _presence(desk, "agent", "online")
    conversation_id = _to_suporte(engine, desk)
    assert _holder(engine, conversation_id) == ("open", desk.people["agent"])
    sync_redis.delete(live_keys.heartbeat_key(desk.tenant_id, desk.people["agent"]))  # the grace has passed
    worker = async_engine(login_url(database_url, WORKER_LOGIN), pool_size=2)
    live = async_redis(redis_url)
    try:
        assert await assignment.expire_absent(worker, live) >= 1
        assert await assignment.expire_absent(worker, live) == 0  # once
    finally:
        await live.aclose()
        await worker.dispose()
    assert _holder(engine, conversation_id) == ("waiting", None)
    assert [row.details["reason"] for row in audit_rows(engine, desk, "conversation.give_back")] == ["agent_offline"]
    assert desk.get("agent", "/auth/me").json()["presence"] == "offline"
