"""The one vocabulary of names stored in the operational tables that more than one part writes or reads: the intent
on a customer message, the tool, outcome and brain of a tool call, conversation and message states, who sent or
closed, roles, providers, the sentiment of a satisfaction answer. The live brains and the survey (api/), the
history import (ingest/) write them; the marts group and test by them through dbt seeds generated from this module
(`make vocabulary`, ingest/vocabulary_seeds.py; a test fails when the committed seeds are stale).
tests/unit/test_vocabulary.py checks that the brains use exactly these names.

A new tool, outcome or status goes here first (with its category, kind...), then `make vocabulary`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What a turn acted on (messages.intent): the NLU's intents plus the turns that only identified the customer or
# understood nothing.
INTENTS = frozenset({
    "second_copy", "connection_down", "trust_unlock", "payment_notice", "billing_issue", "open_ticket", "human",
    "sales", "cancel", "greeting", "thanks_bye", "yes", "no", "identify", "not_understood", "knowledge",
})

# --- tools: what the tool outcome metrics count each one as ------------------------------------------------------

# Invoices sent, tickets opened and unlocks granted are the successful calls of their category's tools.
TOOL_CATEGORIES = ("invoice", "ticket", "unlock", "connection", "identify", "handoff", "close", "knowledge", "sales",
                   "other")
# A tool name outside the vocabulary (an old or foreign name in the warehouse) is counted here, calling no SGP.
UNKNOWN_TOOL_CATEGORY = "other"


@dataclass(frozen=True)
class Tool:
    category: str
    calls_sgp: bool  # it asks the provider's management system: its errors are SGP errors


TOOL_CATALOGUE: dict[str, Tool] = {
    "identify_customer": Tool("identify", calls_sgp=True),
    "verify_identity": Tool("identify", calls_sgp=True),
    "choose_contract": Tool("identify", calls_sgp=False),  # picks among the contracts already found
    "second_copy": Tool("invoice", calls_sgp=True),
    "connection_status": Tool("connection", calls_sgp=True),
    "open_ticket": Tool("ticket", calls_sgp=True),
    "trust_unlock": Tool("unlock", calls_sgp=True),
    "transfer_to_human": Tool("handoff", calls_sgp=False),
    "close_conversation": Tool("close", calls_sgp=False),
    "search_knowledge": Tool("knowledge", calls_sgp=False),  # the tenant's knowledge base (knowledge_entries)
    "check_coverage": Tool("sales", calls_sgp=False),  # neighbourhoods and CEPs of the knowledge base
    "create_lead": Tool("sales", calls_sgp=False),  # a prospective customer for team comercial
    # follow-ups (api/engine/follow_ups.py): a re-check scheduled by a turn, then run by the worker, which asks
    # the SGP again; the promise date's reminder, sent or skipped (outside the 24-hour window)
    "connection_recheck": Tool("connection", calls_sgp=True),
    "promise_reminder": Tool("unlock", calls_sgp=False),
}
TOOLS = frozenset(TOOL_CATALOGUE)

# --- outcomes: each one's kind splits the calls three ways ---------------------------------------------------------

OutcomeKind = Literal["success", "unsuccessful", "error"]
# success: did the thing (found, sent, opened, granted...); unsuccessful: worked without doing it (nothing sent,
# opened or granted); error: failed. A call with an error text is an error whatever its outcome.
OUTCOME_KINDS: tuple[OutcomeKind, ...] = ("success", "unsuccessful", "error")
# An outcome outside the vocabulary is not counted as done: it is a call without effect (unless an error text).
UNKNOWN_OUTCOME_KIND: OutcomeKind = "unsuccessful"

OUTCOME_CATALOGUE: dict[str, OutcomeKind] = {
    # identify_customer, choose_contract
    "found": "success", "several_contracts": "success", "ok": "success",
    "not_found": "unsuccessful", "phone_mismatch": "unsuccessful", "document_not_typed": "unsuccessful",
    "invalid_document": "unsuccessful", "unknown_contract": "unsuccessful",
    # the second factor (verify_identity)
    "verified": "success",
    "mismatch": "unsuccessful", "too_many_attempts": "unsuccessful", "locked": "unsuccessful",
    "factor_unavailable": "unsuccessful", "not_requested": "unsuccessful", "answer_not_typed": "unsuccessful",
    # second_copy, connection_status, open_ticket, trust_unlock: the check itself worked whatever it found
    "sent": "success", "online": "success", "offline": "success", "maintenance": "success", "opened": "success",
    "granted": "success",
    "nothing_open": "unsuccessful", "already_open": "unsuccessful", "refused": "unsuccessful",
    "suspended": "unsuccessful", "not_blocked": "unsuccessful",
    # transfer_to_human, close_conversation
    "transferred": "success", "closed": "success",
    # search_knowledge: answered from an entry, or nothing good enough (the bot says it does not know)
    "answered": "success", "no_match": "unsuccessful",
    # check_coverage: the check worked whatever it found; create_lead: a lead for comercial, or interest noted
    "covered": "success", "not_covered": "success", "no_place": "unsuccessful", "no_coverage_data": "unsuccessful",
    "lead_created": "success", "interest_registered": "success",
    # connection_recheck, promise_reminder: scheduled, then the answer the customer got, or why nothing was sent
    "scheduled": "success", "back_online": "success", "still_offline": "success",
    "skipped_outside_window": "unsuccessful", "skipped_with_agent": "unsuccessful", "skipped_too_soon": "unsuccessful",
    # the management system: not there, or failing
    "sgp_not_configured": "unsuccessful",
    "sgp_unavailable": "error", "sgp_auth_error": "error", "sgp_error": "error", "ticket_type_unknown": "error",
}
TOOL_OUTCOMES = frozenset(OUTCOME_CATALOGUE)

BRAINS = ("rules", "openai", "agent")  # tool_calls.brain

# --- conversations, messages, people, channels -----------------------------------------------------------------------

CONVERSATION_STATUSES = ("bot", "waiting", "open", "closed")  # bot answering, in a team queue, an agent's, closed
CLOSED_BY = ("bot", "agent", "system", "customer")
MESSAGE_DIRECTIONS = ("inbound", "outbound")  # from the customer, to the customer
SENDER_KINDS = ("customer", "bot", "agent", "system")  # agent: a human
MESSAGE_STATUSES = ("received", "processed", "ignored", "queued", "sending", "sent", "delivered", "read", "failed")
ROLES = ("superadmin", "admin", "manager", "agent")
PROVIDERS = ("uazapi", "evolution")  # WhatsApp APIs a channel speaks
CSAT_RATINGS = (1, 2, 3, 4, 5)
# conversations.handoff_reason as the brains, the media reader and the phone-attendant detection write it. A model
# brain or an agent may write their own words too, so the marts group by it without testing it against these.
HANDOFF_REASONS = frozenset({
    "customer_request", "identity_unverified", "not_understood", "contract_cancelled", "cancel", "sales",
    "billing_issue", "payment_receipt", "customer_media", "agent_on_phone", "agent_took", "ticket_type_unknown",
    "sales_lead", "knowledge_no_match",
})

Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")


def sentiment_of(rating: int) -> Sentiment:
    """csat_responses.sentiment: what a 1..5 rating says (the survey and the history import both write it)."""
    if rating <= 2:
        return "negative"
    return "neutral" if rating == 3 else "positive"


# The enumerations the marts test their columns against (dbt's `in_vocabulary` test, seed value_vocabulary).
ENUMERATIONS: dict[str, tuple[str, ...]] = {
    "intent": tuple(sorted(INTENTS)),
    "tool_category": TOOL_CATEGORIES,
    "outcome_kind": OUTCOME_KINDS,
    "brain": BRAINS,
    "conversation_status": CONVERSATION_STATUSES,
    "closed_by": CLOSED_BY,
    "message_direction": MESSAGE_DIRECTIONS,
    "sender_kind": SENDER_KINDS,
    "message_status": MESSAGE_STATUSES,
    "role": ROLES,
    "provider": PROVIDERS,
    "csat_rating": tuple(str(rating) for rating in CSAT_RATINGS),
    "sentiment": SENTIMENTS,
}
