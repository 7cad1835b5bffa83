"""Reads of the warehouse marts, always as the dashboard role bound by row-level security to one tenant.

Every query runs in its own transaction: `set local role niochat_dash` and `niochat.tenant_id` set locally, so
even a query that forgot its tenant filter sees that tenant's rows only (the dbt project creates the role and
the policies, see dbt_project/macros/tenant_rls.sql). Results are cached briefly; the tenant is part of the key.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from niochat.database import TENANT_SETTING, sync_engine

DASHBOARD_ROLE = "niochat_dash"  # dbt_project.yml: vars.dashboard_role
MARTS = "marts"


class TtlCache:
    """A small LRU with expiry, per process. Keys must carry the tenant (see Marts._cached)."""

    def __init__(self, ttl: float = 60.0, size: int = 512):
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_set(self, key: tuple, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and hit[0] > now:
                self._items.move_to_end(key)
                return hit[1]
        value = compute()
        with self._lock:
            self._items[key] = (now + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Marts:
    """The marts, read for one tenant at a time."""

    def __init__(self, warehouse_url: str, *, engine: Engine | None = None, cache_seconds: float = 60.0):
        self.engine = engine or sync_engine(warehouse_url, pool_size=5, max_overflow=5)
        self.cache = TtlCache(cache_seconds)
        # Observers of every query's tenant (tests use it to prove each callback asks for the session's tenant).
        self.listeners: list[Callable[[str, str], None]] = []

    def query(self, tenant_id: uuid.UUID | str, statement: str, **params) -> list[dict]:
        tenant = str(uuid.UUID(str(tenant_id)))  # a malformed tenant never reaches SQL
        for listener in self.listeners:
            listener(tenant, statement)
        with self.engine.begin() as conn:
            conn.execute(text(f"set local role {DASHBOARD_ROLE}"))
            conn.execute(text("select set_config(:name, :tenant, true)"), {"name": TENANT_SETTING, "tenant": tenant})
            return [dict(row._mapping) for row in conn.execute(text(statement), params)]

    def _cached(self, name: str, tenant_id, statement: str, **params) -> list[dict]:
        key = (str(tenant_id), name, tuple(sorted(params.items())))
        return self.cache.get_or_set(key, lambda: self.query(tenant_id, statement, **params))

    # --- datasets ------------------------------------------------------------------------------------------

    def tenant(self, tenant_id) -> dict | None:
        rows = self._cached("tenant", tenant_id, f"select * from {MARTS}.dim_tenants")
        return rows[0] if rows else None

    def has_data(self, tenant_id) -> bool:
        rows = self._cached("has_data", tenant_id,
                            f"select exists (select 1 from {MARTS}.agg_tenant_daily_kpis) as has_data")
        return bool(rows and rows[0]["has_data"])

    def daily_kpis(self, tenant_id, start: date, end: date) -> list[dict]:
        return self._cached("daily_kpis", tenant_id, f"""
            select * from {MARTS}.agg_tenant_daily_kpis
            where activity_date between :start and :end order by activity_date""", start=start, end=end)

    def period_totals(self, tenant_id, start: date, end: date) -> dict[str, dict]:
        """Sums over the period and over the previous period of the same length: {'current': ..., 'previous': ...}."""
        days = (end - start).days + 1
        previous_start = start - timedelta(days=days)
        rows = self._cached("period_totals", tenant_id, f"""
            select case when activity_date >= :start then 'current' else 'previous' end as period,
                   sum(conversations_started) as conversations, sum(conversations_closed) as closed,
                   sum(ai_resolved_conversations) as ai_resolved,
                   sum(conversations_handed_off) as handed_off,
                   sum(bot_first_responses) as bot_n, sum(bot_first_response_seconds_sum) as bot_sum,
                   sum(human_first_responses) as human_n, sum(human_first_response_seconds_sum) as human_sum,
                   sum(resolution_seconds_sum) as resolution_sum,
                   sum(csat_responses) as csat_n, sum(csat_satisfied_responses) as csat_satisfied,
                   sum(csat_rating_sum) as csat_rating_sum,
                   sum(inbound_messages) as inbound, sum(outbound_messages) as outbound
            from {MARTS}.agg_tenant_daily_kpis
            where activity_date between :previous_start and :end
            group by 1""", start=start, end=end, previous_start=previous_start)
        return {row["period"]: row for row in rows}

    def hourly_volume(self, tenant_id, start: date, end: date) -> list[dict]:
        return self._cached("hourly_volume", tenant_id, f"""
            select day_of_week, hour_of_day, sum(inbound_messages) as inbound, sum(outbound_messages) as outbound,
                   sum(conversations_started) as conversations, sum(handoffs) as handoffs
            from {MARTS}.agg_tenant_hourly_volume
            where activity_date between :start and :end
            group by day_of_week, hour_of_day order by day_of_week, hour_of_day""", start=start, end=end)

    def csat_distribution(self, tenant_id, start: date, end: date) -> list[dict]:
        return self._cached("csat_distribution", tenant_id, f"""
            select r.rating, count(*) as responses
            from {MARTS}.fct_csat_responses r cross join {MARTS}.dim_tenants t
            where (r.responded_at at time zone t.timezone)::date between :start and :end
            group by r.rating order by r.rating""", start=start, end=end)

    def csat_comments(self, tenant_id, start: date, end: date, limit: int = 50) -> list[dict]:
        return self._cached("csat_comments", tenant_id, f"""
            select (r.responded_at at time zone t.timezone) as responded_at_local, r.rating, r.comment,
                   r.sentiment, r.understood_by
            from {MARTS}.fct_csat_responses r cross join {MARTS}.dim_tenants t
            where (r.responded_at at time zone t.timezone)::date between :start and :end
              and nullif(trim(r.comment), '') is not null
            order by r.responded_at desc limit :limit""", start=start, end=end, limit=limit)

    def tool_outcomes(self, tenant_id, start: date, end: date) -> list[dict]:
        return self._cached("tool_outcomes", tenant_id, f"""
            select c.tool_category, c.tool, c.outcome, count(*) as calls,
                   count(*) filter (where c.is_success) as successes,
                   count(*) filter (where c.is_error) as errors,
                   round(avg(c.latency_ms)) as latency_ms_avg
            from {MARTS}.fct_tool_calls c cross join {MARTS}.dim_tenants t
            where (c.created_at at time zone t.timezone)::date between :start and :end
            group by 1, 2, 3 order by calls desc, 1, 2, 3""", start=start, end=end)

    def handoff_reasons(self, tenant_id, start: date, end: date) -> list[dict]:
        return self._cached("handoff_reasons", tenant_id, f"""
            select coalesce(nullif(trim(c.handoff_reason), ''), 'sem motivo registrado') as reason,
                   count(*) as conversations
            from {MARTS}.fct_conversations c cross join {MARTS}.dim_tenants t
            where c.is_handed_off and (c.handoff_at at time zone t.timezone)::date between :start and :end
            group by 1 order by conversations desc, reason""", start=start, end=end)

    def sgp_errors(self, tenant_id, start: date, end: date, limit: int = 50) -> list[dict]:
        return self._cached("sgp_errors", tenant_id, f"""
            select (c.created_at at time zone t.timezone) as created_at_local, c.tool, c.outcome, c.error,
                   c.latency_ms
            from {MARTS}.fct_tool_calls c cross join {MARTS}.dim_tenants t
            where c.is_sgp_error and (c.created_at at time zone t.timezone)::date between :start and :end
            order by c.created_at desc limit :limit""", start=start, end=end, limit=limit)

    def intents(self, tenant_id, start: date, end: date) -> list[dict]:
        """Per intent the bot acted on: messages, conversations (once, on their first ask) and their outcomes."""
        return self._cached("intents", tenant_id, f"""
            select intent, sum(inbound_messages) as inbound_messages, sum(conversations) as conversations,
                   sum(conversations_closed) as closed, sum(conversations_resolved_by_ai) as ai_resolved,
                   sum(conversations_handed_off) as handed_off
            from {MARTS}.agg_tenant_daily_intents
            where activity_date between :start and :end
            group by intent order by conversations desc, inbound_messages desc, intent""", start=start, end=end)

    def agents(self, tenant_id, start: date, end: date) -> list[dict]:
        """Per agent (the assignee): name (dim_users), conversations, human first-response time, CSAT."""
        return self._cached("agents", tenant_id, f"""
            with tz as (select timezone from {MARTS}.dim_tenants),
            conv as (
                select c.assignee_user_id as agent_id, count(*) as conversations,
                       count(*) filter (where c.is_closed) as closed,
                       sum(c.agent_messages) as agent_messages,
                       avg(c.human_first_response_seconds) as human_first_response_seconds_avg
                from {MARTS}.fct_conversations c cross join tz
                where c.assignee_user_id is not null
                  and (c.created_at at time zone tz.timezone)::date between :start and :end
                group by 1),
            csat as (
                select r.agent_user_id as agent_id, count(*) as csat_responses,
                       count(*) filter (where r.is_satisfied) as csat_satisfied, avg(r.rating) as csat_average
                from {MARTS}.fct_csat_responses r cross join tz
                where r.agent_user_id is not null
                  and (r.responded_at at time zone tz.timezone)::date between :start and :end
                group by 1),
            per_agent as (
                select coalesce(conv.agent_id, csat.agent_id) as agent_id,
                       coalesce(conv.conversations, 0) as conversations, coalesce(conv.closed, 0) as closed,
                       coalesce(conv.agent_messages, 0) as agent_messages,
                       conv.human_first_response_seconds_avg,
                       coalesce(csat.csat_responses, 0) as csat_responses, csat.csat_satisfied, csat.csat_average
                from conv full join csat on csat.agent_id = conv.agent_id)
            -- left join: an assignee synced before their user row still shows up (by id)
            select per_agent.*, u.user_name as agent_name, u.role as agent_role, u.is_active as agent_active,
                   u.team_names
            from per_agent left join {MARTS}.dim_users u on u.user_id = per_agent.agent_id
            order by conversations desc, agent_name, agent_id""", start=start, end=end)
