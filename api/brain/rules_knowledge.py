"""The rules brain's answers from the provider's knowledge base, and its steps with someone who wants to become
a customer: place (coverage from the base), plan, name, then a lead for team comercial, or, where the network does
not reach, the interest written down. Mixed into the rules brain's turn (api/brain/rules.py)."""

from __future__ import annotations

import re

from api.brain import nlu, replies
from api.brain.knowledge import words
from api.brain.turn import KNOWLEDGE, BrainReply

# "quero contratar", "queria assinar", "quero internet", "instalar internet": a wish, not a question
WISH = re.compile(r"\b(contrat\w*|assinar|assinatura|ser cliente|quero (a |uma )?internet|instalar (a )?internet"
                  r"|colocar (a )?internet|adquirir)\b")
QUESTION = re.compile(r"\?|^(qual|quais|quanto|quantos|onde|como|quando|que horas|tem|voces|vcs|aceita\w*|posso)\b")
# words that name a place to check: "atendem no bairro X", "chega na rua", "meu CEP é ..."
PLACE_CUE = re.compile(r"\bbairro|\bcep\b|\d{5}-?\d{3}|\batend\w*|\bchega\w*|\bmoro\b|\bcobertura\b|\bregiao\b"
                       r"|\bpassa\b|\bdisponivel\b")
# An action asked as a question the base also answers: "posso pagar na lotérica?" (the invoice, and where to pay
# it), "vou mudar de endereço, como faço?" (the move's conditions, and the ticket that does it).
PREFACES = {
    "second_copy": ("pagamento", re.compile(r"\b(loteric\w*|cartao|credito|debito|banco|agencia|aplicativo|app)\b")),
    "open_ticket": ("mudanca", re.compile(r"\b(mudanc\w*|mud\w*|transferi\w*) (de |pra |para |o |a |meu |minha )*"
                                          r"(endereco|casa|residencia|apartamento|ap)\b")),
}
LEAD_STEPS = ("lead_offer", "lead_place", "lead_plan", "lead_name", "lead_interest", "lead_interest_name")


class KnowledgeSteps:
    """Needs the turn's say/reply/handoff/about, its state, text, intents and tools."""

    def moved_on(self) -> bool:
        # a request of its own (an invoice, the connection, a person, a complaint) ends the sales steps
        return bool(set(self.intents) & {"second_copy", "connection_down", "trust_unlock", "open_ticket", "human",
                                         "cancel", "billing_issue", "payment_notice", "thanks_bye"})

    async def sales(self) -> BrainReply:
        """Prices, plans, coverage or a wish to sign up: the base answers; a wish starts the lead's steps."""
        self.about("sales")
        said = nlu.normalize(self.text)
        if WISH.search(said):
            return await self.lead_start()
        coverage = await self.tools.check_coverage(self.text) if PLACE_CUE.search(said) else None
        if coverage and coverage.status == "covered":
            self.state.update(awaiting="lead_offer", lead={"place": self.text[:120]})
            self.say(replies.covered_offer(coverage.data.answer))
            return self.reply()
        found = await self.tools.search_knowledge(self.text)
        if found.status == "answered" and found.data[0].entry.category != "cobertura":
            self.state.update(awaiting="lead_offer", lead={})
            self.say(found.data[0].entry.answer, replies.SALES_OFFER)
            return self.reply()
        if coverage and coverage.status == "not_covered":
            self.state.update(awaiting="lead_interest", lead={"place": self.text[:120]})
            self.say(replies.NOT_COVERED)
            return self.reply()
        # nothing in the base for this sales question: a person of team comercial answers
        self.say("Certo! Vou te transferir para um de nossos atendentes.")
        return await self.handoff("sales", "sales")

    async def lead_start(self) -> BrainReply:
        coverage = await self.tools.check_coverage(self.text)
        self.state["lead"] = {}
        if coverage.status == "covered":  # "quero contratar, moro em Moema"
            return await self.lead_covered(coverage.data.answer)
        self.state["awaiting"] = "lead_place"
        self.say(replies.LEAD_ASK_PLACE)
        return self.reply()

    async def lead_covered(self, region_answer: str) -> BrainReply:
        self.state["lead"]["place"] = self.state["lead"].get("place") or self.text[:120]
        plans = await self.tools.plans()
        self.state["awaiting"] = "lead_plan"
        self.say(replies.lead_covered(region_answer, [(p.title, p.answer) for p in plans]))
        return self.reply()

    async def lead_step(self, step: str) -> BrainReply | None:
        """The answer to the sales step the bot asked; None when the customer moved on to something else."""
        lead = self.state.setdefault("lead", {})
        if self.moved_on() and not (step in ("lead_name", "lead_interest_name") and not QUESTION.search(self.text)):
            self.state.pop("lead", None)
            return None
        self.about("sales")
        if step == "lead_offer":
            if "yes" in self.intents or WISH.search(nlu.normalize(self.text)):
                if lead.get("place"):
                    coverage = await self.tools.check_coverage(lead["place"])
                    if coverage.status == "covered":
                        return await self.lead_covered(coverage.data.answer)
                self.state["awaiting"] = "lead_place"
                self.say(replies.LEAD_ASK_PLACE)
                return self.reply()
            self.state.pop("lead", None)
            return None  # "no", or another question: answered as any message
        if step == "lead_place":
            coverage = await self.tools.check_coverage(self.text)
            if coverage.status in ("covered", "no_coverage_data"):
                lead["place"] = self.text[:120]
                return await self.lead_covered(coverage.data.answer if coverage.data else "")
            if coverage.status == "not_covered":
                lead["place"] = self.text[:120]
                self.state["awaiting"] = "lead_interest"
                self.say(replies.NOT_COVERED)
                return self.reply()
            self.state["awaiting"] = "lead_place"
            self.say(replies.LEAD_ASK_PLACE_AGAIN)
            return self.reply()
        if step == "lead_plan":
            plan = await self.picked_plan()
            if plan is None:
                self.state["awaiting"] = "lead_plan"
                self.say(replies.LEAD_ASK_PLAN_AGAIN)
                return self.reply()
            lead["plan"] = plan
            self.state["awaiting"] = "lead_name"
            self.say(replies.LEAD_ASK_NAME)
            return self.reply()
        if step in ("lead_name", "lead_interest_name"):
            name = re.sub(r"^(meu nome e|meu nome é|me chamo|sou (o|a))\s+", "", self.text.strip(), flags=re.I)
            outcome = await self.tools.create_lead(name, lead.get("place", ""), lead.get("plan", ""))
            self.state.pop("lead", None)
            if outcome.status == "lead_created":
                self.say(replies.lead_created(name))
                return self.reply()  # the toolbox handed the chat to team comercial, with the note
            self.say(replies.interest_registered(name))
            return self.reply()
        # lead_interest: register the interest of a place the network does not reach?
        if "yes" in self.intents:
            self.state["awaiting"] = "lead_interest_name"
            self.say(replies.INTEREST_ASK_NAME)
            return self.reply()
        self.state.pop("lead", None)
        if "no" in self.intents:
            self.say(replies.INTEREST_DECLINED)
            return self.reply()
        return None

    async def picked_plan(self) -> str | None:
        plans = await self.tools.plans()
        said = nlu.normalize(self.text)
        for plan in plans:  # "o de 500", "500 mega", "1 giga"
            speed = nlu.normalize(plan.title).removeprefix("plano ")
            key = "giga" if "giga" in speed else speed.split()[0]
            if re.search(rf"\b{re.escape(key)}\b", said):
                return plan.title
        by_number = nlu.menu_choice(self.text, len(plans)) if plans else None  # "o primeiro", "2"
        if by_number:
            return plans[by_number - 1].title
        return self.text.strip()[:60] if words(self.text) else None

    async def preface(self, action: str) -> None:
        """The base's answer said before an action, when the customer asked the action as such a question."""
        category, asks = PREFACES.get(action, (None, None))
        if category is None or not asks.search(nlu.normalize(self.text)):
            return
        found = await self.tools.search_knowledge(self.text, category)
        if found.status == "answered":
            self.say(found.data[0].entry.answer)

    async def knowledge(self) -> BrainReply | None:
        """A question the base answers, said word for word; a question it does not: said so, and a person offered.
        None for words that ask nothing of the base (left to the menu and the not-understood answer)."""
        if not words(self.text):
            return None
        found = await self.tools.search_knowledge(self.text)
        if found.status == "answered":
            self.about(KNOWLEDGE)
            self.state.pop("misunderstood", None)
            entry = found.data[0].entry
            self.say(entry.answer)
            if entry.category in ("planos", "cobertura"):
                self.state.update(awaiting="lead_offer", lead={})
                self.say(replies.SALES_OFFER)
            return self.reply()
        if QUESTION.search(nlu.normalize(self.text)):
            self.about(KNOWLEDGE)
            self.state["awaiting"] = "person_offer"
            self.say(replies.KNOWLEDGE_UNKNOWN)
            return self.reply()
        return None

    async def person_offer(self) -> BrainReply | None:
        """The answer to "quer que eu chame um atendente?" after a question the base could not answer."""
        if "yes" in self.intents:
            self.about("human")
            self.say("Certo! Vou te transferir para um de nossos atendentes.")
            return await self.handoff("knowledge_no_match")
        if "no" in self.intents:
            self.about("no")
            self.say(replies.KNOWLEDGE_NO_PERSON)
            return self.reply()
        return None
