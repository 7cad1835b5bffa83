"""Every KPI rate and average, divided in one place: sums and counts in, figures out.

The marts (dbt_project/models/marts/agg_*) hold numerators and denominators per day, and their daily rates come
from dbt's `percent` and `average` macros (dbt_project/macros/metrics.sql). Over any other span (a dashboard's
period, several agents, an API summary) a figure is sum(numerator) / sum(denominator), never an average of daily
rates, and it is divided here with the macros' formula and rounding: percentages 100 * n / d to 2 decimals,
averages to their mart column's scale, half away from zero as PostgreSQL's round(), null when there is nothing
to divide by. So a one-day period shows exactly the mart's own number, and every column's formula is named
once, below, by the mart columns it divides (tests/integration/test_kpi_agreement.py holds them to the marts' YAML).

On the floor because two rooms need it: the dashboards divide mart sums, and the API's CSAT summary divides counts
it reads live from the operational database (niochat/csat_counts.py counts them as the marts do). Neither divides
anywhere else; how a figure is written for people (Portuguese numbers, durations) is dash_app/theme.py's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


def divide(numerator, denominator, *, scale: int, factor: int = 1) -> Decimal | None:
    """factor * numerator / denominator rounded to `scale` decimals; None without a positive denominator."""
    if numerator is None or denominator is None or Decimal(str(denominator)) <= 0:
        return None
    value = Decimal(factor) * Decimal(str(numerator)) / Decimal(str(denominator))
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def percent(numerator, denominator) -> Decimal | None:
    """dbt's `percent` macro: 100 * numerator / denominator, two decimals."""
    return divide(numerator, denominator, scale=2, factor=100)


@dataclass(frozen=True)
class Ratio:
    """A mart column that divides two others (its daily value in the mart, its value over any span here)."""

    column: str
    numerator: str
    denominator: str
    scale: int
    factor: int = 1

    def of(self, sums: Mapping) -> Decimal | None:
        return divide(sums.get(self.numerator), sums.get(self.denominator), scale=self.scale, factor=self.factor)


def _percent(column: str, numerator: str, denominator: str) -> Ratio:
    return Ratio(column, numerator, denominator, scale=2, factor=100)


CSAT = (
    _percent("csat_score_pct", "csat_satisfied_responses", "csat_responses"),
    Ratio("csat_average", "csat_rating_sum", "csat_responses", scale=2),
    _percent("csat_response_rate_pct", "csat_surveys_answered", "csat_surveys_sent"),
)
HUMAN_RESPONSE_AND_RESOLUTION = (
    Ratio("human_first_response_seconds_avg", "human_first_response_seconds_sum", "human_first_responses", scale=3),
    Ratio("resolution_seconds_avg", "resolution_seconds_sum", "conversations_closed", scale=3),
)
# Per mart: the columns that are ratios of its other columns.
RATIOS: dict[str, tuple[Ratio, ...]] = {
    "agg_tenant_daily_kpis": (
        Ratio("bot_first_response_seconds_avg", "bot_first_response_seconds_sum", "bot_first_responses", scale=3),
        *HUMAN_RESPONSE_AND_RESOLUTION,
        _percent("ai_resolution_rate_pct", "ai_resolved_conversations", "conversations_closed"),
        _percent("handoff_rate_pct", "conversations_handed_off", "conversations_started"),
        *CSAT,
    ),
    "agg_agent_daily_kpis": (*HUMAN_RESPONSE_AND_RESOLUTION, *CSAT),
    # no daily rate columns there: these exist over a period only
    "agg_tenant_daily_intents": (
        _percent("ai_resolution_rate_pct", "conversations_resolved_by_ai", "conversations_closed"),
        _percent("handoff_rate_pct", "conversations_handed_off", "conversations"),
    ),
    "agg_tenant_daily_tool_outcomes": (Ratio("latency_ms_avg", "latency_ms_sum", "latency_measured_calls", scale=0),),
}


def figures(ratios: tuple[Ratio, ...], sums: Mapping) -> dict[str, Decimal | None]:
    """Each ratio's column, divided from the sums."""
    return {ratio.column: ratio.of(sums) for ratio in ratios}


def with_ratios(mart: str, sums: Mapping) -> dict:
    """The summed row with the mart's ratio columns divided over the same span."""
    return {**sums, **figures(RATIOS[mart], sums)}


def change_pct(current, previous) -> Decimal | None:
    """Relative change from previous to current, percent; None when previous is zero or missing."""
    if current is None or previous is None:
        return None
    return percent(Decimal(str(current)) - Decimal(str(previous)), previous)
