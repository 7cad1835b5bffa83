"""Rules brain: Portuguese intent rules and numbered menus driving the same tools as the model brain.

The default when a tenant has no model, and the fallback when the model fails, so a customer is never left
without an answer. Dialog state (what the bot is waiting for) lives in the toolbox state, saved per
conversation by the engine.
"""

from __future__ import annotations

import re

from api.brain import nlu, replies
from api.brain.nlu import troubleshooting
from api.brain.rules_knowledge import LEAD_STEPS, KnowledgeSteps
from api.brain.tools import Toolbox
from api.brain.turn import IDENTIFY, NOT_UNDERSTOOD, BrainInput, BrainReply

ACTIONS = ("second_copy", "connection_down", "trust_unlock", "open_ticket")
PROTOCOL = re.compile(r"\bproto?c+o?l+o?s?\b|\bprotocol\w*")  # "protocolo", "protoclo", "protocolos"
TEAM_FOR = {
    "second_copy": "financeiro",
    "trust_unlock": "financeiro",
    "cancel": "financeiro",
    "payment_notice": "financeiro",
    "billing_issue": "financeiro",
    "connection_down": "suporte",
    "open_ticket": "suporte",
    "sales": "comercial",
}
SGP_FAILURES = ("sgp_unavailable", "sgp_not_configured")


class RulesBrain:
    name = "rules"

    async def respond(self, given: BrainInput, tools: Toolbox) -> BrainReply:
        return await _Turn(given, tools).run()


class _Turn(KnowledgeSteps):
    def __init__(self, given: BrainInput, tools: Toolbox):
        self.given, self.tools, self.state = given, tools, tools.state
        self.text = " ".join(given.new_messages)
        self.intents = [str(getattr(i, "value", i)) for i in nlu.detect_intents(self.text)]
        self.out: list[str] = []
        self.intent: str | None = None  # what this turn acted on, for the analytics (first decision wins)
        self.done: set[str] = set()  # actions answered in this turn

    def about(self, intent: str) -> None:
        # The first request the turn acts on is its main one: queued actions answered after it do not replace it.
        self.intent = self.intent or intent

    def say(self, *texts: str) -> None:
        self.out.extend(texts)

    def reply(self) -> BrainReply:
        if self.given.first_contact and self.out:  # greet in the same message as the first answer
            self.out[0] = replies.greeting(self.given.persona, self.given.contact_name) + " " + self.out[0]
        # A path that decided nothing explicitly still reports what the customer said first.
        intent = self.intent or next(iter(self.intents), None)
        return BrainReply(self.out, handoff=self.tools.handoff, close=self.tools.close, intent=intent)

    async def handoff(self, reason: str, intent: str | None = None) -> BrainReply:
        # The team of what the customer asked for, else of what the bot was just doing for them.
        context = self.state.get("pending") or self.state.get("last_action") or ""
        await self.tools.transfer_to_human(TEAM_FOR.get(intent or "") or TEAM_FOR.get(context), reason)
        self.state.pop("pending", None)
        return self.reply()

    async def run(self) -> BrainReply:
        awaiting = self.state.pop("awaiting", None)
        if "billing_issue" in self.intents:  # whatever the bot was waiting for: "me cobraram 2x" is not option 2
            return await self.billing_issue()
        if awaiting in LEAD_STEPS and (done := await self.lead_step(awaiting)) is not None:
            return done
        if awaiting is None and self.state.get("identity"):
            awaiting = "identity_factor"  # asked by the model brain, answered while the rules brain stands in
        if awaiting != "identity_factor":
            self.state.pop("identity", None)  # the question was left unanswered: a new document asks again
        action = next((i for i in self.intents if i in ACTIONS), None)
        if awaiting == "menu" and action is None and not {"human", "cancel", "sales"} & set(self.intents):
            choice = nlu.menu_choice(self.text, len(replies.MENU_INTENTS))
            if choice:
                picked = replies.MENU_INTENTS[choice - 1]
                if picked == "human":
                    self.about("human")
                    self.say("Certo! Vou te transferir para um de nossos atendentes.")
                    return await self.handoff("customer_request")
                action = picked
        later = [i for i in dict.fromkeys(self.intents) if i in ACTIONS and i != action]
        if action and later:
            self.state["queued_actions"] = later  # "a 2 via e minha internet caiu": both get answered
        if (done := await self.troubleshooting(awaiting, action)) is not None:
            return done
        if awaiting == "ticket_confirm":
            if "yes" in self.intents:
                return await self.act("open_ticket")
            if "no" in self.intents:
                self.about("no")
                self.state.pop("problem", None)
                self.say(replies.TICKET_DECLINED)
                return self.reply()
        if awaiting == "person_offer" and not action and (done := await self.person_offer()) is not None:
            return done
        if awaiting == "identity_factor" and (done := await self.identity_answer(action)) is not None:
            return done
        if awaiting == "contract" and (done := await self.contract_answer(action)) is not None:
            return done
        if done := await self.documents(action, awaiting):
            return done
        if (wanted := self.person_request()) == "sales" and "human" not in self.intents:
            return await self.sales()  # prices, plans, coverage: the knowledge base; a wish to sign up: a lead
        if wanted:
            return await self.to_a_person(wanted)
        if action:
            await self.preface(action)
            return await self.act(action)
        if self.state.get("ticket_protocol") and PROTOCOL.search(nlu.normalize(self.text)):
            self.about("open_ticket")  # "qual o protocolo mesmo?": the ticket of this conversation, repeated
            self.say(replies.protocol_again(self.state["ticket_protocol"]))
            return self.reply()
        if "payment_notice" in self.intents:  # after any action: "paguei e a internet caiu" is about the internet
            return self.payment_notice()
        if "thanks_bye" in self.intents:
            self.about("thanks_bye")
            self.say(replies.BYE)
            await self.tools.close_conversation()
            return self.reply()
        if known := await self.knowledge():  # "onde pago?", "horário de atendimento", "vou mudar de endereço"
            return known
        if "greeting" in self.intents or self.given.first_contact:
            # a first message with nothing to act on: what was recognized in it, if anything
            self.about("greeting" if "greeting" in self.intents else next(iter(self.intents), NOT_UNDERSTOOD))
            self.state["awaiting"] = "menu"
            self.say(replies.menu(self.given.persona))
            return self.reply()
        return await self.not_understood()

    async def contract_answer(self, action: str | None) -> BrainReply | None:
        binding = self.tools.binding
        choice = nlu.contract_choice(self.text, [(cid, label) for cid, label, _ in binding.contracts])
        if choice is None:
            if action or nlu.find_documents(self.text) or self.intents:
                return None  # the customer moved on; handle the new request
            self.about(IDENTIFY)
            self.state["awaiting"] = "contract"
            self.say("Não identifiquei o contrato. " + replies.choose_contract(binding.contracts))
            return self.reply()
        await self.tools.choose_contract(choice)
        self.about(self.state.get("pending") or IDENTIFY)
        pending = self.state.pop("pending", None)
        if pending:
            return await self.act(pending)
        self.state["awaiting"] = "menu"
        self.say("Contrato selecionado! ✅", replies.menu(self.given.persona))
        return self.reply()

    def person_request(self) -> str | None:
        # the topic before "human": "falar com um atendente pra cancelar" goes to the team that cancels
        return next((intent for intent in ("cancel", "sales", "human") if intent in self.intents), None)

    async def to_a_person(self, intent: str) -> BrainReply:
        self.about(intent)
        self.say("Certo! Vou te transferir para um de nossos atendentes.")
        return await self.handoff("customer_request" if intent == "human" else intent, intent)

    def split_documents(self) -> list[nlu.Document]:
        """A document typed over several messages ("529.982", then "247-25"), reaching into this burst."""
        said = [text for kind, text in self.given.history if kind == "customer"][-2:]
        return nlu.find_documents_across(said + list(self.given.new_messages), newest=len(self.given.new_messages))

    async def documents(self, action: str | None, awaiting: str | None = None) -> BrainReply | None:
        found = nlu.find_documents(self.text) or self.split_documents()
        if not found:
            if awaiting not in ("menu", "ticket_confirm") and nlu.document_fragment(self.text):
                # the beginning of a CPF/CNPJ: the rest is coming (or should)
                if action:
                    self.state["pending"] = action
                self.about(self.state.get("pending") or IDENTIFY)
                self.state["awaiting"] = "document"
                self.say(replies.DOCUMENT_INCOMPLETE)
                return self.reply()
            if awaiting == "document" and not self.intents and re.search(r"\d{5}", re.sub(r"\D", "", self.text)):
                # asked for the CPF, sent another number (a phone, a protocol): asked again, the request kept
                self.about(self.state.get("pending") or IDENTIFY)
                self.state["awaiting"] = "document"
                self.say(replies.NOT_A_DOCUMENT)
                return self.reply()
            return None
        if action:
            self.state["pending"] = action
        notice = "payment_notice" in self.intents  # "já paguei, meu CPF é ...": what is missing is the receipt
        wanted = self.person_request()  # "quero cancelar, CPF ...": identified first, for the agent's sake
        # the request the document is for, if any
        self.about(self.state.get("pending") or wanted or ("payment_notice" if notice else IDENTIFY))
        valid = [doc for doc in found if doc.valid]
        if not valid:
            self.state["awaiting"] = "document"
            self.say(replies.INVALID_DOCUMENT)
            return self.reply()
        outcome = await self.tools.identify_customer(valid[0].digits)
        if outcome.status in SGP_FAILURES:
            self.say(replies.SGP_DOWN)
            return self.reply()
        if outcome.status == "verification_required":  # not this number's (or nobody's): the second factor
            self.state["awaiting"] = "identity_factor"
            self.state["after_identity"] = {"wanted": wanted, "notice": notice}
            self.say(replies.ask_factor(outcome.data))
            return self.reply()
        if outcome.status == "locked":
            self.say(replies.FACTOR_HANDOFF)
            return await self.handoff("identity_unverified")
        if outcome.status == "not_found":
            self.state["awaiting"] = "document"
            self.say(replies.NOT_FOUND)
            return self.reply()
        if outcome.status == "phone_mismatch":
            self.say(replies.PHONE_MISMATCH)
            return await self.handoff("identity_unverified")
        return await self.identified(outcome, wanted, notice)

    async def identified(self, outcome, wanted: str | None, notice: bool) -> BrainReply:
        """The customer is bound (by their number, or by the second factor): what they asked for comes next."""
        if outcome.status == "several_contracts":
            self.state["awaiting"] = "contract"
            self.say(replies.found(outcome.data.customer_name), replies.choose_contract(outcome.data.contracts))
            return self.reply()
        self.say(replies.found(outcome.data.customer_name))
        pending = self.state.pop("pending", None)
        if pending:
            return await self.act(pending)
        if wanted:
            return await self.to_a_person(wanted)
        if notice:
            return self.payment_notice()
        self.state["awaiting"] = "menu"
        self.say(replies.menu(self.given.persona))
        return self.reply()

    async def identity_answer(self, action: str | None) -> BrainReply | None:
        """The answer to the identity question (date of birth, CEP); None when the customer moved on (a new
        document, a person, a goodbye)."""
        factor = (self.state.get("identity") or {}).get("factor")
        if not factor or nlu.find_documents(self.text) or self.person_request():
            return None
        read = nlu.find_date if factor == "birth_date" else nlu.find_postal_code
        if read(self.text) is None:
            if not action and {"thanks_bye", "no"} & set(self.intents):
                return None
            if action:
                self.state["pending"] = action
            self.about(self.state.get("pending") or IDENTIFY)
            unread = int(self.state.get("factor_unread", 0)) + 1
            if unread >= 3:  # three messages that answer nothing: a person asks
                self.state.pop("factor_unread", None)
                self.state.pop("identity", None)
                self.say(replies.FACTOR_HANDOFF)
                return await self.handoff("identity_unverified")
            self.state.update(factor_unread=unread, awaiting="identity_factor")
            self.say(replies.ASK_FACTOR_AGAIN[factor])
            return self.reply()
        self.state.pop("factor_unread", None)
        if action and self.state.get("pending") not in (None, action):  # "12/04/1985, e manda o boleto"
            self.state["queued_actions"] = [action, *self.state.get("queued_actions", [])]
        elif action:
            self.state["pending"] = action
        self.about(self.state.get("pending") or IDENTIFY)
        outcome = await self.tools.verify_identity(self.text)
        if outcome.status in SGP_FAILURES:
            self.state["awaiting"] = "identity_factor"  # not checked: the same answer may come again
            self.say(replies.SGP_DOWN)
            return self.reply()
        if outcome.status == "mismatch":
            self.state["awaiting"] = "identity_factor"
            self.say(replies.factor_mismatch(factor, outcome.data["attempts_left"]))
            return self.reply()
        if outcome.status in ("found", "several_contracts"):
            after = self.state.pop("after_identity", None) or {}
            return await self.identified(outcome, after.get("wanted"), bool(after.get("notice")))
        if outcome.status == "answer_not_typed":
            self.state["awaiting"] = "identity_factor"
            self.say(replies.ASK_FACTOR_AGAIN[factor])
            return self.reply()
        # too_many_attempts, locked, factor_unavailable: a person confirms who this is
        self.state.pop("after_identity", None)
        self.say(replies.FACTOR_HANDOFF)
        return await self.handoff("identity_unverified")

    async def act(self, action: str) -> BrainReply:
        self.about(action)
        binding = self.tools.binding
        if binding.customer_id is None:
            self.state.update(pending=action, awaiting="document")
            self.say(replies.ask_document(action))
            return self.reply()
        if binding.contract_id is None:
            self.state.update(pending=action, awaiting="contract")
            self.say(replies.choose_contract(binding.contracts))
            return self.reply()
        self.state.pop("misunderstood", None)
        self.state["last_action"] = action
        suspended = self.tools.contract_flag() == "0"
        if action in self.done:
            reply = self.reply()  # already answered in this turn ("a net caiu, manda o boleto" on a suspended one)
        elif suspended and action in ("connection_down", "open_ticket"):
            reply = await self.suspended_down()  # blocked for debt: the invoice, never a technician
        else:
            reply = await {
                "second_copy": self.second_copy,
                "connection_down": self.connection,
                "trust_unlock": self.unlock,
                "open_ticket": self.ticket,
            }[action]()
        self.done.add(action)
        queued = self.state.pop("queued_actions", [])
        # the next request of the same message, unless the bot just asked something it needs first (an offer of
        # the menu's options does not stop it)
        if queued and self.state.get("awaiting") in (None, "menu") and not self.tools.handoff:
            self.state["queued_actions"] = queued[1:]
            return await self.act(queued[0])
        if queued:
            self.state["queued_actions"] = queued  # answered after the question the bot just asked
        return reply

    async def second_copy(self) -> BrainReply:
        outcome = await self.tools.second_copy()
        if outcome.status in SGP_FAILURES:
            self.say(replies.SGP_DOWN)
        elif outcome.status == "nothing_open":
            self.say(replies.NOTHING_OPEN)
        else:
            self.say(*replies.invoice_messages(outcome.data))
        return self.reply()

    async def connection(self) -> BrainReply:
        flags = {cid: flag for cid, _, flag in self.tools.binding.contracts}
        flag = flags.get(self.tools.binding.contract_id, "1")
        if flag == "x":  # no service on it: nothing to test or repair, a person talks about reactivating
            self.say(replies.CONTRACT_ENDED)
            return await self.handoff("contract_cancelled", "sales")
        if flag == "0":
            return await self.suspended_down()
        if len(self.text.strip()) > 3:  # the customer's own words, for the ticket (not "2" or "sim")
            self.state["problem"] = self.text
        outcome = await self.tools.connection_status()
        if outcome.status in SGP_FAILURES:
            self.say(replies.SGP_DOWN)
            return self.reply()
        if outcome.status == "maintenance":  # the provider's work on the network: no fault, no ticket
            self.state.pop("problem", None)
            self.say(replies.maintenance(outcome.data))
            return self.reply()
        if outcome.status == "online":
            said = " ".join((self.text, self.state.get("problem") or ""))
            if troubleshooting.slow(said):  # online but slow: the basic steps first, unless already done
                if troubleshooting.already_tried(self.text):
                    return await self.ticket()
                self.state["awaiting"] = "slow_steps"
                self.say(replies.SLOW_STEPS)
                return self.reply()
            self.state["awaiting"] = "ticket_confirm"
            self.say(replies.ASK_TICKET)
            return self.reply()
        return await self.ticket(offline=True)

    async def troubleshooting(self, awaiting: str | None, action: str | None) -> BrainReply | None:
        """The answer to the steps for a slow connection, or "reiniciei o roteador" in a connection's
        conversation (a re-check after a short wait); None when the words are about something else."""
        if awaiting == "slow_steps":
            if (troubleshooting.already_tried(self.text) or troubleshooting.not_better(self.text)
                    or troubleshooting.wants_ticket(self.text) or "no" in self.intents):
                return await self.act("open_ticket")
            if troubleshooting.better(self.text) or "yes" in self.intents:
                self.about("yes")
                self.state.pop("problem", None)
                self.say(replies.SLOW_BETTER)
                return self.reply()
            return None
        if awaiting == "ticket_confirm" and troubleshooting.restarted(self.text):
            return await self.act("open_ticket")  # online, restarted as suggested, and still writing: the ticket
        context = self.state.get("ticket_protocol") or self.state.get("last_action") in (
            "connection_down", "open_ticket", "trust_unlock")
        if not (troubleshooting.restarted(self.text) and context and self.tools.binding.contract_id):
            return None
        if action not in (None, "connection_down", "open_ticket"):
            return None  # "reiniciei, e manda o boleto": the other request is served as usual
        self.about("connection_down")
        outcome = await self.tools.connection_recheck("restart")
        if outcome.status == "suspended":
            return await self.act("connection_down")  # blocked for debt: the invoice, not a re-check
        self.say(replies.RECHECK_SCHEDULED)
        return self.reply()

    async def ticket(self, offline: bool = False) -> BrainReply:
        problem = self.state.pop("problem", None) or (self.text if len(self.text.strip()) > 3 else "")
        # offline: no connection, whatever the words; else the words tell the kind (slow, dropping, ...)
        outcome = await self.tools.open_ticket(problem or "Cliente relatou problema de conexão",
                                               "sem_conexao" if offline else "")
        if outcome.status in SGP_FAILURES:
            self.say(replies.SGP_DOWN)
        elif outcome.status == "maintenance":
            self.say(replies.maintenance(outcome.data))
        elif outcome.status == "ticket_type_unknown":  # misconfigured in the SGP settings: a person opens it
            self.say(replies.TICKET_NOT_OPENED)
            return await self.handoff("ticket_type_unknown", "open_ticket")
        else:
            self.say(replies.ticket_opened(outcome.data.protocol, offline))
        return self.reply()

    async def suspended_down(self) -> BrainReply:
        """No internet on a contract suspended for debt: the suspension and the open invoice (PIX, boleto) first,
        the trust unlock offered, and no connection test or technical ticket."""
        self.state.pop("problem", None)
        self.state["awaiting"] = "menu"
        contract = self.tools.binding.contract_id
        if self.state.get("suspension_told") == contract:  # the invoice went out already: not again and again
            self.say(replies.SUSPENDED_AGAIN)
            return self.reply()
        outcome = await self.tools.second_copy()
        self.done.add("second_copy")
        if outcome.status == "sent":
            self.state["suspension_told"] = contract
        if outcome.status in SGP_FAILURES:
            self.say(replies.SUSPENDED)
        elif outcome.status == "nothing_open":
            self.say(replies.SUSPENDED_BLOCKED, replies.SUSPENDED_NOTHING_OPEN)
        else:
            self.say(replies.SUSPENDED_DOWN, *replies.invoice_messages(outcome.data), replies.SUSPENDED_UNLOCK_OFFER)
        return self.reply()

    async def unlock(self) -> BrainReply:
        outcome = await self.tools.trust_unlock()
        if outcome.status in SGP_FAILURES:
            self.say(replies.SGP_DOWN)
        elif outcome.status == "not_blocked":
            if outcome.data == "x":  # cancelled: nothing to unlock, nor to reconnect without a new contract
                self.say(replies.CONTRACT_ENDED)
                return await self.handoff("contract_cancelled", "sales")
            self.state["awaiting"] = "menu"  # it offers 2 (the connection) and 4 (a person)
            self.say(replies.NOT_BLOCKED)
        else:
            self.say(replies.unlock(outcome.data))
            if not outcome.data.granted:
                self.state["awaiting"] = "menu"  # the refusal offers "responda 1" (segunda via)
        return self.reply()

    def payment_notice(self) -> BrainReply:
        # The receipt goes to the financial team when it arrives (api/media/incoming.py); a person asked for
        # meanwhile is from that team too.
        self.about("payment_notice")
        self.state.pop("misunderstood", None)
        self.state["last_action"] = "payment_notice"
        self.say(replies.PAYMENT_NOTICE)
        return self.reply()

    async def billing_issue(self) -> BrainReply:
        # A disputed charge or a debt to negotiate needs the financial team: the bot can only resend the invoice.
        self.about("billing_issue")
        self.say(replies.BILLING_ISSUE)
        return await self.handoff("billing_issue", "billing_issue")

    async def not_understood(self) -> BrainReply:
        self.about(NOT_UNDERSTOOD)
        count = int(self.state.get("misunderstood", 0)) + 1
        self.state["misunderstood"] = count
        if count >= 2:
            self.state.pop("misunderstood", None)
            self.say(replies.NOT_UNDERSTOOD + " " + replies.HANDOFF_AFTER_CONFUSION)
            return await self.handoff("not_understood")
        self.state["awaiting"] = "menu"
        self.say(replies.NOT_UNDERSTOOD, replies.menu(self.given.persona))
        return self.reply()
