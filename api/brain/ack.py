"""Acknowledgement brain: greets, confirms receipt, and hands over when the customer asks for a person.

The placeholder until the rules and model brains (issue 4) take over; it keeps the engine testable end to end.
"""

from __future__ import annotations

import re
import unicodedata

from api.brain.base import BrainInput, BrainReply, Handoff

_HUMAN = re.compile(r"\b(atendente|humano|pessoa|falar com alguem|operador)\b")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class AckBrain:
    name = "ack"

    async def respond(self, given: BrainInput) -> BrainReply:
        said = _plain(" ".join(given.new_messages))
        if _HUMAN.search(said):
            return BrainReply(
                ["Certo! Vou te transferir para um de nossos atendentes."], handoff=Handoff("customer_request")
            )
        if given.first_contact:
            name = f", {given.contact_name.split()[0]}" if given.contact_name else ""
            wave = " 👋" if given.persona.emojis else ""
            return BrainReply([
                f"Olá{name}!{wave} Sou {given.persona.agent_name}, assistente virtual da {given.persona.company}. "
                "Recebi sua mensagem e já vou te ajudar."
            ])
        return BrainReply(["Recebido! Se preferir falar com uma pessoa, é só digitar *atendente*."])
