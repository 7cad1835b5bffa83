"""The names several parts write into the operational tables (niochat/vocabulary.py) are exactly the ones the
live brains use, the database checks and the API accepts: the history import validates against them and the marts
group by them (through the seeds: tests/unit/test_vocabulary_seeds.py). Each tool's category and SGP use and each
outcome's kind follow from what the tools' code does."""

import ast
import re
from pathlib import Path

from sqlalchemy import text

from api.brain import tools
from api.brain.model import TOOL_INTENTS
from api.brain.nlu import Intent
from api.brain.rules import RulesBrain
from api.brain.turn import EXTRA_INTENTS
from api.engine import follow_ups
from api.routes.conversations import Status
from api.schemas.channels import ChannelCreate
from api.schemas.users import Role
from niochat import live_keys
from niochat.vocabulary import (
    BRAINS,
    CONVERSATION_STATUSES,
    CSAT_RATINGS,
    ENUMERATIONS,
    HANDOFF_REASONS,
    INTENTS,
    OUTCOME_CATALOGUE,
    OUTCOME_KINDS,
    PROVIDERS,
    ROLES,
    SENTIMENTS,
    TOOL_CATALOGUE,
    TOOL_CATEGORIES,
    TOOL_OUTCOMES,
    TOOLS,
    UNKNOWN_OUTCOME_KIND,
    UNKNOWN_TOOL_CATEGORY,
    sentiment_of,
)


def test_intents_are_the_nlu_ones_plus_the_turns_that_only_identify_or_understand_nothing():
    assert INTENTS == {str(intent) for intent in Intent} | set(EXTRA_INTENTS)


def test_tools_are_the_model_brains_tools():
    # plus the follow-ups only the worker records (the promise date's reminder)
    assert TOOLS == set(TOOL_INTENTS) | follow_ups.WORKER_TOOLS and RulesBrain.name in BRAINS


def _strings(node: ast.AST) -> set[str]:
    return {found.value for found in ast.walk(node) if isinstance(found, ast.Constant) and isinstance(found.value, str)}


def test_outcomes_are_what_the_live_tools_record():
    recorded = set()
    for function in ast.walk(ast.parse(Path(tools.__file__).read_text())):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        assigned = {target.id: _strings(node.value) for node in ast.walk(function) if isinstance(node, ast.Assign)
                    for target in node.targets if isinstance(target, ast.Name)}
        for call in ast.walk(function):
            # _record(tool, outcome, ...), and _refuse(outcome, ...), which records it as verify_identity's
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "_refuse":
                recorded |= _strings(call.args[0])
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "_record":
                outcome = call.args[1]  # a literal, a conditional of literals, or a variable set to them
                recorded |= assigned.get(outcome.id, set()) if isinstance(outcome, ast.Name) else _strings(outcome)
    assert recorded | follow_ups.OUTCOMES == TOOL_OUTCOMES  # and what the worker's follow-ups record


# --- each tool's category and SGP use, each outcome's kind: what the marts count them as -----------------------


def _tool_functions() -> dict[str, ast.AsyncFunctionDef]:
    return {node.name: node for node in ast.walk(ast.parse(Path(tools.__file__).read_text()))
            if isinstance(node, ast.AsyncFunctionDef)}


def _calls(node: ast.AST, method: str) -> list[ast.Call]:
    return [call for call in ast.walk(node) if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == method]


def test_every_tool_has_a_known_category_and_every_counted_category_a_tool():
    assert {tool.category for tool in TOOL_CATALOGUE.values()} == set(TOOL_CATEGORIES) - {UNKNOWN_TOOL_CATEGORY}
    assert UNKNOWN_TOOL_CATEGORY in TOOL_CATEGORIES and len(set(TOOL_CATEGORIES)) == len(TOOL_CATEGORIES)


def test_a_tool_calls_the_sgp_exactly_when_its_code_goes_through_sgp_call():
    functions = _tool_functions()
    # the tool's own body, and the helpers it awaits on self (verify_identity checks the factor in _check_factor)
    calling = {name for name in TOOLS - follow_ups.WORKER_TOOLS if _calls(functions[name], "_sgp_call")}
    calling |= follow_ups.ASKS_SGP  # scheduled by the toolbox, run by the worker, which asks the SGP
    assert {name for name, tool in TOOL_CATALOGUE.items() if tool.calls_sgp} == calling


def test_error_outcomes_are_the_ones_recorded_with_an_error_text():
    with_error = set()
    for function in _tool_functions().values():
        for call in _calls(function, "_record"):
            if any(keyword.arg == "error" for keyword in call.keywords):
                with_error |= _strings(call.args[1])
    assert {outcome for outcome, kind in OUTCOME_CATALOGUE.items() if kind == "error"} == with_error
    assert set(OUTCOME_CATALOGUE.values()) == set(OUTCOME_KINDS) and UNKNOWN_OUTCOME_KIND in OUTCOME_KINDS
    assert UNKNOWN_OUTCOME_KIND != "success", "an outcome nobody named must never count as done"


# --- the other enumerations: the database's checks and the API's literals say the same ----------------------------

CHECKED = {  # table, column -> enumeration
    ("conversations", "status"): "conversation_status",
    ("conversations", "closed_by"): "closed_by",
    ("messages", "direction"): "message_direction",
    ("messages", "sender_kind"): "sender_kind",
    ("messages", "status"): "message_status",
    ("tool_calls", "brain"): "brain",
    ("users", "role"): "role",
    ("channels", "provider"): "provider",
    ("csat_responses", "sentiment"): "sentiment",
}


def test_the_databases_check_constraints_accept_exactly_the_vocabulary(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("""
            select c.conrelid::regclass::text as table_name, a.attname as column_name,
                   pg_get_constraintdef(c.oid) as definition
            from pg_constraint c
            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
            where c.contype = 'c' and c.connamespace = 'public'::regnamespace and cardinality(c.conkey) = 1
        """)).all()
    accepted = {(row.table_name, row.column_name): set(re.findall(r"'([a-z_]+)'::text", row.definition))
                for row in rows}
    for (table, column), enumeration in CHECKED.items():
        assert accepted[(table, column)] == set(ENUMERATIONS[enumeration]), (table, column)
    with engine.connect() as conn:
        rating = conn.execute(text("""
            select pg_get_constraintdef(oid) from pg_constraint
            where conrelid = 'csat_responses'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%rating%'
        """)).scalar_one()
    assert re.findall(r"\d+", rating) == [str(min(CSAT_RATINGS)), str(max(CSAT_RATINGS))]


def test_the_apis_literals_are_the_vocabularys():
    assert set(Status.__args__) == set(CONVERSATION_STATUSES)
    assert set(Role.__args__) == set(ROLES)
    assert set(ChannelCreate.model_fields["provider"].annotation.__args__) == set(PROVIDERS)


def test_the_live_counters_are_the_statuses_an_agent_can_hold_now():
    assert set(live_keys.COUNTERS) == (set(CONVERSATION_STATUSES) - {"closed"}) | {"assigned"}


def test_every_sentiment_is_what_some_rating_says():
    assert {sentiment_of(rating) for rating in CSAT_RATINGS} == set(SENTIMENTS)


def _values(node: ast.AST) -> set[str]:
    """The strings an expression can evaluate to: a literal, or either side of a conditional of them."""
    if isinstance(node, ast.IfExp):
        return _values(node.body) | _values(node.orelse)
    return {node.value} if isinstance(node, ast.Constant) and isinstance(node.value, str) else set()


def test_the_handoff_reasons_the_code_writes_are_the_vocabularys_and_each_has_a_label():
    from dash_app.pages.ai_sgp import HANDOFF_REASONS as labels

    written = set()
    api = Path(tools.__file__).parents[1]
    for module in ("brain/rules.py", "brain/tools.py", "media/incoming.py", "engine/handoff.py"):
        for node in ast.walk(ast.parse((api / module).read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "person_request":
                written |= _strings(node) - {"human"}  # a person asked for about a topic: the topic is the reason
            if not isinstance(node, ast.Call):
                continue
            if getattr(node.func, "attr", "") == "handoff" and node.args:  # brain.handoff(reason, intent)
                written |= _values(node.args[0])
            if getattr(node.func, "id", "") == "Handoff":  # Handoff(reason=...): a code, or the model's words
                written |= {found for keyword in node.keywords if keyword.arg == "reason"
                            for found in _strings(keyword.value)}
            if getattr(node.func, "attr", "") == "coalesce":  # the phone attendant's, unless one was recorded
                written |= _strings(node)
    assert written <= HANDOFF_REASONS and len(written) >= 10, written ^ HANDOFF_REASONS
    assert set(labels) == HANDOFF_REASONS
