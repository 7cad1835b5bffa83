"""The names several parts write into the operational tables (niochat/vocabulary.py) are exactly the ones the
live brains use: the history import validates against them and the marts group by them."""

import ast
from pathlib import Path

from api.brain import tools
from api.brain.model import TOOL_INTENTS
from api.brain.nlu import Intent
from api.brain.rules import RulesBrain
from api.brain.turn import EXTRA_INTENTS
from niochat.vocabulary import BRAINS, INTENTS, TOOL_OUTCOMES, TOOLS


def test_intents_are_the_nlu_ones_plus_the_turns_that_only_identify_or_understand_nothing():
    assert INTENTS == {str(intent) for intent in Intent} | set(EXTRA_INTENTS)


def test_tools_are_the_model_brains_tools():
    assert TOOLS == set(TOOL_INTENTS) and RulesBrain.name in BRAINS


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
    assert recorded == TOOL_OUTCOMES
