"""Auto-assignment: conversations waiting in a team with auto_assign on go to its least-loaded online member
under capacity, oldest conversation first; ties go to whoever waited longest since their last assignment.

`fill` runs whenever work or room appears: a conversation enters a queue (bot handoff, transfer, give back), an
agent comes online, frees capacity (close, hand back, transfer) or gets more (PATCH /users), or a team turns
auto_assign on.
It holds a per-tenant advisory lock for the rest of the transaction, so two processes filling at once take
turns: the second counts the first's assignments (READ COMMITTED reads anew per statement) and nobody goes over
capacity. Each assignment is still a conditional update, so an agent's take in between simply wins. Callers
must not hold a lock fill takes after its own (a users row: PATCH /users fills after its commit).

An agent going offline gives back (`give_back`) the open conversations nobody answered since they were assigned.
Callers commit, then `announce` the moves as live events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import and_, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.engine import audit, live, presence
from niochat.database import tenant_transaction
from niochat.logging import get_logger
from niochat.tables import conversations, messages, team_members, teams, users

log = get_logger(__name__)
BATCH = 50  # conversations one fill looks at: the next trigger takes the rest


@dataclass(frozen=True)
class Move:
    conversation_id: uuid.UUID
    action: str  # auto_assign | give_back
    status: str
    assignee_id: uuid.UUID | None
    team_id: uuid.UUID | None


async def _lock(conn: AsyncConnection) -> None:
    await conn.execute(text(
        "select pg_advisory_xact_lock(hashtextextended('niochat:assign:' || niochat_current_tenant()::text, 0))"))


def _open_load():
    return (select(func.count()).where(conversations.c.assignee_id == users.c.id, conversations.c.status == "open")
            .correlate(users).scalar_subquery())


async def _best_agent(conn: AsyncConnection, team_id: uuid.UUID, online: list[uuid.UUID]) -> uuid.UUID | None:
    load = _open_load()
    return await conn.scalar(
        select(users.c.id)
        .join(team_members, and_(team_members.c.user_id == users.c.id, team_members.c.team_id == team_id))
        .where(users.c.is_active, users.c.id.in_(online), load < users.c.capacity)
        .order_by(load, users.c.last_assigned_at.asc().nulls_first(), users.c.id)
        .limit(1)
    )


async def fill(conn: AsyncConnection, redis: aioredis.Redis, tenant_id: uuid.UUID) -> list[Move]:
    """Assign what waits in the tenant's auto-assign teams to their online members, up to capacity."""
    try:
        online = await presence.online(redis, tenant_id)
    except (RedisError, OSError) as exc:  # presence unknown: nothing assigned now, the next trigger looks again
        log.warning("auto-assignment skipped: presence unavailable", error=type(exc).__name__)
        return []
    if not online:
        return []
    await _lock(conn)
    waiting = (await conn.execute(
        select(conversations.c.id, conversations.c.team_id)
        .join(teams, teams.c.id == conversations.c.team_id)
        .where(teams.c.auto_assign, conversations.c.status == "waiting", conversations.c.assignee_id.is_(None))
        .order_by(func.coalesce(conversations.c.handoff_at, conversations.c.created_at), conversations.c.id)
        .limit(BATCH)
        # a conversation another transaction holds (an agent acting on it, the bot answering) is skipped, not
        # waited for: that transaction may be waiting for this lock, and its own fill will look again
        .with_for_update(of=conversations, skip_locked=True)
    )).all()
    moves: list[Move] = []
    full_teams: set[uuid.UUID] = set()
    for row in waiting:
        if row.team_id in full_teams:
            continue
        agent = await _best_agent(conn, row.team_id, online)
        if agent is None:
            full_teams.add(row.team_id)
            continue
        assigned = await conn.scalar(
            update(conversations)
            .where(conversations.c.id == row.id, conversations.c.status == "waiting",
                   conversations.c.assignee_id.is_(None))
            .values(status="open", assignee_id=agent, assigned_at=func.now(), phone_agent_at=None,
                    handoff_at=func.coalesce(conversations.c.handoff_at, func.now()))
            .returning(conversations.c.id))
        if assigned is None:
            continue  # taken meanwhile
        await conn.execute(update(users).where(users.c.id == agent).values(last_assigned_at=func.now()))
        await audit.record(conn, tenant_id, "conversation.auto_assign", actor_kind="system",
                           entity_type="conversation", entity_id=row.id, assignee_id=agent, team_id=row.team_id)
        moves.append(Move(row.id, "auto_assign", "open", agent, row.team_id))
    return moves


async def give_back(conn: AsyncConnection, tenant_id: uuid.UUID, user_id: uuid.UUID, reason: str) -> list[Move]:
    """The user's open conversations where no agent wrote since the assignment go back to their queue."""
    answered = (
        select(literal(1))
        .where(messages.c.conversation_id == conversations.c.id, messages.c.sender_kind == "agent",
               messages.c.created_at >= func.coalesce(conversations.c.assigned_at, text("'-infinity'::timestamptz")))
        .correlate(conversations)
        .exists()
    )
    rows = (await conn.execute(
        update(conversations)
        .where(conversations.c.assignee_id == user_id, conversations.c.status == "open", ~answered)
        .values(status="waiting", assignee_id=None, assigned_at=None)
        .returning(conversations.c.id, conversations.c.team_id)
    )).all()
    for row in rows:
        await audit.record(conn, tenant_id, "conversation.give_back", actor_kind="system", entity_type="conversation",
                           entity_id=row.id, previous_assignee_id=user_id, team_id=row.team_id, reason=reason)
    return [Move(row.id, "give_back", "waiting", None, row.team_id) for row in rows]


async def announce(redis: aioredis.Redis, tenant_id: uuid.UUID, moves: list[Move]) -> None:
    """After the commit: each move as the live event the agents' actions publish."""
    for move in moves:
        await live.publish(redis, tenant_id, "conversation.updated", conversation_id=str(move.conversation_id),
                           action=move.action, status=move.status, assignee_id=move.assignee_id,
                           team_id=move.team_id)


async def expire_absent(engine: AsyncEngine, redis: aioredis.Redis) -> int:
    """The sweeper's part: users whose heartbeat expired are offline now; give back what they had not answered
    and hand it to whoever is online. Forgetting the choice first makes one sweeper do it, once."""
    gone = 0
    for tenant_id in await presence.tenants(redis):
        _, expired = await presence.statuses(redis, tenant_id)
        for user_id in expired:
            if not await presence.forget(redis, tenant_id, user_id):
                continue
            gone += 1
            async with tenant_transaction(engine, tenant_id) as conn:
                moves = await give_back(conn, tenant_id, user_id, "agent_offline")
                if moves:
                    moves += await fill(conn, redis, tenant_id)
            await announce(redis, tenant_id, moves)
            await live.publish(redis, tenant_id, "presence.updated", user_id=str(user_id), status="offline")
    return gone
