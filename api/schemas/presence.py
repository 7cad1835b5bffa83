"""Presence and the supervisors' view of each agent's load."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from api.engine.presence import Presence


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Presence = Field(description="online: gets conversations; away: keeps its own, gets none; offline: "
                                         "gives back the ones nobody answered yet")


class PresenceOut(BaseModel):
    status: Presence
    grace_seconds: int = Field(description="Online or away lasts this long after the workspace's socket closes")


class AgentLoadOut(BaseModel):
    user_id: uuid.UUID
    name: str
    role: str
    presence: Presence
    capacity: int = Field(description="Open conversations auto-assignment gives them at most")
    open_conversations: int
    waiting: int = Field(description="Conversations waiting in their teams' queues and the general queue")
    oldest_waiting_minutes: float | None
    first_response_median_seconds: float | None = Field(
        description="Today (tenant's timezone): from the handoff to the first human reply, of theirs")
    first_response_avg_seconds: float | None
    answered_today: int
