"""A request to hand the chat to a person: what both the turn and the tools speak of, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Handoff:
    reason: str
    team_slug: str | None = None  # None: the tenant's general queue
