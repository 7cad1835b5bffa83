"""The runner: each scenario on a fresh tenant, turn by turn through the real webhook -> worker -> WhatsApp path."""

from __future__ import annotations

import asyncio
import itertools
import queue
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert, select, update

from cli.evaluation.facts import load_facts
from cli.evaluation.report import Report, ScenarioResult
from cli.evaluation.scenarios import (
    ALWAYS_OPEN,
    BRAINS,
    DAYS,
    FACT,
    IN_DAYS,
    PROTOCOL,
    PROVIDERS,
    TEAMS,
    TIMEZONE,
    UNSET,
    Expect,
    Scenario,
    Turn,
)
from niochat import accounts, knowledge_demo
from niochat.secrets import Keyring
from niochat.tables import ai_configs, channels, conversations, messages, sgp_configs, teams, tenants, tool_calls


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
        self.tools: list[str] = []  # "tool:outcome" of every call, for the report's counts
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
            self.tenant_id = accounts.create_tenant(conn, self.slug, "Fibra Exemplo", TIMEZONE)
            tenant_settings = {"business_hours": self._hours()}
            if self.scenario.recheck_seconds is not None:
                tenant_settings["connection_recheck_seconds"] = self.scenario.recheck_seconds
            conn.execute(update(tenants).where(tenants.c.id == self.tenant_id).values(settings=tenant_settings))
            for slug, name in TEAMS.items():
                accounts.create_team(conn, self.slug, slug, name)
            knowledge_demo.seed(conn, self.tenant_id, knowledge_demo.SAO_PAULO)  # what the customers ask about
            keys = {}  # the channels' webhook keys, known only now (stored as hashes)
            for provider in PROVIDERS:
                created = accounts.create_channel(conn, keyring, api_url, self.slug, provider, f"WhatsApp {provider}",
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
            warnings=self.warnings, transcript=self.transcript, tools=self.tools,
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
        if turn.expect.wait_for_reply and (missing := self._wait_for_reply(turn.expect.wait_for_reply)):
            self.reasons.append(f"turn {number}: {missing}")
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

    def _wait_for_reply(self, wanted: str) -> str | None:
        """Until a reply of this turn contains `wanted`: a follow-up the worker sends after the tenant's wait."""
        deadline = time.monotonic() + self.runner.turn_timeout
        wanted = wanted.casefold()
        while not any(wanted in (m.get("text") or "").casefold() for m in self._sent()[self.sent_count:]):
            if time.monotonic() > deadline:
                return f"no reply with {wanted!r} within {self.runner.turn_timeout:.0f} s"
            time.sleep(0.1)
        return self._wait([])

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
        calls = [f"{row.tool}:{row.outcome}" for row in new]
        self.tools += calls
        return calls

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
