"""A conversation's system events: what happened to it besides its messages (handoff, transfer, close, CSAT...)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

EVENT_KINDS = ("handoff", "take", "assign", "transfer", "handback", "close", "reopen", "phone_takeover", "csat_asked",
               "csat_answered")


class EventOut(BaseModel):
    kind: str = Field(description=" | ".join(EVENT_KINDS))
    at: datetime
    actor_kind: str | None = Field(description="user | bot | system (null: known only from the conversation's own "
                                               "fields, or the customer's CSAT answer)")
    actor_name: str | None = Field(description="The person who did it, when a person did")
    assignee_name: str | None = Field(None, description="assign, take, transfer to a person: who has it now")
    team_name: str | None = Field(None, description="transfer, handoff: the team's queue it went to")
    reason: str | None = Field(None, description="handoff: its reason code; transfer: the note; close: its reason; "
                                                 "handback: agent | phone_attendant_silent")
    score: int | None = Field(None, description="csat_answered: the rating, 1 to 5")
    comment: str | None = Field(None, description="csat_answered: what the customer added")
