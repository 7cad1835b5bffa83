"""Run simulated customers (and agents) against any NioChat installation with a WhatsApp sandbox."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from sandbox.simulator import phrasing

INTENTS = ("invoice", "outage", "unlock", "human", "chat")
DEFAULT_MIX = {"invoice": 40, "outage": 25, "unlock": 10, "human": 15, "chat": 10}


@dataclass
class Customer:
    phone: str
    name: str
    document: str | None  # None: an unknown person (the bot should not serve account data)


@dataclass
class SimulationConfig:
    sandbox_url: str
    instances: list[str]
    customers: list[Customer]
    count: int = 20  # conversations to run
    rate_per_minute: float = 60.0  # new conversations started per minute
    mix: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIX))
    reply_timeout: float = 30.0
    think_seconds: tuple[float, float] = (0.2, 1.0)  # pause before the customer answers
    csat: bool = True  # answer the satisfaction survey when it arrives
    csat_wait: float = 150.0
    api_url: str | None = None  # with agent credentials: simulated agents take handed-off conversations
    agent_email: str | None = None
    agent_password: str | None = None
    seed: int | None = None


@dataclass
class SimulationReport:
    started: int = 0
    completed: int = 0
    no_reply: int = 0
    intents: Counter = field(default_factory=Counter)
    agent_replies: int = 0
    csat_answers: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"started": self.started, "completed": self.completed, "no_reply": self.no_reply,
                "intents": dict(self.intents), "agent_replies": self.agent_replies,
                "csat_answers": self.csat_answers, "seconds": round(self.seconds, 1)}


class _Chat:
    def __init__(self, http: httpx.AsyncClient, config: SimulationConfig, customer: Customer, instance: str,
                 rng: random.Random):
        self.http, self.config, self.customer, self.instance, self.rng = http, config, customer, instance, rng
        self.first: int | None = None  # where this conversation starts in the customer's message history

    async def sent(self) -> list[dict]:
        response = await self.http.get(f"{self.config.sandbox_url}/sandbox/messages",
                                       params={"number": self.customer.phone})
        response.raise_for_status()
        return response.json()

    async def say(self, text: str, wait: bool = True, timeout: float | None = None) -> list[str]:
        """Write, then wait until the bot's answer stops arriving; returns the new texts."""
        before = len(await self.sent())
        if self.first is None:
            self.first = before
        await asyncio.sleep(self.rng.uniform(*self.config.think_seconds))
        response = await self.http.post(f"{self.config.sandbox_url}/sandbox/inbound", json={
            "instance": self.instance, "from": self.customer.phone, "name": self.customer.name, "text": text})
        response.raise_for_status()
        if not wait:
            return []
        deadline = time.monotonic() + (timeout or self.config.reply_timeout)
        seen, quiet_since = before, None
        while time.monotonic() < deadline:
            count = len(await self.sent())
            if count > seen:
                seen, quiet_since = count, time.monotonic()
            elif quiet_since and time.monotonic() - quiet_since > 1.0:
                break
            await asyncio.sleep(0.25)
        return [message["text"] for message in (await self.sent())[before:]]

    async def answer_survey(self, report: SimulationReport) -> None:
        deadline = time.monotonic() + self.config.csat_wait
        while time.monotonic() < deadline:
            if any("🤩 5" in message["text"] for message in (await self.sent())[self.first or 0:]):
                _, text = phrasing.rating_text(self.rng)
                await self.say(text)
                report.csat_answers += 1
                return
            await asyncio.sleep(1.0)


async def _customer(chat: _Chat, intent: str, report: SimulationReport) -> None:
    rng, customer = chat.rng, chat.customer
    opening = {"invoice": phrasing.INVOICE, "outage": phrasing.OUTAGE, "unlock": phrasing.UNLOCK,
               "human": phrasing.HUMAN, "chat": phrasing.OPENERS}[intent]
    text = rng.choice(opening)
    if rng.random() < 0.4 and intent != "chat":
        text = f"{rng.choice(phrasing.OPENERS)} {text}"
    replies = await chat.say(text)
    if not replies:
        report.no_reply += 1
        return
    if intent == "chat":
        replies = await chat.say(rng.choice(["1", "2", "opção 1"]))
    if intent != "human" and customer.document and any("CPF" in reply for reply in replies):
        replies = await chat.say(phrasing.document_as_typed(customer.document, rng))
        if any("contrato" in reply and "1)" in reply for reply in replies):
            replies = await chat.say("1")
        if any("(sim/não)" in reply for reply in replies):
            replies = await chat.say(rng.choice(phrasing.YES))
    if intent != "human" and not any("fila" in reply or "atendente" in reply.lower() for reply in replies):
        await chat.say(rng.choice(phrasing.THANKS))
    report.completed += 1
    if chat.config.csat:
        await chat.answer_survey(report)


async def _agents(http: httpx.AsyncClient, config: SimulationConfig, report: SimulationReport, stop: asyncio.Event):
    """A simulated agent: takes waiting conversations, answers, and closes them."""
    token = (await http.post(f"{config.api_url}/api/v1/auth/token",
                             data={"username": config.agent_email, "password": config.agent_password})).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    me = (await http.get(f"{config.api_url}/api/v1/auth/me", headers=headers)).json()
    rng = random.Random(config.seed)
    while not stop.is_set():
        waiting = (await http.get(f"{config.api_url}/api/v1/conversations", params={"status": "waiting"},
                                  headers=headers)).json()
        for conversation in waiting.get("items", []):
            base = f"{config.api_url}/api/v1/conversations/{conversation['id']}"
            await asyncio.sleep(rng.uniform(1, 3))  # reading the history
            reply = rng.choice(phrasing.AGENT_REPLIES).format(agent=me["name"].split()[0])
            if (await http.post(f"{base}/reply", json={"text": reply}, headers=headers)).status_code < 300:
                report.agent_replies += 1
                await asyncio.sleep(rng.uniform(1, 3))
                await http.post(f"{base}/reply", json={"text": rng.choice(phrasing.AGENT_CLOSINGS)}, headers=headers)
                await http.post(f"{base}/close", json={"reason": "resolvido"}, headers=headers)
        try:
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        except TimeoutError:
            pass


async def simulate(config: SimulationConfig, progress=None) -> SimulationReport:
    """Start `count` conversations at `rate_per_minute`, each a customer with a random intent from the mix."""
    rng = random.Random(config.seed)
    report = SimulationReport()
    started = time.monotonic()
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=30) as http:
        agents = None
        if config.api_url and config.agent_email:
            agents = asyncio.create_task(_agents(http, config, report, stop))
        tasks = []
        available = list(config.customers)
        rng.shuffle(available)
        for index in range(config.count):
            customer = available[index % len(available)]  # one conversation at a time per customer
            if index >= len(available):
                await asyncio.gather(*tasks[index - len(available): index - len(available) + 1])
            intent = rng.choices(list(config.mix), weights=list(config.mix.values()))[0]
            report.intents[intent] += 1
            report.started += 1
            chat = _Chat(http, config, customer, rng.choice(config.instances), random.Random(rng.random()))
            task = asyncio.create_task(_customer(chat, intent, report))
            if progress:
                task.add_done_callback(lambda _: progress())
            tasks.append(task)
            await asyncio.sleep(60.0 / config.rate_per_minute)
        await asyncio.gather(*tasks)
        stop.set()
        if agents:
            await agents
    report.seconds = time.monotonic() - started
    return report
