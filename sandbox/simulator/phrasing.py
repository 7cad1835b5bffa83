"""How Brazilian customers really write on WhatsApp: the simulator picks from these at random."""

from __future__ import annotations

import random

OPENERS = ["oi", "Oi, boa tarde", "bom dia", "ola", "boa noite!", "oii", "Olá, tudo bem?", "e ai"]
INVOICE = [
    "quero a segunda via do boleto", "preciso da 2 via", "me manda a fatura pfv", "segunda via por favor",
    "qual o pix pra pagar a internet?", "preciso pagar minha conta, manda o boleto", "2a via da fatura",
]
OUTAGE = [
    "minha internet caiu", "to sem internet desde ontem", "a net ta muito lenta", "internet nao conecta",
    "o roteador ta com a luz vermelha piscando", "sem sinal aqui em casa", "a internet ta caindo toda hora",
]
UNLOCK = [
    "preciso de um desbloqueio, pago amanha", "cortaram minha internet, consegue liberar?",
    "quero a liberação por confiança", "ta bloqueado, da pra religar? pago sexta",
]
HUMAN = ["quero falar com um atendente", "posso falar com uma pessoa?", "atendente por favor", "quero falar com alguem"]
BILLING = [
    "me cobraram duas vezes esse mês", "o boleto veio com valor errado", "tem como parcelar minha dívida?",
    "não reconheço essa cobrança", "quero negociar as faturas atrasadas", "cobraram a mais na minha fatura",
]
# Questions the demo providers' knowledge bases answer (niochat/knowledge_demo.py), and a few they do not.
KNOWLEDGE = [
    "qual o valor do plano de 500 mega?", "quanto custa o plano de 300 mega", "qual o horario de atendimento?",
    "quanto tempo demora a instalação?", "vocês aceitam cartão?", "tem fidelidade?", "como troco a senha do wifi?",
    "qual o endereço da loja?", "vcs tem ip fixo?", "a internet tem franquia?", "quais os planos de vcs?",
    "qnto custa a taxa de instalaçao", "vocês tem roteador mesh?", "vocês vendem celular?",
]
SIGNUP = ["quero contratar internet", "queria assinar a fibra de vocês", "quero contratar um plano",
          "gostaria de contratar a internet"]
# Neighbourhoods of both demo cities: at one provider the other's are not covered (the interest is registered)
PLACES = ["Vila Mariana", "moro em Moema", "bairro Pinheiros", "Tatuapé", "Boa Viagem", "moro no Espinheiro",
          "bairro Casa Forte", "Parelheiros", "Ibura"]
PLANS = ["o de 500 mega", "300 mega", "quero o de 700", "1 giga", "o mais barato"]
RECEIPT = [
    "segue o comprovante do pix", "segue comprovante", "paguei, ta ai o comprovante", "comprovante do pagamento",
    "ja paguei a fatura, segue o comprovante", "pix feito, segue o comprovante pra dar baixa",
    "ta aqui o comprovante da mensalidade", "boa tarde, paguei o boleto, segue comprovante",
]
RECEIPT_FILES = ["comprovante.pdf", "Comprovante_Pix.pdf", "comprovante-pagamento.pdf", "recibo_pix.pdf",
                 "Comprovante de pagamento.pdf"]
THANKS = ["obrigado!", "valeu", "obrigada, era só isso", "blz, obrigado", "vlw 👍", "ok obrigado"]
YES = ["sim", "pode abrir", "sim por favor", "isso"]
RATINGS = {
    5: ["5", "nota 10", "🤩", "excelente atendimento!", "foi ótimo", "muito bom, resolveu rapidinho"],
    4: ["4", "🙂", "bom", "gostei", "👍"],
    3: ["3", "mais ou menos", "😐", "razoável"],
    2: ["2", "demorou demais", "😕", "não resolveu muito"],
    1: ["1", "péssimo", "😡", "horrível, demorou demais"],
}
AGENT_REPLIES = [
    "Oi! Aqui é a {agent} do atendimento. Já estou vendo seu caso, um instante.",
    "Olá, sou {agent}. Pode me contar com mais detalhes o que aconteceu?",
]
AGENT_CLOSINGS = ["Pronto, resolvido! Qualquer coisa é só chamar.", "Tudo certo por aqui. Obrigada pelo contato!"]


def document_as_typed(document: str, rng: random.Random) -> str:
    """Customers send the CPF with or without punctuation, sometimes with words around it."""
    digits = "".join(ch for ch in document if ch.isdigit())
    style = rng.choice(["plain", "formatted", "words"])
    if style == "plain":
        return digits
    formatted = document if not document.isdigit() else digits
    return formatted if style == "formatted" else f"meu cpf é {formatted}"


MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")


def date_as_typed(iso: str, rng: random.Random) -> str:
    """A date of birth the ways people type it: 12/04/1985, 12/4/85, 12041985, 12 de abril de 1985..."""
    year, month, day = (int(part) for part in iso.split("-"))
    return rng.choice([f"{day:02d}/{month:02d}/{year}", f"{day}/{month}/{year % 100:02d}",
                       f"{day:02d}{month:02d}{year}", f"{day} de {MONTHS[month - 1]} de {year}",
                       f"{day:02d}-{month:02d}-{year}"])


def rating_text(rng: random.Random) -> tuple[int, str]:
    rating = rng.choices([5, 4, 3, 2, 1], weights=[45, 25, 12, 10, 8])[0]
    return rating, rng.choice(RATINGS[rating])
