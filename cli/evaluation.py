"""`niochat eval`: the scenario suite, run through the real webhook -> worker -> WhatsApp path against the SGP sandbox.

Each scenario is one YAML file (tests/scenarios/*.yaml), run on a fresh tenant (teams financeiro, suporte and
comercial, a Uazapi and an Evolution channel on the WhatsApp sandbox, SGP config on a freshly reset SGP sandbox,
the model config for the openai brain); turn by turn the runner waits until the worker has answered and every
reply is sent, then checks the WhatsApp sandbox's messages and the tool_calls and conversations tables:

    name: second-copy-after-cpf           # defaults to the file name
    description: Maria asks for the second copy, then types her CPF
    brains: [rules, openai]               # the brains that claim it (default: both)
    customer: {phone: "5511912340001", name: Maria}   # write from the phone registered in SGP
                                          # optional: provider: evolution (default uazapi), lid: true (@lid sender),
                                          # lid_only: true (known by @lid alone, WhatsApp withholds the number)
    setup:                                # all optional
      sgp_faults: [{count: 20, mode: error}]   # POST /sandbox/faults bodies of the SGP sandbox
      sgp_occurrence_types: {sem_conexao: 1}   # the tenant's sgp.occurrence_types (ticket kind -> SGP type id)
      model_mode: {mode: down}              # or {mode: slow, delay: 6}: the fake model's POST /fake/mode
      business_hours: closed                # open (default: always open), closed, or a week {"mon": [["08:00", ...
    turns:
      - say: oi quero a 2 via               # or a list of texts, sent one right after the other (a burst)
        expect:                             # all optional
          replies_contain: [CPF]            # each in what the bot sent during the turn (case-insensitive)
          replies_not_contain: [fatura]
          tools: ["identify_customer:found", second_copy]   # tool calls recorded during the turn ("tool[:outcome]")
          tools_not_called: ["open_ticket:opened"]
          min_replies: 1
          max_replies: 4
          within_seconds: 8                 # the whole turn answered within this time
    final:                                  # all optional
      status: bot                           # bot | waiting | open | closed
      team: financeiro                      # the handoff queue (null: the general queue)
      handoff_reason: identity_unverified
      contract: "10269"                     # the SGP contract the conversation is bound to
      resolved_by_bot: true                 # true: never handed to humans; false: it was
      tools_not_called: [trust_unlock]      # in the whole conversation ("tool[:outcome]")
      replies_not_contain: ["{pix:64009}"]  # never sent in the whole conversation
      sgp_tickets: [{origem: chamado, ocorrenciatipo: 101}]   # exactly the tickets the SGP sandbox holds, in
                                          # order, each with these fields (`conteudo`: contained, any case)

Facts in expected texts are placeholders resolved from the SGP sandbox's own data, never copied into YAML:
`{pix:F}` PIX copy-and-paste code of invoice F, `{line:F}` its boleto digitable line, `{amount:F}` the amount due
today as the bot writes it ("R$ 102,37"), `{due:F}` its due date (dd/mm/yyyy), `{link:F}` its boleto link, and
`{protocol}` the last ticket protocol the SGP sandbox handed out during the scenario, and `{today+N}` the date N days
from today in the provider's timezone (dd/mm/yyyy: a trust unlock's promise date).

`niochat eval` runs everything itself: configured PostgreSQL/Redis (else embedded ones under DATA_DIR/eval), a fresh
database dropped afterwards, the sandboxes, two API servers and a worker on loopback. Workers of another
installation on the same configured Redis would take its jobs (they share the queue): give it a Redis of its own.

Rates: pass rate = claimed scenarios passed / claimed scenarios run; automatic-resolution rate = claimed
scenarios the bot finished without any handoff (no transfer, never queued for humans) / claimed scenarios run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import typer
import yaml
from sqlalchemy import insert, select, update

from niochat import admin
from niochat.embedded import ServiceUrls
from niochat.local_servers import serving
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import ai_configs, channels, conversations, messages, sgp_configs, teams, tenants, tool_calls

BRAINS = ("rules", "openai")
PROVIDERS = ("uazapi", "evolution")
STATUSES = ("bot", "waiting", "open", "closed")
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


# --- the format ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    replies_contain: tuple[str, ...] = ()
    replies_not_contain: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    tools_not_called: tuple[str, ...] = ()
    min_replies: int = 0
    max_replies: int | None = None
    within_seconds: float | None = None


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
    setup = _keys(top.get("setup"), {"sgp_faults", "model_mode", "business_hours", "sgp_occurrence_types"},
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
    )


def _turn(raw: Any, where: str) -> Turn:
    turn = _keys(raw, {"say", "expect"}, where)
    say = _strings(turn.get("say"), f"{where}.say")
    if not say or not all(text.strip() for text in say):
        raise ScenarioError(f"{where}.say must be a text or a list of texts")
    expect = _keys(turn.get("expect"), {"replies_contain", "replies_not_contain", "tools", "tools_not_called",
                                        "min_replies", "max_replies", "within_seconds"}, f"{where}.expect")
    return Turn(say, Expect(
        replies_contain=_strings(expect.get("replies_contain"), f"{where}.replies_contain"),
        replies_not_contain=_strings(expect.get("replies_not_contain"), f"{where}.replies_not_contain"),
        tools=_strings(expect.get("tools"), f"{where}.tools"),
        tools_not_called=_strings(expect.get("tools_not_called"), f"{where}.tools_not_called"),
        min_replies=int(expect.get("min_replies", 0)),
        max_replies=int(expect["max_replies"]) if expect.get("max_replies") is not None else None,
        within_seconds=float(expect["within_seconds"]) if expect.get("within_seconds") is not None else None,
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


# --- facts from the SGP sandbox -----------------------------------------------------------------------------------


def brl(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def load_facts(sgp_url: str, invoices: set[str]) -> dict[str, str]:
    """`{kind:invoice}` -> text, for the invoices the scenarios name, asked of the SGP sandbox like a client."""
    facts: dict[str, str] = {}
    if not invoices:
        return facts
    with httpx.Client(base_url=sgp_url, timeout=10) as http:
        dataset = http.get("/sandbox/dataset").raise_for_status().json()
        auth = {"app": dataset["app"], "token": dataset["token"]}
        rows, offset = [], 0
        while True:
            page = http.post("/api/ura/titulos/", json={**auth, "offset": offset, "limit": 250}).raise_for_status()
            rows += page.json()["titulos"]
            offset += 250
            if offset >= page.json()["paginacao"]["total"]:
                break
        for row in rows:
            invoice = str(row["id"])
            if invoice not in invoices:
                continue
            facts[f"line:{invoice}"] = row["linhaDigitavel"]
            facts[f"amount:{invoice}"] = brl(Decimal(str(row["valorCorrigido"])))
            facts[f"due:{invoice}"] = datetime.fromisoformat(row["dataVencimento"]).strftime("%d/%m/%Y")
            facts[f"link:{invoice}"] = row["link"]
            pix = row.get("codigoPix") or ""
            if not pix:
                answer = http.post(f"/api/ura/pagamento/pix/{invoice}",
                                   json={**auth, "contrato": row["clienteContrato"]}).raise_for_status().json()
                pix = (answer.get("pix") or "") if str(answer.get("status")) == "1" else ""
            if pix:
                facts[f"pix:{invoice}"] = pix
    return facts


# --- results ------------------------------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    name: str
    claimed: bool
    passed: bool
    handoff: bool
    seconds: float
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # worth a look, not a failure (e.g. webhook retries)
    transcript: list[list[str]] = field(default_factory=list)  # [who, text]


@dataclass
class Report:
    brain: str
    results: list[ScenarioResult]

    @property
    def claimed(self) -> list[ScenarioResult]:
        return [result for result in self.results if result.claimed]

    @property
    def failures(self) -> list[ScenarioResult]:
        return [result for result in self.claimed if not result.passed]

    @property
    def pass_rate(self) -> float:
        return sum(r.passed for r in self.claimed) / len(self.claimed) if self.claimed else 0.0

    @property
    def resolution_rate(self) -> float:
        """Scenarios the bot finished without any handoff / scenarios run."""
        return sum(not r.handoff for r in self.claimed) / len(self.claimed) if self.claimed else 0.0

    def summary(self) -> str:
        run = len(self.claimed)
        warned = sum(bool(r.warnings) for r in self.results)
        return (
            f"brain {self.brain}: {run - len(self.failures)}/{run} scenarios passed ({self.pass_rate:.0%}); "
            f"automatic resolution {sum(not r.handoff for r in self.claimed)}/{run} ({self.resolution_rate:.0%})"
            + (f"; {warned} scenario(s) with warnings" if warned else "")
        )

    def as_dict(self) -> dict:
        return {
            "brain": self.brain,
            "scenarios_run": len(self.claimed),
            "passed": len(self.claimed) - len(self.failures),
            "pass_rate": round(self.pass_rate, 4),
            "automatic_resolution_rate": round(self.resolution_rate, 4),
            "results": [asdict(result) for result in self.results],
        }


# --- the runner ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoints:
    """What the runner talks to. One SGP sandbox per lane: lanes run scenarios side by side."""

    database_url: str
    api_urls: tuple[str, ...]  # scenarios' channels are spread over them, as behind a load balancer
    whatsapp_url: str
    sgp_urls: tuple[str, ...]
    model_url: str | None = None  # OpenAI-compatible base URL (.../v1); the fake's controls are beside /v1

    @property
    def model_control_url(self) -> str | None:
        return self.model_url.rstrip("/").removesuffix("/v1") if self.model_url else None


class Runner:
    def __init__(
        self, endpoints: Endpoints, *, secret_key: str, brain: str = "rules", model: str = "fake-gpt",
        model_key: str = "not-needed", model_timeout: float = 3.0, sgp_timeout: float = 3.0,
        turn_timeout: float = 30.0,
    ):
        from niochat.database import sync_engine

        if brain not in BRAINS:
            raise ValueError(f"brain must be one of {', '.join(BRAINS)}")
        if brain == "openai" and not endpoints.model_url:
            raise ValueError("the openai brain needs a model URL")
        self.endpoints, self.brain, self.keyring = endpoints, brain, Keyring(secret_key)
        self.model, self.model_key, self.model_timeout = model, model_key, model_timeout
        self.sgp_timeout, self.turn_timeout = sgp_timeout, turn_timeout
        self.engine = sync_engine(endpoints.database_url, pool_size=len(endpoints.sgp_urls) + 2)
        self.facts: dict[str, str] = {}
        self._apis = itertools.cycle(endpoints.api_urls)
        self._lock = threading.Lock()

    def next_api(self) -> str:
        with self._lock:
            return next(self._apis)

    def close(self) -> None:
        self.engine.dispose()

    def run(self, scenarios: list[Scenario], *, include_unclaimed: bool = False, progress=None) -> Report:
        """Claimed scenarios (and the others when asked) on fresh tenants, lanes side by side; exclusive ones alone
        at the end. `progress(result)` is called after each scenario."""
        chosen = [s for s in scenarios if include_unclaimed or s.claimed_by(self.brain)]
        invoices = {m.group(2) for s in chosen for text in s.texts() for m in FACT.finditer(text)}
        self.facts = load_facts(self.endpoints.sgp_urls[0], invoices)
        results: dict[str, ScenarioResult] = {}
        lanes: queue.Queue[str] = queue.Queue()
        for sgp_url in self.endpoints.sgp_urls:
            lanes.put(sgp_url)

        def one(scenario: Scenario) -> None:
            sgp_url = lanes.get()  # never waits: no more threads than lanes
            try:
                results[scenario.name] = _ScenarioRun(self, scenario, sgp_url).execute()
            finally:
                lanes.put(sgp_url)
            if progress:
                progress(results[scenario.name])

        shared = [s for s in chosen if not s.exclusive]
        with ThreadPoolExecutor(max_workers=lanes.qsize()) as pool:
            list(pool.map(one, shared))
        for scenario in chosen:
            if scenario.exclusive:
                one(scenario)
        return Report(self.brain, [results[s.name] for s in chosen])


class _ScenarioRun:
    def __init__(self, runner: Runner, scenario: Scenario, sgp_url: str):
        self.runner, self.scenario, self.sgp_url = runner, scenario, sgp_url
        self.engine, self.endpoints = runner.engine, runner.endpoints
        self.http = httpx.Client(timeout=30)
        self.reasons: list[str] = []
        self.warnings: list[str] = []
        self.transcript: list[list[str]] = []
        self.seen_tools: set[uuid.UUID] = set()
        self.sent_count = 0

    # setup ---------------------------------------------------------------------------------------------------

    def _hours(self) -> dict:
        hours = self.scenario.business_hours
        if isinstance(hours, dict):
            return hours
        if hours == "open":
            return ALWAYS_OPEN
        # closed: humans work on one day only, three days away from today (whatever the clock says)
        day = DAYS[(datetime.now(ZoneInfo(TIMEZONE)) + timedelta(days=3)).weekday()]
        return {day: [["08:00", "18:00"]]}

    def provision(self) -> None:
        self.slug = f"eval-{secrets.token_hex(5)}"
        keyring, runner = self.runner.keyring, self.runner
        api_url = runner.next_api()
        with self.engine.begin() as conn:
            self.tenant_id = admin.create_tenant(conn, self.slug, "Fibra Exemplo", TIMEZONE)
            conn.execute(update(tenants).where(tenants.c.id == self.tenant_id)
                         .values(settings={"business_hours": self._hours()}))
            for slug, name in TEAMS.items():
                admin.create_team(conn, self.slug, slug, name)
            keys = {}  # the channels' webhook keys, known only now (stored as hashes)
            for provider in PROVIDERS:
                created = admin.create_channel(conn, keyring, api_url, self.slug, provider, f"WhatsApp {provider}",
                                               self.endpoints.whatsapp_url, self._instance(provider),
                                               secrets.token_urlsafe(16))
                keys[created.id] = created.webhook_key
            dataset = self.http.get(f"{self.sgp_url}/sandbox/dataset").raise_for_status().json()
            conn.execute(insert(sgp_configs).values(
                tenant_id=self.tenant_id, base_url=self.sgp_url, app=dataset["app"],
                token_encrypted=keyring.encrypt(dataset["token"]), timeout_seconds=runner.sgp_timeout,
                occurrence_types=self.scenario.sgp_occurrence_types,
            ))
            if runner.brain == "openai":
                conn.execute(insert(ai_configs).values(
                    tenant_id=self.tenant_id, base_url=self.endpoints.model_url, model=runner.model,
                    timeout_seconds=runner.model_timeout, api_key_encrypted=keyring.encrypt(runner.model_key),
                ))
            rows = conn.execute(select(channels).where(channels.c.tenant_id == self.tenant_id)).all()
        from api.whatsapp.sandbox_channels import connect_to_sandbox

        asyncio.run(connect_to_sandbox(self.endpoints.whatsapp_url, api_url, keyring, rows, keys=keys))

    def _instance(self, provider: str | None = None) -> str:
        return f"{self.slug}-{provider or self.scenario.provider}"

    def _model_mode(self, mode: dict) -> None:
        control = self.endpoints.model_control_url
        self.http.post(f"{control}/fake/mode", json=mode).raise_for_status()

    # the conversation ----------------------------------------------------------------------------------------

    def execute(self) -> ScenarioResult:
        started = time.monotonic()
        scenario = self.scenario
        try:
            self.http.post(f"{self.sgp_url}/sandbox/reset").raise_for_status()
            self.provision()
            for fault in scenario.sgp_faults:
                self.http.post(f"{self.sgp_url}/sandbox/faults", json=fault).raise_for_status()
            if scenario.model_mode and self.runner.brain == "openai":
                self._model_mode(scenario.model_mode)
            for number, turn in enumerate(scenario.turns, 1):
                if not self.turn(number, turn):
                    break
            self.check_final()
        except Exception as exc:  # noqa: BLE001 - one broken scenario is reported, the run goes on
            self.reasons.append(f"could not run: {type(exc).__name__}: {exc}")
        finally:
            if scenario.model_mode and self.runner.brain == "openai":
                try:
                    self._model_mode({"mode": "normal"})
                except httpx.HTTPError:
                    pass
            self.http.close()
        return ScenarioResult(
            name=scenario.name, claimed=scenario.claimed_by(self.runner.brain), passed=not self.reasons,
            handoff=self.handed_off(), seconds=round(time.monotonic() - started, 2), reasons=self.reasons,
            warnings=self.warnings, transcript=self.transcript,
        )

    def turn(self, number: int, turn: Turn) -> bool:
        """Send, wait for the answer, check it; False when waiting made no sense any more."""
        started = time.monotonic()
        ids = []
        for text in turn.say:
            self.transcript.append(["cliente", text])
            answer = self.http.post(f"{self.endpoints.whatsapp_url}/sandbox/inbound", json={
                "instance": self._instance(), "from": self.scenario.phone, "name": self.scenario.customer_name,
                "text": text, "lid": self.scenario.lid or self.scenario.lid_only,
                "lid_only": self.scenario.lid_only or None,
            }).raise_for_status().json()
            if not answer.get("delivered"):
                self.reasons.append(f"turn {number}: the webhook refused the message ({answer.get('webhook_status')})")
                return False
            if answer.get("attempts", 1) > 1:  # delivered, but only after the API refused it (a 5xx)
                self.warnings.append(f"turn {number}: the webhook took {answer['attempts']} attempts for {text!r}")
            ids.append(answer["id"])
        if missing := self._wait(ids):
            self.reasons.append(f"turn {number}: not answered within {self.runner.turn_timeout:.0f} s ({missing})")
            return False
        elapsed = time.monotonic() - started
        sent = self._sent()
        replies = [message["text"] for message in sent[self.sent_count:]]
        self.sent_count = len(sent)
        self.transcript += [["bot", text] for text in replies]
        tools = self._new_tools()
        self._check_turn(number, turn.expect, replies, tools, elapsed)
        return True

    def _wait(self, provider_ids: list[str]) -> str | None:
        """Until the inbound messages are processed and every reply they caused has been sent (or given up);
        None when done, else what was still missing at the deadline."""
        deadline = time.monotonic() + self.runner.turn_timeout
        while True:
            with self.engine.connect() as conn:
                inbound = conn.execute(select(messages.c.status).where(
                    messages.c.tenant_id == self.tenant_id, messages.c.direction == "inbound",
                    messages.c.provider_message_id.in_(provider_ids),
                )).scalars().all()
                queued = conn.execute(select(messages.c.id).where(
                    messages.c.tenant_id == self.tenant_id, messages.c.direction == "outbound",
                    messages.c.status.in_(("queued", "sending")),
                ).limit(1)).first()
            if len(inbound) < len(provider_ids):
                missing = "the message was not stored"
            elif "received" in inbound:
                missing = "the message was not processed"
            elif queued is not None:
                missing = "a reply is still queued or being sent"
            else:
                return None
            if time.monotonic() > deadline:
                return missing
            time.sleep(0.05)

    def _sent(self) -> list[dict]:
        response = self.http.get(f"{self.endpoints.whatsapp_url}/sandbox/messages",
                                 params={"number": self.scenario.phone, "instance": self._instance()})
        return response.raise_for_status().json()

    def _tool_rows(self):
        with self.engine.connect() as conn:
            return conn.execute(select(tool_calls.c.id, tool_calls.c.tool, tool_calls.c.outcome)
                                .where(tool_calls.c.tenant_id == self.tenant_id)
                                .order_by(tool_calls.c.created_at)).all()

    def _new_tools(self) -> list[str]:
        new = [row for row in self._tool_rows() if row.id not in self.seen_tools]
        self.seen_tools.update(row.id for row in new)
        return [f"{row.tool}:{row.outcome}" for row in new]

    # checks --------------------------------------------------------------------------------------------------

    def resolve(self, text: str) -> str | None:
        """The text with its placeholders filled in; None (and a reason) when a fact is unknown."""
        if PROTOCOL in text:
            tickets = self.http.get(f"{self.sgp_url}/sandbox/tickets").raise_for_status().json()
            if not tickets:
                self.reasons.append(f"{text!r}: no ticket was opened in the SGP")
                return None
            text = text.replace(PROTOCOL, tickets[-1]["protocolo"])
        today = datetime.now(ZoneInfo(TIMEZONE)).date()
        text = IN_DAYS.sub(lambda m: (today + timedelta(days=int(m.group(1)))).strftime("%d/%m/%Y"), text)
        missing = [m.group(0) for m in FACT.finditer(text) if f"{m.group(1)}:{m.group(2)}" not in self.runner.facts]
        if missing:
            self.reasons.append(f"unknown fact(s) {', '.join(missing)} (no such invoice, or it has no PIX)")
            return None
        return FACT.sub(lambda m: self.runner.facts[f"{m.group(1)}:{m.group(2)}"], text)

    def _check_texts(self, where: str, replies: list[str], contain: tuple[str, ...], absent: tuple[str, ...]) -> None:
        said = "\n".join(replies).casefold()
        for expected in contain:
            value = self.resolve(expected)
            if value is not None and value.casefold() not in said:
                self.reasons.append(f"{where}: expected {_short(expected)} in the replies")
        for unexpected in absent:
            value = self.resolve(unexpected)
            if value is not None and value.casefold() in said:
                self.reasons.append(f"{where}: {_short(unexpected)} must not be sent")

    def _check_turn(self, number: int, expect: Expect, replies: list[str], tools: list[str], elapsed: float) -> None:
        where = f"turn {number}"
        self._check_texts(where, replies, expect.replies_contain, expect.replies_not_contain)
        if len(replies) < expect.min_replies:
            self.reasons.append(f"{where}: {len(replies)} replies, expected at least {expect.min_replies}")
        if expect.max_replies is not None and len(replies) > expect.max_replies:
            self.reasons.append(f"{where}: {len(replies)} replies, expected at most {expect.max_replies}")
        if expect.within_seconds is not None and elapsed > expect.within_seconds:
            self.reasons.append(f"{where}: answered in {elapsed:.1f} s, expected within {expect.within_seconds} s")
        remaining = list(tools)
        for wanted in expect.tools:
            match = next((t for t in remaining if _tool_matches(t, wanted)), None)
            if match is None:
                self.reasons.append(f"{where}: expected tool call {wanted}, got {', '.join(tools) or 'none'}")
            else:
                remaining.remove(match)
        for forbidden in expect.tools_not_called:
            if any(_tool_matches(tool, forbidden) for tool in tools):
                self.reasons.append(f"{where}: {forbidden} must not be called")

    def _conversation(self):
        with self.engine.connect() as conn:
            return conn.execute(
                select(conversations, teams.c.slug.label("team_slug"))
                .outerjoin(teams, teams.c.id == conversations.c.team_id)
                .where(conversations.c.tenant_id == self.tenant_id)
                .order_by(conversations.c.created_at.desc())
            ).first()

    def handed_off(self) -> bool:
        if not hasattr(self, "tenant_id"):
            return False
        with self.engine.connect() as conn:
            queued = conn.execute(select(conversations.c.id).where(
                conversations.c.tenant_id == self.tenant_id, conversations.c.handoff_at.isnot(None)
            )).first()
        return queued is not None or any(row.tool == "transfer_to_human" for row in self._tool_rows())

    def check_final(self) -> None:
        final = self.scenario.final
        conv = self._conversation()
        if conv is None:
            self.reasons.append("no conversation was created")
            return
        if final.status and conv.status != final.status:
            self.reasons.append(f"final status {conv.status}, expected {final.status}")
        if final.team is not UNSET and conv.team_slug != final.team:
            self.reasons.append(f"final team {conv.team_slug}, expected {final.team}")
        if final.handoff_reason and conv.handoff_reason != final.handoff_reason:
            self.reasons.append(f"handoff reason {conv.handoff_reason}, expected {final.handoff_reason}")
        if final.contract and conv.sgp_contract_id != final.contract:
            self.reasons.append(f"bound contract {conv.sgp_contract_id}, expected {final.contract}")
        if final.resolved_by_bot is not None and self.handed_off() == final.resolved_by_bot:
            expected = "without a handoff" if final.resolved_by_bot else "with a handoff"
            self.reasons.append(f"expected the conversation to end {expected}")
        called = [f"{row.tool}:{row.outcome}" for row in self._tool_rows()]
        for forbidden in final.tools_not_called:
            if any(_tool_matches(tool, forbidden) for tool in called):
                self.reasons.append(f"{forbidden} must not be called")
        bot_texts = [text for who, text in self.transcript if who == "bot"]
        self._check_texts("conversation", bot_texts, (), final.replies_not_contain)
        if final.sgp_tickets is not None:
            self._check_tickets(final.sgp_tickets)

    def _check_tickets(self, expected: tuple[dict, ...]) -> None:
        held = self.http.get(f"{self.sgp_url}/sandbox/tickets").raise_for_status().json()
        if len(held) != len(expected):
            shown = [(t.get("origem"), t.get("ocorrenciatipo")) for t in held]
            self.reasons.append(f"SGP tickets: {len(held)} {shown}, expected {len(expected)}")
            return
        for number, (ticket, wanted) in enumerate(zip(held, expected, strict=True), 1):
            for key, value in wanted.items():
                got = ticket.get(key)
                matches = (str(value).casefold() in str(got or "").casefold()) if key == "conteudo" else got == value
                if not matches:
                    self.reasons.append(f"SGP ticket {number}: {key} is {got!r}, expected {value!r}")


def _tool_matches(called: str, wanted: str) -> bool:
    return called == wanted if ":" in wanted else called.split(":", 1)[0] == wanted


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- a local stack: sandboxes, API and worker on loopback -----------------------------------------------------------


@contextmanager
def worker_process(env: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "niochat", "worker"], env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)  # arq's own graceful stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for_workers(redis_url: str, processes: list[subprocess.Popen], logs: list[Path], seconds: float = 60) -> None:
    """Until a worker has reported to arq's health-check key; a worker that dies says why (its log's end)."""
    import redis

    from api.engine.worker import HEALTH_CHECK_KEY

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    deadline = time.monotonic() + seconds
    try:
        while not client.exists(HEALTH_CHECK_KEY):
            for process, log in zip(processes, logs, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"the worker exited ({process.returncode}):\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no worker started within {seconds:.0f} s; see {logs[0]}")
            time.sleep(0.1)
    finally:
        client.close()


@contextmanager
def local_stack(settings: Settings, urls: ServiceUrls, secret_key: str, *, lanes: int = 4, apis: int = 2,
                workers: int = 1) -> Iterator[Endpoints]:
    """WhatsApp sandbox, `lanes` SGP sandboxes, `apis` API servers and `workers` worker processes, all on loopback,
    answering at once (no debounce window). Worker logs go to the data directory (eval-worker-N.log)."""
    from api.app import create_app
    from sandbox.sgp import create_app as create_sgp
    from sandbox.whatsapp import create_app as create_whatsapp

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    quick = {"debounce_seconds": 0.0, "csat_delay_seconds": 3600.0, "send_retry_base_seconds": 0.2,
             # the sandboxes (random loopback ports) stand in for the providers and SGPs: the egress guard lets them
             "egress_allow": ",".join(filter(None, (settings.egress_allow, "127.0.0.1")))}
    api_settings = settings.model_copy(update={**quick, "secret_key": secret_key})
    env = {
        **os.environ, "NIOCHAT_DATABASE_URL": urls.database_url, "NIOCHAT_WAREHOUSE_URL": urls.warehouse_url,
        "NIOCHAT_REDIS_URL": urls.redis_url, "NIOCHAT_SECRET_KEY": secret_key, "NIOCHAT_DATA_DIR": str(data_dir),
        **{f"NIOCHAT_{key.upper()}": str(value) for key, value in quick.items()},
    }
    with ExitStack() as stack:
        whatsapp_url = stack.enter_context(serving(create_whatsapp()))
        sgp_urls = tuple(stack.enter_context(serving(create_sgp(settings.sgp_sandbox_data))) for _ in range(lanes))
        api_urls = tuple(stack.enter_context(serving(create_app(api_settings, urls))) for _ in range(apis))
        logs = [data_dir / f"eval-worker-{n}.log" for n in range(workers)]
        processes = [stack.enter_context(worker_process(env, log)) for log in logs]
        wait_for_workers(urls.redis_url, processes, logs)
        yield Endpoints(urls.database_url, api_urls, whatsapp_url, sgp_urls)


# --- the command --------------------------------------------------------------------------------------------------


def print_report(report: Report, console) -> None:
    from rich.table import Table

    table = Table(title=f"Scenarios, brain {report.brain}", show_lines=False)
    for column in ("scenario", "result", "handoff", "seconds", "why it failed (and warnings)"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        verdict = "[green]pass[/]" if result.passed else ("[red]FAIL[/]" if result.claimed else "[yellow]fail[/]")
        if not result.claimed:
            verdict += " (unclaimed)"
        notes = "; ".join(result.reasons + [f"[yellow]{warning}[/]" for warning in result.warnings])
        table.add_row(result.name, verdict, "yes" if result.handoff else "no", f"{result.seconds:.1f}", notes)
    console.print(table)
    console.print(f"[bold]Automatic resolution rate:[/] {report.resolution_rate:.1%} "
                  f"({sum(not r.handoff for r in report.claimed)}/{len(report.claimed)} scenarios without handoff)")
    console.print(f"[bold]Pass rate:[/] {report.pass_rate:.1%} "
                  f"({len(report.claimed) - len(report.failures)}/{len(report.claimed)} claimed scenarios)")


@contextmanager
def _eval_database(urls: ServiceUrls) -> Iterator[ServiceUrls]:
    """A fresh, migrated database on the same server for this run, dropped afterwards."""
    from niochat import migrate
    from niochat.database import drop_database, ensure_database, server_url_for

    name = f"niochat_eval_{secrets.token_hex(4)}"
    server = server_url_for(urls.database_url)
    url = ensure_database(server, name)
    try:
        migrate.upgrade(url)
        yield ServiceUrls(url, url, urls.redis_url)
    finally:
        drop_database(server, name)


def run_locally(settings: Settings, scenarios: list[Scenario], *, brain: str, model_url: str | None,
                model: str, model_key: str, model_timeout: float, lanes: int, include_unclaimed: bool,
                console) -> Report:
    """Services (configured, else embedded under DATA_DIR/eval), a fresh database, sandboxes, API, worker, run."""
    from cli.context import running_services
    from niochat.secrets import load_secret_key

    if not (settings.database_url and settings.redis_url):  # embedded: our own, never a running demo's queue
        settings = settings.model_copy(update={"data_dir": Path(settings.data_dir) / "eval"})
    secret_key = load_secret_key(settings)
    with running_services(settings) as urls, _eval_database(urls) as eval_urls:
        with local_stack(settings, eval_urls, secret_key, lanes=lanes) as endpoints:
            endpoints = replace(endpoints, model_url=model_url)
            runner = Runner(endpoints, secret_key=secret_key, brain=brain, model=model, model_key=model_key,
                            model_timeout=model_timeout)
            try:
                def progress(result: ScenarioResult) -> None:
                    mark = "[green]✓[/]" if result.passed else ("[red]✗[/]" if result.claimed else "[yellow]✗[/]")
                    console.print(f"{mark} {result.name} ({result.seconds:.1f} s)")

                return runner.run(scenarios, include_unclaimed=include_unclaimed, progress=progress)
            finally:
                runner.close()


def eval_command(
    brain: str = typer.Option("rules", "--brain", help="The brain to evaluate: rules or openai"),
    scenarios_dir: Path = typer.Option(DEFAULT_SCENARIOS, "--scenarios", help="Directory of scenario *.yaml files"),
    model_url: str | None = typer.Option(
        None, "--model-url", help="OpenAI-compatible base URL (e.g. http://127.0.0.1:9000/v1); needed by openai"
    ),
    model: str = typer.Option("gpt-4o-mini", "--model", help="Model name sent to the model server"),
    model_key: str = typer.Option("not-needed", "--model-key", envvar="NIOCHAT_EVAL_MODEL_KEY",
                                  help="API key for the model server"),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the report as JSON to this file"),
    only: str | None = typer.Option(None, "--only", help="Run only the scenarios whose name contains this"),
    include_unclaimed: bool = typer.Option(False, "--all", help="Also run scenarios the brain does not claim"),
    model_timeout: float = typer.Option(5.0, "--model-timeout", min=0.5, help="Seconds before the rules brain "
                                        "answers instead of the model"),
    lanes: int = typer.Option(4, "--parallel", min=1, max=16, help="Scenarios run side by side"),
) -> None:
    """Run the scenario suite through the real webhook -> worker -> WhatsApp path and print the
    automatic-resolution rate; exits 1 when a scenario the brain claims fails."""
    from rich.console import Console

    from cli.context import fail, load_settings
    from niochat.logging import configure_logging

    if brain not in BRAINS:
        raise fail(f"--brain must be one of: {', '.join(BRAINS)}", code=2)
    if brain == "openai" and not model_url:
        raise fail("--brain openai needs a model URL: pass --model-url (any OpenAI-compatible server, "
                   "e.g. http://127.0.0.1:9000/v1)", code=2)
    try:
        scenarios = load_scenarios(scenarios_dir)
    except ScenarioError as exc:
        raise fail(str(exc), code=2) from None
    if only:
        scenarios = [scenario for scenario in scenarios if only in scenario.name]
    if not scenarios:
        raise fail(f"no scenarios in {scenarios_dir}", code=2)
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")  # the API's request logs would drown the report
    console = Console()
    console.print(f"running {len(scenarios)} scenario(s) with the [bold]{brain}[/] brain...")
    report = run_locally(settings, scenarios, brain=brain, model_url=model_url, model=model, model_key=model_key,
                         model_timeout=model_timeout, lanes=lanes, include_unclaimed=include_unclaimed,
                         console=console)
    print_report(report, console)
    if json_file:
        json_file.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    if report.failures:
        raise typer.Exit(1)
