"""Run simulated customers (and agents) against any NioChat installation with a WhatsApp sandbox."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from sandbox.simulator import phrasing

INTENTS = ("invoice", "outage", "unlock", "human", "chat", "receipt", "voice", "billing", "knowledge", "signup")
DEFAULT_MIX = {"invoice": 30, "outage": 23, "unlock": 9, "human": 9, "chat": 7, "receipt": 5, "voice": 5,
               "billing": 4, "knowledge": 6, "signup": 2}
OPENINGS = {"invoice": phrasing.INVOICE, "outage": phrasing.OUTAGE, "unlock": phrasing.UNLOCK,
            "human": phrasing.HUMAN, "chat": phrasing.OPENERS, "billing": phrasing.BILLING,
            "knowledge": phrasing.KNOWLEDGE, "signup": phrasing.SIGNUP}
# handed to people on purpose: the simulated agent takes and closes them
WAIT_FOR_AGENT = ("human", "receipt", "billing")


@dataclass
class Customer:
    phone: str
    name: str
    document: str | None  # None: an unknown person (the bot should not serve account data)
    birth_date: str | None = None  # ISO; answers the bot's identity question when WhatsApp hides the number


@dataclass
class SimulationConfig:
    sandbox_url: str
    instances: list[str]
    customers: list[Customer]
    count: int = 20  # conversations to start; 0: no limit (then `duration` ends the run)
    rate_per_minute: float = 60.0  # new conversations started per minute
    mix: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIX))
    duration: float | None = None  # seconds after which no new conversation starts (running ones finish)
    reply_timeout: float = 30.0
    think_seconds: tuple[float, float] = (0.2, 1.0)  # pause before the customer answers
    csat: bool = True  # answer the satisfaction survey when it arrives
    csat_wait: float = 150.0
    api_url: str | None = None  # with agent credentials: simulated agents take handed-off conversations
    agent_email: str | None = None
    agent_password: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        check_mix(self.mix)
        if not self.customers or not self.instances:
            raise ValueError("the simulation needs at least one customer and one WhatsApp instance")
        if self.rate_per_minute <= 0:
            raise ValueError("the rate must be positive")
        if self.count <= 0 and not self.duration:
            raise ValueError("give a number of conversations, a duration, or both")


def check_mix(mix: dict[str, int]) -> None:
    """Weights by intent: known intents, none negative, at least one positive."""
    unknown = set(mix) - set(INTENTS)
    if unknown:
        raise ValueError(f"unknown intent(s) {', '.join(sorted(unknown))}; known: {', '.join(INTENTS)}")
    if any(weight < 0 for weight in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("intent weights must be zero or more, and at least one positive")


@dataclass
class SimulationReport:
    started: int = 0
    completed: int = 0
    no_reply: int = 0
    intents: Counter = field(default_factory=Counter)
    agent_replies: int = 0
    csat_answers: int = 0
    media_sent: int = 0  # voice notes, photos and documents the customers sent
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"started": self.started, "completed": self.completed, "no_reply": self.no_reply,
                "intents": dict(self.intents), "agent_replies": self.agent_replies,
                "csat_answers": self.csat_answers, "media_sent": self.media_sent, "seconds": round(self.seconds, 1)}


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
        return await self._post({"text": text}, wait, timeout)

    async def send(self, kind: str, *, text: str | None = None, caption: str = "", file_name: str | None = None,
                   wait: bool = True) -> list[str]:
        """Send a voice note (`text`: what it says), a photo or a document, then wait as `say` does."""
        message = {"kind": kind, "text": text, "caption": caption, "file_name": file_name}
        return await self._post({key: value for key, value in message.items() if value is not None}, wait)

    async def _post(self, body: dict, wait: bool, timeout: float | None = None) -> list[str]:
        before = len(await self.sent())
        if self.first is None:
            self.first = before
        await asyncio.sleep(self.rng.uniform(*self.config.think_seconds))
        response = await self.http.post(f"{self.config.sandbox_url}/sandbox/inbound", json={
            "instance": self.instance, "from": self.customer.phone, "name": self.customer.name, **body})
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


def _choice(replies: list[str], intent: str, rng: random.Random) -> str | None:
    """The bot offered options ("responda *1*", "digite *atendente*"): pick one, as a customer would, rather than
    leave the conversation hanging."""
    offered = " ".join(replies)
    if "responda *3*" in offered and intent == "unlock":
        return "3"
    if "responda *1*" in offered:
        return "atendente" if "digite *atendente*" in offered and rng.random() < 0.3 else "1"
    return None


def _opening(intent: str, rng: random.Random) -> str:
    text = rng.choice(OPENINGS[intent])
    if rng.random() < 0.4 and intent != "chat":
        text = f"{rng.choice(phrasing.OPENERS)} {text}"
    return text


async def _sends_receipt(chat: _Chat, report: SimulationReport) -> list[str]:
    """A photo of the receipt captioned with what the customer says, or a PDF with the text as its caption or
    written just before it (within the bot's debounce window both are read as one burst)."""
    rng = chat.rng
    text = rng.choice(phrasing.RECEIPT)
    report.media_sent += 1
    if rng.random() < 0.5:
        return await chat.send("image", caption=text)
    if rng.random() < 0.5:
        await chat.say(text, wait=False)
        text = ""
    return await chat.send("document", caption=text, file_name=rng.choice(phrasing.RECEIPT_FILES))


async def _speaks(chat: _Chat, report: SimulationReport) -> tuple[str, list[str]]:
    """A voice note asking for the invoice or saying the internet is down; the intent it spoke is returned, to go
    on as that customer. A bot that cannot listen asks the customer to write ("pode escrever"): they type it."""
    intent = chat.rng.choice(["invoice", "outage"])
    report.media_sent += 1
    replies = await chat.send("audio", text=_opening(intent, chat.rng))
    if any("escrever" in reply for reply in replies):
        replies = await chat.say(chat.rng.choice(OPENINGS[intent]))
    return intent, replies


async def _signs_up(chat: _Chat, replies: list[str]) -> list[str]:
    """Someone who is not a customer yet: the neighbourhood, the plan and the name, as the bot asks for them."""
    rng = chat.rng
    if any("bairro" in reply for reply in replies):
        replies = await chat.say(rng.choice(phrasing.PLACES))
    if any("interesse" in reply for reply in replies):  # not covered: the interest registered, or not
        replies = await chat.say(rng.choice(phrasing.YES[:1] + ["não, obrigado"]))
    elif any("Qual deles" in reply or "plano te interessa" in reply for reply in replies):
        replies = await chat.say(rng.choice(phrasing.PLANS))
    if any("nome" in reply for reply in replies):
        replies = await chat.say(chat.customer.name or "Cliente Simulado")
    return replies


async def _customer(chat: _Chat, intent: str, report: SimulationReport) -> None:
    rng, customer = chat.rng, chat.customer
    if intent == "receipt":
        replies = await _sends_receipt(chat, report)
    elif intent == "voice":
        intent, replies = await _speaks(chat, report)
    else:
        replies = await chat.say(_opening(intent, rng))
    if not replies:
        report.no_reply += 1
        return
    if intent == "chat":
        replies = await chat.say(rng.choice(["1", "2", "opção 1"]))
    if intent == "signup":
        replies = await _signs_up(chat, replies)
    if intent not in WAIT_FOR_AGENT and customer.document and any("CPF" in reply for reply in replies):
        replies = await chat.say(phrasing.document_as_typed(customer.document, rng))
        if customer.birth_date and any("data de nascimento" in reply for reply in replies):
            replies = await chat.say(phrasing.date_as_typed(customer.birth_date, rng))  # known only by LID
        if any("contrato" in reply and "1)" in reply for reply in replies):
            replies = await chat.say("1")
        if any("(sim/não)" in reply for reply in replies):
            replies = await chat.say(rng.choice(phrasing.YES))
        if choice := _choice(replies, intent, rng):
            replies = await chat.say(choice)
    if intent not in WAIT_FOR_AGENT and not any("na fila" in reply for reply in replies):  # the agent closes
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


def _starting(config: SimulationConfig, index: int, started: float) -> bool:
    """Whether conversation number `index` may start: within the count and the duration."""
    within_count = config.count <= 0 or index < config.count
    within_time = not config.duration or time.monotonic() - started < config.duration
    return within_count and within_time


async def simulate(config: SimulationConfig, progress=None) -> SimulationReport:
    """Start conversations at `rate_per_minute` until `count` have started or `duration` has passed, each a
    customer with a random intent from the mix; then wait for them to finish."""
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
        index = 0
        while _starting(config, index, started):
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
            index += 1
            if _starting(config, index, started):
                await asyncio.sleep(60.0 / config.rate_per_minute)
        await asyncio.gather(*tasks)
        stop.set()
        if agents:
            await agents
    report.seconds = time.monotonic() - started
    return report
