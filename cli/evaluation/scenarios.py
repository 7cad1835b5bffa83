"""The scenario format: YAML files parsed into scenarios, turns and expectations (the format is described in
the package's docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from niochat.vocabulary import CONVERSATION_STATUSES as STATUSES, PROVIDERS

BRAINS = ("rules", "openai")
TEAMS = {"financeiro": "Financeiro", "suporte": "Suporte técnico", "comercial": "Comercial"}
TIMEZONE = "America/Sao_Paulo"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = {day: [["00:00", "23:59:59"]] for day in DAYS}
FACT = re.compile(r"\{(pix|line|amount|due|link):(\d+)\}")
PROTOCOL = "{protocol}"
IN_DAYS = re.compile(r"\{today\+(\d+)\}")  # a date N days from the SGP sandbox's today, as the bot writes it
DEFAULT_SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "scenarios"
UNSET: Any = "<unset>"


class ScenarioError(ValueError):
    """A scenario file that does not follow the format above."""


@dataclass(frozen=True)
class Expect:
    replies_contain: tuple[str, ...] = ()
    replies_not_contain: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    tools_not_called: tuple[str, ...] = ()
    min_replies: int = 0
    max_replies: int | None = None
    within_seconds: float | None = None
    wait_for_reply: str | None = None  # a text to wait for in the turn's replies (a follow-up sent after a wait)


@dataclass(frozen=True)
class Turn:
    say: tuple[str, ...]
    expect: Expect


@dataclass(frozen=True)
class Final:
    status: str | None = None
    team: Any = UNSET
    handoff_reason: str | None = None
    contract: str | None = None
    resolved_by_bot: bool | None = None
    tools_not_called: tuple[str, ...] = ()
    replies_not_contain: tuple[str, ...] = ()
    sgp_tickets: tuple[dict, ...] | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    brains: tuple[str, ...]
    phone: str
    customer_name: str
    turns: tuple[Turn, ...]
    provider: str = "uazapi"
    lid: bool = False
    lid_only: bool = False
    final: Final = Final()
    sgp_faults: tuple[dict, ...] = ()
    model_mode: dict | None = None
    business_hours: Any = "open"
    sgp_occurrence_types: dict | None = None
    recheck_seconds: float | None = None  # the tenant's connection_recheck_seconds (None: the default)

    def claimed_by(self, brain: str) -> bool:
        return brain in self.brains

    @property
    def exclusive(self) -> bool:
        """Runs alone: the fake model's mode is shared by every scenario running at the time."""
        return self.model_mode is not None

    def texts(self) -> list[str]:
        """Every expected text, for resolving the placeholders before the run."""
        found = [*self.final.replies_not_contain]
        for turn in self.turns:
            found += [*turn.expect.replies_contain, *turn.expect.replies_not_contain]
        return found


def _keys(raw: Any, allowed: set[str], where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where} must be a mapping")
    if unknown := set(raw) - allowed:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return raw


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
        raise ScenarioError(f"{where} must be a text or a list of texts")
    return tuple(str(item) for item in value)


def parse_scenario(raw: Any, name: str) -> Scenario:
    top = _keys(raw, {"name", "description", "brains", "customer", "setup", "turns", "final"}, name)
    name = str(top.get("name") or name)
    customer = _keys(top.get("customer"), {"phone", "name", "provider", "lid", "lid_only"}, f"{name}: customer")
    if customer.get("provider", "uazapi") not in PROVIDERS:
        raise ScenarioError(f"{name}: customer.provider must be one of {', '.join(PROVIDERS)}")
    phone = re.sub(r"\D", "", str(customer.get("phone", "")))
    if not 10 <= len(phone) <= 15:
        raise ScenarioError(f"{name}: customer.phone must be a phone with country code")
    brains = _strings(top.get("brains", list(BRAINS)), f"{name}: brains")
    if bad := set(brains) - set(BRAINS):
        raise ScenarioError(f"{name}: unknown brain(s) {', '.join(sorted(bad))}")
    setup = _keys(top.get("setup"), {"sgp_faults", "model_mode", "business_hours", "sgp_occurrence_types",
                                     "recheck_seconds"},
                  f"{name}: setup")
    types = setup.get("sgp_occurrence_types")
    if types is not None and (not isinstance(types, dict) or not all(
            isinstance(kind, str) and isinstance(number, int) for kind, number in types.items())):
        raise ScenarioError(f"{name}: setup.sgp_occurrence_types must map ticket kinds to SGP type ids")
    faults = setup.get("sgp_faults") or []
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise ScenarioError(f"{name}: setup.sgp_faults must be a list of fault bodies")
    mode = setup.get("model_mode")
    if mode is not None and (not isinstance(mode, dict) or mode.get("mode") not in ("down", "slow", "normal")):
        raise ScenarioError(f"{name}: setup.model_mode must be {{mode: down|slow, delay: seconds}}")
    hours = setup.get("business_hours", "open")
    if hours not in ("open", "closed") and not isinstance(hours, dict):
        raise ScenarioError(f"{name}: setup.business_hours must be open, closed or a week of hours")
    turns = top.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScenarioError(f"{name}: turns must be a non-empty list")
    final = _keys(top.get("final"), {"status", "team", "handoff_reason", "contract", "resolved_by_bot",
                                     "tools_not_called", "replies_not_contain", "sgp_tickets"}, f"{name}: final")
    tickets = final.get("sgp_tickets")
    if tickets is not None and (not isinstance(tickets, list) or not all(isinstance(t, dict) for t in tickets)):
        raise ScenarioError(f"{name}: final.sgp_tickets must be a list of ticket fields")
    if final.get("status") not in (None, *STATUSES):
        raise ScenarioError(f"{name}: final.status must be one of {', '.join(STATUSES)}")
    return Scenario(
        name=name,
        description=str(top.get("description") or ""),
        brains=brains,
        phone=phone,
        customer_name=str(customer.get("name") or "Cliente"),
        provider=customer.get("provider", "uazapi"),
        lid=bool(customer.get("lid", False)),
        lid_only=bool(customer.get("lid_only", False)),
        turns=tuple(_turn(turn, f"{name}: turns[{n}]") for n, turn in enumerate(turns)),
        final=Final(
            status=final.get("status"),
            team=final.get("team", UNSET),
            handoff_reason=final.get("handoff_reason"),
            contract=str(final["contract"]) if final.get("contract") is not None else None,
            resolved_by_bot=final.get("resolved_by_bot"),
            tools_not_called=_strings(final.get("tools_not_called"), f"{name}: final.tools_not_called"),
            replies_not_contain=_strings(final.get("replies_not_contain"), f"{name}: final.replies_not_contain"),
            sgp_tickets=tuple(tickets) if tickets is not None else None,
        ),
        sgp_faults=tuple(faults),
        model_mode=mode,
        business_hours=hours,
        sgp_occurrence_types=types,
        recheck_seconds=float(setup["recheck_seconds"]) if setup.get("recheck_seconds") is not None else None,
    )


def _turn(raw: Any, where: str) -> Turn:
    turn = _keys(raw, {"say", "expect"}, where)
    say = _strings(turn.get("say"), f"{where}.say")
    if not say or not all(text.strip() for text in say):
        raise ScenarioError(f"{where}.say must be a text or a list of texts")
    expect = _keys(turn.get("expect"), {"replies_contain", "replies_not_contain", "tools", "tools_not_called",
                                        "min_replies", "max_replies", "within_seconds", "wait_for_reply"},
                     f"{where}.expect")
    return Turn(say, Expect(
        replies_contain=_strings(expect.get("replies_contain"), f"{where}.replies_contain"),
        replies_not_contain=_strings(expect.get("replies_not_contain"), f"{where}.replies_not_contain"),
        tools=_strings(expect.get("tools"), f"{where}.tools"),
        tools_not_called=_strings(expect.get("tools_not_called"), f"{where}.tools_not_called"),
        min_replies=int(expect.get("min_replies", 0)),
        max_replies=int(expect["max_replies"]) if expect.get("max_replies") is not None else None,
        within_seconds=float(expect["within_seconds"]) if expect.get("within_seconds") is not None else None,
        wait_for_reply=str(expect["wait_for_reply"]) if expect.get("wait_for_reply") is not None else None,
    ))


def load_scenarios(directory: Path) -> list[Scenario]:
    """Every *.yaml of the directory, in file-name order; names must be unique."""
    found: list[Scenario] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{path.name}: not valid YAML: {exc}") from None
        found.append(parse_scenario(raw, path.stem))
    names = [scenario.name for scenario in found]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ScenarioError(f"duplicate scenario names: {', '.join(duplicates)}")
    return found
