"""Satisfaction survey answers and their summary."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.conversations import ContactBrief


class CsatResponseOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    contact: ContactBrief
    agent_id: uuid.UUID | None = Field(description="The agent the survey was about (assignee when the chat closed)")
    agent_name: str | None
    rating: int = Field(ge=1, le=5)
    sentiment: str | None = Field(description="negative (1-2) | neutral (3) | positive (4-5)")
    comment: str | None = Field(description="The customer's words without the rating itself")
    raw_text: str | None = Field(description="The customer's answer as written")
    understood_by: str | None = Field(description="number | emoji | lexicon | model")
    sent_at: datetime | None = Field(description="When the survey was sent")
    created_at: datetime = Field(description="When the answer was recorded")


class CsatSummaryOut(BaseModel):
    """The marts' CSAT figures (agg_tenant_daily_kpis), on their scale, for the period."""

    surveys_sent: int = Field(
        description="Surveys sent in the period (by their send time; an answered one without it, by the answer's)"
    )
    answers: int = Field(description="Answers received in the period (by their time)")
    satisfaction_score: float | None = Field(
        description="Answers rated 4-5 / answers, percent 0..100 (2 decimals, as csat_score_pct); null without answers"
    )
    response_rate: float | None = Field(
        description="Of the surveys sent in the period, those answered (at any time), percent 0..100 (2 decimals, as "
                    "csat_response_rate_pct); null when none was sent"
    )
    average_rating: float | None = Field(description="Mean rating 1..5 (2 decimals); null without answers")
    distribution: dict[str, int] = Field(description='Answers per rating, keys "1" to "5" (zero included)')
