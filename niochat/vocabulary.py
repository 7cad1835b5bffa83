"""Names stored in the operational tables that more than one part writes: the intent on a customer message,
the tool, outcome and brain of a tool call, the sentiment of a satisfaction answer. The live brains and the
survey (api/) and the history import (ingest/) both write them and the marts group by them, so they live here,
on the floor; tests/unit/test_vocabulary.py checks that the brains use exactly these."""

from __future__ import annotations

from typing import Literal

# What a turn acted on (messages.intent): the NLU's intents plus the turns that only identified the customer or
# understood nothing.
INTENTS = frozenset({
    "second_copy", "connection_down", "trust_unlock", "payment_notice", "billing_issue", "open_ticket", "human",
    "sales", "cancel", "greeting", "thanks_bye", "yes", "no", "identify", "not_understood",
})
TOOLS = frozenset({
    "identify_customer", "verify_identity", "choose_contract", "second_copy", "connection_status", "open_ticket",
    "trust_unlock", "transfer_to_human", "close_conversation",
})
TOOL_OUTCOMES = frozenset({
    "found", "several_contracts", "not_found", "phone_mismatch", "document_not_typed", "invalid_document",
    "ok", "unknown_contract", "sent", "nothing_open", "online", "offline", "maintenance", "opened", "already_open",
    "granted", "refused", "transferred", "closed",
    # the second factor (verify_identity) and the contract's own state (a suspended one, one not blocked)
    "verified", "mismatch", "too_many_attempts", "locked", "factor_unavailable", "not_requested", "answer_not_typed",
    "suspended", "not_blocked",
    "sgp_not_configured", "sgp_unavailable", "sgp_auth_error", "sgp_error", "ticket_type_unknown",
})
BRAINS = frozenset({"rules", "openai", "agent"})  # tool_calls.brain (dbt's accepted values on fct_tool_calls)

Sentiment = Literal["negative", "neutral", "positive"]


def sentiment_of(rating: int) -> Sentiment:
    """csat_responses.sentiment: what a 1..5 rating says (the survey and the history import both write it)."""
    if rating <= 2:
        return "negative"
    return "neutral" if rating == 3 else "positive"
