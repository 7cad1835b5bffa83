"""One turn: what a brain gets and gives. Brains decide the words and the actions; the engine persists and sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from api.brain.handoff import Handoff

if TYPE_CHECKING:  # the toolbox needs the database; a turn's types do not
    from api.brain.tools import Toolbox


@dataclass(frozen=True)
class Persona:
    company: str
    agent_name: str = "Nia"
    emojis: bool = True


@dataclass(frozen=True)
class BrainInput:
    tenant_id: uuid.UUID
    conversation_id: uuid.UUID
    persona: Persona
    contact_name: str | None
    new_messages: list[str]  # the burst being answered, in order
    history: list[tuple[str, str]] = field(default_factory=list)  # (sender_kind, text), oldest first
    first_contact: bool = False  # no reply was ever sent in this conversation
    business_hours: str = ""  # "seg a sex, 08:00–18:00; sáb, 08:00–12:00"
    humans_available: bool = True


# What a turn was about, besides the NLU's intents (api/brain/nlu Intent values). The engine stores it on the
# inbound messages the turn answered (`messages.intent`) and the marts count it (agg_tenant_daily_intents).
IDENTIFY = "identify"  # the customer only sent their CPF/CNPJ or picked one of their contracts
NOT_UNDERSTOOD = "not_understood"  # the rules brain recognized nothing and said so
KNOWLEDGE = "knowledge"  # answered (or not) from the provider's knowledge base
EXTRA_INTENTS = (IDENTIFY, NOT_UNDERSTOOD, KNOWLEDGE)


@dataclass
class BrainReply:
    texts: list[str]
    handoff: Handoff | None = None
    close: bool = False
    intent: str | None = None  # the request the brain acted on (None: it could not tell)


class Brain(Protocol):
    name: str

    async def respond(self, given: BrainInput, tools: Toolbox) -> BrainReply: ...
