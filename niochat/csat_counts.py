"""The CSAT counts as the marts make them, in SQL over the operational tables, for a reader that must not wait for
the warehouse (the API's summary, on an agent's screen). The marts' definitions (int_csat_surveys_joined,
fct_csat_responses and the CSAT columns of agg_tenant_daily_kpis / agg_agent_daily_kpis), written once more here
because they run on another database; tests/integration/test_kpi_agreement.py checks both give the same
figures for the same rows. The counts come out under the marts' column names, so niochat/kpis.py divides them
as it divides the marts'.

- An answer counts at its own time (csat_responses.created_at); satisfied means rated 4 or 5.
- A survey counts as sent when it has a send time or an answer (an answered survey was sent, even when the engine
  did not record when), at sent_at, else at the answer's time; answered means it has an answer, whenever it came.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, or_, select

from niochat.tables import csat_requests, csat_responses

RATINGS = range(1, 6)
SATISFIED_MIN_RATING = 4  # fct_csat_responses.is_satisfied

_ANSWERED = csat_responses.c.id.is_not(None)
_SENT = or_(csat_requests.c.sent_at.is_not(None), _ANSWERED)
_SENT_AT = func.coalesce(csat_requests.c.sent_at, csat_requests.c.answered_at, csat_responses.c.created_at)


def _between(column, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    """[start, end), either end open when None."""
    return [condition for condition in (
        column >= start if start is not None else None,
        column < end if end is not None else None,
    ) if condition is not None]


def answers(start: datetime | None, end: datetime | None, *where: ColumnElement[bool]) -> Select:
    """One row: csat_responses, csat_satisfied_responses, csat_rating_sum, csat_responses_rated_1..5 of the answers
    given in [start, end). `where` may filter on csat_requests and csat_responses."""
    rating = csat_responses.c.rating
    return (
        select(
            func.count().label("csat_responses"),
            func.count().filter(rating >= SATISFIED_MIN_RATING).label("csat_satisfied_responses"),
            func.coalesce(func.sum(rating), 0).label("csat_rating_sum"),
            *(func.count().filter(rating == value).label(f"csat_responses_rated_{value}") for value in RATINGS),
        )
        .select_from(csat_responses.join(csat_requests, csat_requests.c.id == csat_responses.c.csat_request_id))
        .where(*_between(csat_responses.c.created_at, start, end), *where)
    )


def surveys(start: datetime | None, end: datetime | None, *where: ColumnElement[bool]) -> Select:
    """One row: csat_surveys_sent (sent in [start, end)) and csat_surveys_answered (of those, answered at any
    time). `where` may filter on csat_requests and csat_responses."""
    return (
        select(func.count().label("csat_surveys_sent"), func.count().filter(_ANSWERED).label("csat_surveys_answered"))
        .select_from(
            csat_requests.outerjoin(csat_responses, csat_responses.c.csat_request_id == csat_requests.c.id)
        )
        .where(_SENT, *_between(_SENT_AT, start, end), *where)
    )
