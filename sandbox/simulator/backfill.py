"""Past weeks of made-up conversations, so a fresh demo's charts have history: one day at a time, as lines of
the history import format (`niochat-history-v1`, ingest/README.md), with the shapes of a provider's real
traffic (busy mornings and evenings, quiet Sundays, the intent mix, handoffs, agents' delays, CSAT answers), and
what the rules brain would have recorded: the intent of each customer message it answered and its tool calls (the
SGP lookups, with their latency and a small share of failures that send the customer to an agent).

The same plan and day always give the same conversations and external ids, so importing a day twice skips it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sandbox.simulator import phrasing
from sandbox.simulator.run import DEFAULT_MIX, OPENINGS, Customer

# Share of a day's conversations that start in each hour (local time): morning and evening peaks.
HOURLY = [1, 1, 0, 0, 0, 1, 2, 5, 9, 11, 10, 8, 6, 7, 8, 8, 7, 7, 8, 9, 9, 7, 4, 2]
WEEKDAY = [1.25, 1.1, 1.0, 1.0, 0.95, 0.6, 0.35]  # Monday first: the weekend's problems arrive on Monday
TEAM_OF = {"invoice": "financeiro", "unlock": "financeiro", "billing": "financeiro", "outage": "suporte",
           "chat": "comercial"}
CSAT_DELAY = timedelta(seconds=90)
# The request each scenario's opening message makes, in the names live traffic records (niochat.vocabulary.INTENTS).
OPENING_INTENT = {"invoice": "second_copy", "outage": "connection_down", "unlock": "trust_unlock", "human": "human",
                  "chat": "greeting", "billing": "billing_issue", "knowledge": "knowledge"}
NOT_FOUND_SHARE = 0.03  # documents the SGP does not know
NO_MATCH_SHARE = 0.15  # knowledge questions the provider's base does not answer (the bot offers a person)
PHONE_MISMATCH_SHARE = 0.04  # writing from a number that is not the contract's: the bot asks the date of birth
FACTOR_PASS_SHARE = 0.6  # of those, the holder themselves (from a new number): the right date
CONFUSED_SHARE = 0.3  # of the "chat" openers: they say what they want in a way the bot does not understand
SGP_FAILURE_SHARE = 0.03  # per SGP call
# (outcome, error, latency in ms) as api/brain/tools.py records an SGP that times out or answers nonsense
SGP_FAILURES = [("sgp_unavailable", "o SGP não respondeu a tempo", (8000, 8800)),
                ("sgp_error", "resposta inesperada do SGP", (150, 1200))]

BOT = {
    "ask_document": ["Olá! Para eu localizar seu cadastro, me informe o CPF ou CNPJ do titular, por favor.",
                     "Oi! Me passa o CPF ou CNPJ do titular do contrato, por favor?"],
    "invoice": ["Encontrei sua fatura com vencimento em {due}, no valor de R$ {amount}. PIX copia e cola a seguir.",
                "Aqui está a sua segunda via: vencimento {due}, R$ {amount}. Segue o código PIX e a linha digitável."],
    "outage": ["Verifiquei aqui e sua conexão está offline. Quer que eu abra um chamado técnico? (sim/não)"],
    "ticket": ["Chamado aberto! Protocolo {protocol}. Nossa equipe técnica vai acompanhar."],
    "unlock": ["Pronto! Liberei sua internet por confiança por {days} dias. Lembre-se de pagar até lá."],
    "menu": ["Olá! Como posso ajudar? 1) Segunda via 2) Suporte técnico 3) Falar com um atendente"],
    "handoff": ["Certo! Vou te passar para um atendente. Sua conversa está na fila."],
    "not_found": ["Não encontrei nenhum contrato com esse CPF/CNPJ. Confere se é o documento do titular?"],
    "sgp_down": ["Nosso sistema está instável agora e não consegui consultar seus dados. 😕"],
    "phone_mismatch": ["Por segurança, só envio dados do contrato para o WhatsApp cadastrado no contrato. "
                       "Vou te passar para um atendente confirmar seus dados."],
    "ask_factor": ["Por segurança, antes de passar qualquer dado do contrato preciso confirmar que você é o "
                   "titular. 🔒 Qual a *data de nascimento* do titular do CPF?"],
    "factor_mismatch": ["Não consegui confirmar a titularidade com esses dados. 😕 Confira e me envie de novo."],
    "factor_handoff": ["Não consegui confirmar a titularidade por aqui. Por segurança, vou te passar para um "
                       "atendente, que confirma seus dados com você."],
    "not_understood": ["Desculpe, não entendi. 😅 Como posso ajudar? 1) Segunda via 2) Suporte técnico "
                       "3) Falar com um atendente"],
    "confused": ["Desculpe, não entendi. 😅 Vou chamar um atendente para te ajudar melhor."],
    "billing": ["Entendi, é um assunto para o nosso financeiro, que pode conferir a cobrança e negociar com você. "
                "Vou te transferir para um atendente."],
    "bye": ["Por nada! Qualquer coisa é só chamar. 😊", "Disponha! Tenha um ótimo dia."],
    "knowledge_unknown": ["Não encontrei essa informação aqui comigo. 😕 Quer que eu chame um atendente?"],
}
# Questions of the demo's knowledge bases (niochat/knowledge_demo.py) with their entry's answer, and some it lacks
KNOWLEDGE = [
    ("vocês aceitam cartão?", "Aceitamos cartão de crédito pelo nosso aplicativo e débito automático em conta (Itaú, "
                              "Bradesco, Caixa, Banco do Brasil e Santander)."),
    ("quanto tempo demora a instalação?",
     "A instalação é feita em até 3 dias úteis depois da contratação, com horário agendado com você."),
    ("tem fidelidade?", "O contrato tem fidelidade de 12 meses. Quem cancela antes paga uma multa proporcional aos "
                        "meses que faltam."),
    ("a internet tem franquia?", "Nossos planos não têm franquia: você navega à vontade, sem limite de dados."),
]
UNKNOWN_QUESTIONS = ["vocês vendem celular?", "vcs instalam camera de segurança?", "vocês consertam computador?"]
AGENT = ["Oi, aqui é do atendimento! Já estou vendo seu caso.", "Olá! Pode me contar com mais detalhes?",
         "Verifiquei aqui e já está resolvido.", "Pronto, ajustei no sistema. Qualquer coisa é só chamar!"]
CUSTOMER_TO_AGENT = ["ok, obrigado", "isso mesmo", "certo, aguardo", "blz"]
# what the rules brain does not understand: a story, a question about something it does not do
UNCLEAR = ["é sobre aquilo que eu falei ontem com a moça", "vcs abrem no feriado?", "??",
           "meu vizinho ta com o mesmo problema", "queria ver um negocio com vcs", "tem como ver aquilo pra mim",
           "vocês mandaram uma carta aqui", "então, é o seguinte"]


@dataclass(frozen=True)
class BackfillPlan:
    prefix: str  # external ids start with it, e.g. "demo-backfill:veloz"
    customers: list[Customer]
    instances: list[str]  # the tenant's channels (instance names)
    agents: list[str]  # e-mails of the agents who take handoffs
    teams: list[str]  # team slugs handoffs may go to
    agent_teams: dict[str, tuple[str, ...]] = field(default_factory=dict)  # e-mail -> its teams (none: any team)
    timezone: str = "America/Sao_Paulo"
    per_day: int = 24  # conversations on an ordinary weekday
    # the history format holds text only: the live mix's media customers are left out
    mix: tuple[tuple[str, int], ...] = tuple((kind, weight) for kind, weight in DEFAULT_MIX.items()
                                             if kind in OPENING_INTENT)
    seed: int = 0


def day_of_history(plan: BackfillPlan, day: date, not_after: datetime | None = None) -> list[dict]:
    """The conversations of one past day, oldest first, each a dict in the history import format; those that
    would still be going on at `not_after` (yesterday's late ones, waiting for an agent) are left out."""
    rng = random.Random(f"{plan.seed}:{plan.prefix}:{day.isoformat()}")
    count = max(1, round(plan.per_day * WEEKDAY[day.weekday()] * rng.uniform(0.8, 1.2)))
    zone = ZoneInfo(plan.timezone)
    starts = sorted(
        datetime.combine(day, time(rng.choices(range(24), weights=HOURLY)[0], rng.randrange(60), rng.randrange(60)),
                         zone)
        for _ in range(count)
    )
    made = [_conversation(plan, f"{plan.prefix}:{day.isoformat()}:{n:03d}", start, rng)
            for n, start in enumerate(starts)]
    return [c for c in made if not_after is None or datetime.fromisoformat(_last_time(c)) <= not_after]


def _last_time(conversation: dict) -> str:
    csat = conversation.get("csat")
    return csat["answered_at"] if csat else conversation["closed_at"]


class _Timeline:
    """Messages one after another, each some seconds after the last, and the bot's tool calls between them."""

    def __init__(self, start: datetime, rng: random.Random):
        self.now, self.rng, self.messages, self.tool_calls = start, rng, [], []
        self.new_turn = False  # a message came since the last tool call

    def say(self, sender: str, text: str, after: tuple[float, float] | None = None, agent: str | None = None,
            intent: str | None = None) -> None:
        """`after`: seconds since the last message; by default the bot answers within a second or two (the
        product's promise) and people take a few seconds."""
        if self.messages:
            after = after or ((1, 2) if sender == "bot" else (2, 8))
            self.now += timedelta(seconds=round(self.rng.uniform(*after)))
        message = {"at": self.now.isoformat(), "sender": sender, "text": text}
        if agent:
            message["agent"] = agent
        if intent:
            message["intent"] = intent
        self.messages.append(message)
        self.new_turn = True

    def call(self, tool: str, outcome: str, latency_ms: int, error: str | None = None) -> None:
        """A tool call made while answering the last message: the turn's first starts a moment after it, the next
        right after the one before, and the reply waits for them."""
        started = self.now + timedelta(milliseconds=self.rng.randint(200, 1500) if self.new_turn else 1)
        self.new_turn = False
        self.now = started + timedelta(milliseconds=latency_ms)
        call = {"at": started.isoformat(), "tool": tool, "outcome": outcome, "latency_ms": latency_ms}
        if error:
            call["error"] = error
        self.tool_calls.append(call)


def _conversation(plan: BackfillPlan, external_id: str, start: datetime, rng: random.Random) -> dict:
    names, weights = zip(*plan.mix, strict=True)
    intent = rng.choices(names, weights=weights)[0]
    customer = rng.choice(plan.customers)
    line = _Timeline(start, rng)
    reason = None  # why it goes to a person, in the rules brain's words (conversations.handoff_reason)
    if intent == "knowledge":  # a question for the provider's base, answered from it or a person offered
        reason = _knowledge(line, rng)
    else:
        line.say("customer", rng.choice(OPENINGS[intent]), intent=OPENING_INTENT[intent])
    if intent == "billing":  # the rules brain hands it to financeiro at once
        line.call("transfer_to_human", "transferred", _instant(rng))
        line.say("bot", rng.choice(BOT["billing"]))
        reason = "billing_issue"
    if intent == "chat":
        line.say("bot", rng.choice(BOT["menu"]))
        if rng.random() < CONFUSED_SHARE:
            reason = _confused(line, rng)
        else:
            line.say("customer", "1", after=(5, 40), intent=OPENING_INTENT["invoice"])
            intent = "invoice"
    # customers the bot cannot serve, and some who insist on a person, end up with an agent
    if intent == "human" or (intent in ("invoice", "outage", "unlock")
                             and rng.random() < {"invoice": 0.08, "outage": 0.3, "unlock": 0.15}[intent]):
        reason = "customer_request"
    if intent in ("invoice", "outage", "unlock"):
        served = _self_service(line, intent, customer, rng)
        if served is not True:
            reason = served or "customer_request"  # the bot said why it could not; most then ask for a person
    conversation: dict = {"external_id": external_id, "channel": rng.choice(plan.instances),
                          "contact": {"phone": customer.phone, "name": customer.name}}
    handoff = reason is not None
    if handoff and plan.agents:
        _with_an_agent(line, conversation, plan, intent, reason, rng)
    else:
        line.say("customer", rng.choice(phrasing.THANKS), after=(10, 60), intent="thanks_bye")
        line.call("close_conversation", "closed", _instant(rng))
        line.say("bot", rng.choice(BOT["bye"]))
        conversation["closed_by"] = "bot"
    closed = line.now + timedelta(seconds=rng.randint(5, 120))
    conversation.update(messages=line.messages, closed_at=closed.isoformat())
    if line.tool_calls:
        conversation["tool_calls"] = line.tool_calls
    if rng.random() < 0.65:  # most people answer the survey, not all
        conversation["csat"] = _csat(closed, handoff, rng)
    return conversation


def _knowledge(line: _Timeline, rng: random.Random) -> str | None:
    """A question for the knowledge base: its answer, or (no match) a person offered, whom some accept."""
    if rng.random() >= NO_MATCH_SHARE:
        question, answer = rng.choice(KNOWLEDGE)
        line.say("customer", question, intent="knowledge")
        line.call("search_knowledge", "answered", _instant(rng))
        line.say("bot", answer)
        return None
    line.say("customer", rng.choice(UNKNOWN_QUESTIONS), intent="knowledge")
    line.call("search_knowledge", "no_match", _instant(rng))
    line.say("bot", rng.choice(BOT["knowledge_unknown"]))
    if rng.random() < 0.5:
        return None
    line.say("customer", rng.choice(phrasing.YES[:1]), after=(5, 40), intent="human")
    line.call("transfer_to_human", "transferred", _instant(rng))
    line.say("bot", rng.choice(BOT["handoff"]))
    return "knowledge_no_match"


def _confused(line: _Timeline, rng: random.Random) -> str:
    """Twice something the bot does not understand: the second time it hands over (rules brain's not_understood)."""
    line.say("customer", rng.choice(UNCLEAR), after=(5, 40), intent="not_understood")
    line.say("bot", rng.choice(BOT["not_understood"]))
    line.say("customer", rng.choice(UNCLEAR), after=(10, 60), intent="not_understood")
    line.call("transfer_to_human", "transferred", _instant(rng))
    line.say("bot", rng.choice(BOT["confused"]))
    return "not_understood"


def _second_factor(line: _Timeline, intent: str, customer: Customer, rng: random.Random) -> bool:
    """A number the SGP does not have: the date of birth confirms the holder (True); three wrong ones (or no date
    on file) and the bot hands over, as api/brain/tools.py records it."""
    line.call("identify_customer", "phone_mismatch", _sgp_latency(rng))
    if not customer.birth_date:
        line.call("verify_identity", "factor_unavailable", _instant(rng))
        line.call("transfer_to_human", "transferred", _instant(rng))
        line.say("bot", rng.choice(BOT["phone_mismatch"]))
        return False
    line.say("bot", rng.choice(BOT["ask_factor"]))
    if rng.random() < FACTOR_PASS_SHARE:
        line.say("customer", phrasing.date_as_typed(customer.birth_date, rng), after=(10, 60),
                 intent=OPENING_INTENT[intent])
        line.call("verify_identity", "verified", _sgp_latency(rng))
        return True
    for attempt in range(1, 4):
        wrong = date(rng.randrange(1950, 2005), rng.randrange(1, 13), rng.randrange(1, 29)).isoformat()
        line.say("customer", phrasing.date_as_typed(wrong, rng), after=(10, 60), intent=OPENING_INTENT[intent])
        line.call("verify_identity", "mismatch" if attempt < 3 else "too_many_attempts", _sgp_latency(rng))
        if attempt < 3:
            line.say("bot", rng.choice(BOT["factor_mismatch"]))
    line.call("transfer_to_human", "transferred", _instant(rng))
    line.say("bot", rng.choice(BOT["factor_handoff"]))
    return False


def _self_service(line: _Timeline, intent: str, customer: Customer, rng: random.Random) -> bool | str | None:
    """The bot identifies the customer and does what they asked: True when it did; otherwise an agent takes
    over, for the handoff reason returned when the bot itself hands over, or None when the customer asks."""
    line.say("bot", rng.choice(BOT["ask_document"]))
    if not customer.document:
        return None
    # the document answers the bot's question: live traffic records it under the request it was asked for
    line.say("customer", phrasing.document_as_typed(customer.document, rng), after=(10, 90),
             intent=OPENING_INTENT[intent])
    if rng.random() < NOT_FOUND_SHARE:
        line.call("identify_customer", "not_found", _sgp_latency(rng))
        line.say("bot", rng.choice(BOT["not_found"]))
        return None
    if rng.random() < PHONE_MISMATCH_SHARE:
        if not _second_factor(line, intent, customer, rng):
            return "identity_unverified"
    elif not _sgp_call(line, "identify_customer", "found", rng):
        return None
    if intent == "invoice":
        if not _sgp_call(line, "second_copy", "sent", rng):
            return None
        due = (line.now + timedelta(days=rng.randint(-10, 15))).strftime("%d/%m")
        amount = f"{rng.choice([69.9, 79.9, 89.9, 99.9, 119.9, 149.9]):.2f}".replace(".", ",")
        line.say("bot", rng.choice(BOT["invoice"]).format(due=due, amount=amount))
    elif intent == "outage":
        if not _sgp_call(line, "connection_status", "offline", rng):
            return None
        line.say("bot", rng.choice(BOT["outage"]))
        line.say("customer", rng.choice(phrasing.YES), after=(5, 40), intent="open_ticket")
        if not _sgp_call(line, "open_ticket", "opened", rng):
            return None
        line.say("bot", rng.choice(BOT["ticket"]).format(protocol=f"{line.now:%y%m%d}{rng.randrange(10**6):06d}"))
    elif intent == "unlock":
        if not _sgp_call(line, "trust_unlock", "granted", rng):
            return None
        line.say("bot", rng.choice(BOT["unlock"]).format(days=rng.choice([2, 3, 5])))
    return True


def _sgp_call(line: _Timeline, tool: str, outcome: str, rng: random.Random) -> bool:
    """One SGP call that gives `outcome`, unless the SGP fails (then the bot says so); whether it worked."""
    if rng.random() < SGP_FAILURE_SHARE:
        failed, error, latency = rng.choice(SGP_FAILURES)
        line.call(tool, failed, rng.randint(*latency), error)
        line.say("bot", rng.choice(BOT["sgp_down"]))
        return False
    line.call(tool, outcome, _sgp_latency(rng))
    return True


def _sgp_latency(rng: random.Random) -> int:
    return rng.randint(120, 1500) if rng.random() < 0.9 else rng.randint(1500, 5000)


def _instant(rng: random.Random) -> int:
    """Latency of a tool that does not call the SGP (transfer, close)."""
    return rng.randint(1, 25)


def _with_an_agent(line: _Timeline, conversation: dict, plan: BackfillPlan, intent: str, reason: str,
                   rng: random.Random) -> None:
    if reason == "customer_request":  # the bot transfers when the customer asks for a person
        if line.messages[-1]["sender"] != "customer":
            line.say("customer", rng.choice(phrasing.HUMAN), after=(5, 60), intent="human")
        line.call("transfer_to_human", "transferred", _instant(rng))
        line.say("bot", rng.choice(BOT["handoff"]))
    wanted = TEAM_OF.get(intent) or rng.choice(plan.teams or [""])
    team = wanted if wanted in plan.teams else (plan.teams[0] if plan.teams else None)
    agent = rng.choice([email for email in plan.agents if team in plan.agent_teams.get(email, (team,))]
                       or plan.agents)
    pace = random.Random(agent).uniform(0.5, 1.6)  # each agent answers at their own pace, the same every day
    conversation.update(handoff_at=line.now.isoformat(), handoff_reason=reason, agent=agent, closed_by="agent")
    if team:
        conversation["team"] = team
    # the queue: minutes in business hours, much longer at night
    busy = 8 <= line.now.hour < 18
    queue = (30, 600) if busy else (600, 4 * 3600)
    line.say("agent", AGENT[rng.randrange(2)], after=(queue[0] * pace, queue[1] * pace), agent=agent)
    line.say("customer", rng.choice(CUSTOMER_TO_AGENT), after=(20, 120))
    line.say("agent", AGENT[2 + rng.randrange(2)], after=(60, 600), agent=agent)


def _csat(closed: datetime, handoff: bool, rng: random.Random) -> dict:
    weights = [8, 10, 14, 28, 40] if handoff else [4, 6, 10, 25, 55]  # ratings 1..5
    rating = rng.choices([1, 2, 3, 4, 5], weights=weights)[0]
    sent = closed + CSAT_DELAY
    answer = {"rating": rating, "sent_at": sent.isoformat(),
              "answered_at": (sent + timedelta(seconds=rng.randint(20, 1800))).isoformat()}
    text = rng.choice(phrasing.RATINGS[rating])
    if not text.isdigit() and len(text) > 3:  # words, not just a number or an emoji: keep it as the comment
        answer["comment"] = text
    return answer
