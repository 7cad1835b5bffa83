"""Reads of the warehouse marts, always as the dashboard role bound by row-level security to one tenant.

Every figure comes from a mart: counts and sums are summed over the period here, in SQL; rates and averages are
then divided by niochat/kpis.py (the one place that divides), never averaged over days.

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

from niochat import kpis
from niochat.database import TENANT_SETTING, sync_engine

DASHBOARD_ROLE = "niochat_dash"  # dbt_project.yml: vars.dashboard_role
MARTS = "marts"
RATINGS = range(1, 6)
CSAT_COUNTS = ("csat_responses", "csat_satisfied_responses", "csat_rating_sum", "csat_surveys_sent",
               "csat_surveys_answered", *(f"csat_responses_rated_{rating}" for rating in RATINGS))
# The columns of each mart that add up over days (and agents); rates and averages are divided from them.
TENANT_DAILY_COUNTS = (
    "conversations_started", "conversations_closed", "conversations_handed_off", "ai_resolved_conversations",
    "inbound_messages", "outbound_messages", "bot_first_responses", "bot_first_response_seconds_sum",
    "human_first_responses", "human_first_response_seconds_sum", "resolution_seconds_sum", *CSAT_COUNTS,
    "tool_calls", "invoices_sent", "tickets_opened", "unlocks_granted", "sgp_errors",
)
AGENT_DAILY_COUNTS = (
    "conversations_handled", "conversations_closed", "resolution_seconds_sum", "human_first_responses",
    "human_first_response_seconds_sum", "agent_messages", *CSAT_COUNTS,
)
INTENT_COUNTS = ("inbound_messages", "conversations", "conversations_closed", "conversations_resolved_by_ai",
                 "conversations_handed_off")
TOOL_OUTCOME_COUNTS = ("tool_calls", "successful_calls", "failed_calls", "calls_without_effect",
                       "latency_measured_calls", "latency_ms_sum")


def _sums(columns) -> str:
    """`sum(c) as c, ...`: a period's (or a group's) totals under the mart's own column names."""
    return ", ".join(f"sum({column}) as {column}" for column in columns)


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
        """The period's figures and the previous period's (same length): {'current': ..., 'previous': ...}, each
        with agg_tenant_daily_kpis' column names, counts summed and rates divided over the whole period."""
        days = (end - start).days + 1
        previous_start = start - timedelta(days=days)
        rows = self._cached("period_totals", tenant_id, f"""
            select case when activity_date >= :start then 'current' else 'previous' end as period,
                   {_sums(TENANT_DAILY_COUNTS)}
            from {MARTS}.agg_tenant_daily_kpis
            where activity_date between :previous_start and :end
            group by 1""", start=start, end=end, previous_start=previous_start)
        return {row["period"]: kpis.with_ratios("agg_tenant_daily_kpis", row) for row in rows}

    def hourly_volume(self, tenant_id, start: date, end: date) -> list[dict]:
        return self._cached("hourly_volume", tenant_id, f"""
            select day_of_week, hour_of_day, sum(inbound_messages) as inbound, sum(outbound_messages) as outbound,
                   sum(conversations_started) as conversations, sum(handoffs) as handoffs
            from {MARTS}.agg_tenant_hourly_volume
            where activity_date between :start and :end
            group by day_of_week, hour_of_day order by day_of_week, hour_of_day""", start=start, end=end)

    def csat_distribution(self, tenant_id, start: date, end: date) -> list[dict]:
        """Answers per rating 1..5 in the period, each with its share of all answers (percent)."""
        rows = self._cached("csat_distribution", tenant_id, f"""
            select {_sums(f"csat_responses_rated_{rating}" for rating in RATINGS)}
            from {MARTS}.agg_tenant_daily_kpis where activity_date between :start and :end""", start=start, end=end)
        counts = {rating: rows[0][f"csat_responses_rated_{rating}"] or 0 for rating in RATINGS}
        total = sum(counts.values())
        return [{"rating": rating, "responses": count, "share_pct": kpis.percent(count, total)}
                for rating, count in counts.items()]

    def csat_comments(self, tenant_id, start: date, end: date, limit: int = 50) -> list[dict]:
        return self._cached("csat_comments", tenant_id, f"""
            select (r.responded_at at time zone t.timezone) as responded_at_local, r.rating, r.comment,
                   r.sentiment, r.understood_by
            from {MARTS}.fct_csat_responses r cross join {MARTS}.dim_tenants t
            where (r.responded_at at time zone t.timezone)::date between :start and :end
              and nullif(trim(r.comment), '') is not null
            order by r.responded_at desc limit :limit""", start=start, end=end, limit=limit)

    def tool_outcomes(self, tenant_id, start: date, end: date) -> list[dict]:
        """Per tool and outcome: calls, split into successful / without effect / failed, and their latency."""
        rows = self._cached("tool_outcomes", tenant_id, f"""
            select tool_category, tool, outcome, {_sums(TOOL_OUTCOME_COUNTS)}
            from {MARTS}.agg_tenant_daily_tool_outcomes
            where activity_date between :start and :end
            group by 1, 2, 3 order by tool_calls desc, 1, 2, 3""", start=start, end=end)
        return [kpis.with_ratios("agg_tenant_daily_tool_outcomes", row) for row in rows]

    def handoff_reasons(self, tenant_id, start: date, end: date) -> list[dict]:
        """Handoffs per reason (null: none recorded), by the handoff's day."""
        return self._cached("handoff_reasons", tenant_id, f"""
            select handoff_reason, sum(handoffs) as handoffs
            from {MARTS}.agg_tenant_daily_handoff_reasons
            where activity_date between :start and :end
            group by 1 order by handoffs desc, handoff_reason""", start=start, end=end)

    def sgp_errors(self, tenant_id, start: date, end: date, limit: int = 50) -> list[dict]:
        return self._cached("sgp_errors", tenant_id, f"""
            select (c.created_at at time zone t.timezone) as created_at_local, c.tool, c.outcome, c.error,
                   c.latency_ms
            from {MARTS}.fct_tool_calls c cross join {MARTS}.dim_tenants t
            where c.is_sgp_error and (c.created_at at time zone t.timezone)::date between :start and :end
            order by c.created_at desc limit :limit""", start=start, end=end, limit=limit)

    def intents(self, tenant_id, start: date, end: date) -> list[dict]:
        """Per intent the bot acted on: messages, conversations (once, on their first ask) and their outcomes."""
        rows = self._cached("intents", tenant_id, f"""
            select intent, {_sums(INTENT_COUNTS)}
            from {MARTS}.agg_tenant_daily_intents
            where activity_date between :start and :end
            group by intent order by conversations desc, inbound_messages desc, intent""", start=start, end=end)
        return [kpis.with_ratios("agg_tenant_daily_intents", row) for row in rows]

    def labels(self, tenant_id, start: date, end: date) -> list[dict]:
        """Per label (its current name and colour): the conversations started in the period that carry it."""
        return self._cached("labels", tenant_id, f"""
            select label_id, label_name, label_color, sum(conversations) as conversations
            from {MARTS}.agg_tenant_daily_labels
            where activity_date between :start and :end
            group by 1, 2, 3 order by conversations desc, label_name, label_id""", start=start, end=end)

    def agents(self, tenant_id, start: date, end: date) -> list[dict]:
        """Per agent (agg_agent_daily_kpis) with their name (dim_users): counts summed and rates divided over the
        period."""
        rows = self._cached("agents", tenant_id, f"""
            with per_agent as (
                select agent_user_id, {_sums(AGENT_DAILY_COUNTS)}
                from {MARTS}.agg_agent_daily_kpis
                where activity_date between :start and :end
                group by agent_user_id)
            -- left join: an assignee synced before their user row still shows up (by id)
            select per_agent.*, u.user_name as agent_name, u.role as agent_role, u.is_active as agent_active,
                   u.team_names
            from per_agent left join {MARTS}.dim_users u on u.user_id = per_agent.agent_user_id
            order by conversations_handled desc, agent_name, agent_user_id""", start=start, end=end)
        return [kpis.with_ratios("agg_agent_daily_kpis", row) for row in rows]
