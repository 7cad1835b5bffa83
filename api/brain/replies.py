"""What the bot says, in Portuguese: every customer-facing text of the rules brain in one place."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from api.brain.turn import Persona
from api.sgp.models import ConnectionStatus, Invoice, UnlockResult

MENU_OPTIONS = (
    ("second_copy", "Segunda via da fatura (PIX e boleto)"),
    ("connection_down", "Internet sem conexão ou lenta"),
    ("trust_unlock", "Desbloqueio por confiança"),
    ("human", "Falar com um atendente"),
)
MENU_INTENTS = tuple(intent for intent, _ in MENU_OPTIONS)


def menu(persona: Persona) -> str:
    n = ("1️⃣", "2️⃣", "3️⃣", "4️⃣") if persona.emojis else ("1)", "2)", "3)", "4)")
    lines = "\n".join(f"{n[index]} {label}" for index, (_, label) in enumerate(MENU_OPTIONS))
    return f"Como posso te ajudar? Responda com o número:\n{lines}"


def menu_choice(choice_id: str | None) -> str | None:
    """What a picked list row or button of our menu means, by its id (the intent, or the option's number): the
    option's label, which every brain reads as the request. None for ids that are not our menu's."""
    wanted = (choice_id or "").strip().lower()
    for index, (intent, label) in enumerate(MENU_OPTIONS, start=1):
        if wanted in (intent, str(index), f"menu:{intent}"):
            return label
    return None


def greeting(persona: Persona, contact_name: str | None) -> str:
    name = f", {contact_name.split()[0].title()}" if contact_name and contact_name.split() else ""
    wave = " 👋" if persona.emojis else ""
    return f"Olá{name}!{wave} Sou {persona.agent_name}, assistente virtual da {persona.company}."


def money(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


ASK_DOCUMENT = "{purpose}, preciso do CPF ou CNPJ do titular do contrato. Pode me enviar? (só os números já servem)"
# what the document is for, said back: the customer sees the bot understood the request
DOCUMENT_FOR = {"second_copy": "Para te enviar a fatura", "connection_down": "Para verificar sua conexão",
                "open_ticket": "Para abrir o chamado", "trust_unlock": "Para fazer o desbloqueio"}
INVALID_DOCUMENT = "Hmm, esse CPF/CNPJ parece inválido. 🤔 Confere os números e me envia de novo, por favor?"
NOT_FOUND = (
    "Não encontrei nenhum contrato com esse CPF/CNPJ. Confere se é o documento do titular? "
    "Se preferir, digite *atendente* para falar com uma pessoa."
)
PHONE_MISMATCH = (
    "Por segurança, só envio dados do contrato para o WhatsApp cadastrado no contrato. "
    "Vou te passar para um atendente confirmar seus dados."
)
SGP_DOWN = (
    "Nosso sistema está instável agora e não consegui consultar seus dados. 😕 "
    "Tente de novo em alguns minutos, ou digite *atendente* que te passo para uma pessoa."
)
NOT_UNDERSTOOD = "Desculpe, não entendi. 😅"
HANDOFF_AFTER_CONFUSION = "Vou chamar um atendente para te ajudar melhor."
BYE = "Por nada! Se precisar, é só chamar. Até mais! 👋"
NOTHING_OPEN = "Boa notícia: não há faturas em aberto no seu contrato. ✅"
PAYMENT_NOTICE = (
    "Obrigado por avisar! 🙏 Pode me enviar o comprovante aqui mesmo (foto ou PDF) que eu encaminho para o nosso "
    "financeiro. Pagamentos por PIX costumam ser confirmados na hora; por boleto, em até 3 dias úteis."
)
BILLING_ISSUE = (
    "Entendi, é um assunto para o nosso financeiro, que pode conferir a cobrança e negociar com você. "
    "Vou te transferir para um atendente."
)
ASK_TICKET = (
    "Verifiquei aqui e sua conexão aparece *online* ✅. Tente reiniciar o roteador (tire da tomada por "
    "30 segundos e ligue de novo). Se continuar com problema, quer que eu abra um chamado técnico? (sim/não)"
)
TICKET_DECLINED = "Combinado! Se o problema voltar, é só me chamar."
CONTRACT_ENDED = (
    "Esse contrato está *cancelado*, por isso não há conexão ativa nele. "
    "Vou te passar para nossa equipe comercial, que pode reativar ou fazer um novo plano para você."
)
SUSPENDED = (
    "Seu contrato está *suspenso* por pendência financeira, por isso a conexão está bloqueada. "
    "Posso te enviar a segunda via (responda *1*) ou fazer um desbloqueio por confiança (responda *3*)."
)
# the internet "caiu" on a contract blocked for debt: the debt first, no technician
SUSPENDED_BLOCKED = (
    "Verifiquei aqui: seu contrato está *suspenso* por pendência financeira, por isso a internet está bloqueada. "
    "Não é defeito na conexão, então não precisa de chamado técnico."
)
SUSPENDED_DOWN = SUSPENDED_BLOCKED + " Para liberar, é só pagar a fatura em aberto:"
SUSPENDED_UNLOCK_OFFER = (
    "Assim que o pagamento for confirmado a conexão volta. Se precisar de uns dias para pagar, posso fazer um "
    "desbloqueio por confiança agora (responda *3*)."
)
SUSPENDED_AGAIN = (
    SUSPENDED_BLOCKED + " A fatura em aberto está nas mensagens acima: depois do pagamento a conexão volta. "
    "Se precisar, faço um desbloqueio por confiança (responda *3*) ou te passo para um atendente (digite "
    "*atendente*)."
)
SUSPENDED_NOTHING_OPEN = (
    "Não encontrei fatura em aberto para gerar o pagamento agora. Digite *atendente* que nosso financeiro "
    "confere com você, ou responda *3* para um desbloqueio por confiança."
)
NOT_BLOCKED = (
    "Verifiquei aqui: seu contrato *não está bloqueado*, o acesso está liberado, então não é preciso desbloqueio. 🙂 "
    "Se a internet não estiver funcionando, posso verificar sua conexão (responda *2*) ou te passar para um "
    "atendente (responda *4*)."
)

# --- identity: a CPF/CNPJ from a WhatsApp number the SGP does not have ---------------------------------------
# Asked and answered the same whether the document is a customer's or not: nothing tells a stranger which.
FACTOR_NAMES = {"birth_date": "a data de nascimento", "postal_code": "o CEP"}
ASK_FACTOR = {
    "birth_date": ("Por segurança, antes de passar qualquer dado do contrato preciso confirmar que você é o "
                   "titular. 🔒 Qual a *data de nascimento* do titular do CPF? (por exemplo: 05/08/1990)"),
    "postal_code": ("Por segurança, antes de passar qualquer dado do contrato preciso confirmar que você é da "
                    "empresa titular. 🔒 Qual o *CEP do endereço onde a internet está instalada*? "
                    "(os 8 números, por exemplo: 12345-678)"),
}
ASK_FACTOR_AGAIN = {
    "birth_date": "Não consegui entender a data. 🤔 Me envie a data de nascimento do titular, por exemplo: "
                  "05/08/1990.",
    "postal_code": "Não consegui entender o CEP. 🤔 Me envie os 8 números do CEP da instalação, por exemplo: "
                   "12345-678.",
}
FACTOR_HANDOFF = (
    "Não consegui confirmar a titularidade por aqui. Por segurança, vou te passar para um atendente, que confirma "
    "seus dados com você."
)
NOT_A_DOCUMENT = (
    "Esse número não parece um CPF ou CNPJ. 🤔 Me envie o CPF (11 dígitos) ou o CNPJ (14 dígitos) do titular do "
    "contrato, por favor."
)
DOCUMENT_INCOMPLETE = (
    "Acho que faltaram números. 🙂 O CPF tem 11 dígitos e o CNPJ, 14: pode me mandar o restante (ou o número "
    "completo)?"
)


def ask_factor(factor: str) -> str:
    return ASK_FACTOR.get(factor, ASK_FACTOR["birth_date"])


def factor_mismatch(factor: str, attempts_left: int) -> str:
    left = f"resta {attempts_left} tentativa" if attempts_left == 1 else f"restam {attempts_left} tentativas"
    return (
        f"Não consegui confirmar a titularidade com esses dados. 😕 Confira o CPF/CNPJ e {FACTOR_NAMES.get(factor)} "
        f"do titular e me envie de novo ({left}). Se preferir, digite *atendente*."
    )


def ask_document(action: str) -> str:
    return ASK_DOCUMENT.format(purpose=DOCUMENT_FOR.get(action, "Para isso"))


def found(name: str) -> str:
    return f"Encontrei seu cadastro, {name.split()[0].title()}! ✅"


def choose_contract(contracts: list[list[str]]) -> str:
    lines = "\n".join(f"{index}) {label} (contrato {cid})" for index, (cid, label, _) in enumerate(contracts, 1))
    return f"Você tem mais de um contrato. Qual deles?\n{lines}"


def invoice_header(invoice: Invoice) -> str:
    status = " (vencida)" if invoice.overdue else ""
    return (
        f"Aqui está sua fatura de *{money(invoice.amount)}* com vencimento em {day(invoice.due_date)}{status}."
        + (f"\nBoleto: {invoice.link}" if invoice.link else "")
    )


def invoices_summary(invoices: list[Invoice]) -> str:
    """Every open invoice with its amount, due date and boleto; the codes that follow are the oldest's."""
    lines = []
    for invoice in invoices:
        due = day(invoice.due_date)
        when = f"venceu em {due} (vencida)" if invoice.overdue else f"vence em {due}"
        lines.append(f"• *{money(invoice.amount)}*, {when}" + (f"\n  Boleto: {invoice.link}" if invoice.link else ""))
    oldest = invoices[0]
    return (
        f"Você tem *{len(invoices)} faturas em aberto*:\n" + "\n".join(lines)
        + f"\nTotal: *{money(sum((invoice.amount for invoice in invoices), Decimal('0')))}*."
        + f"\nSeguem o PIX e a linha digitável da mais antiga ({day(oldest.due_date)}); "
        "as outras você paga pelo boleto de cada uma, no link acima."
    )


def pix(code: str) -> str:
    return f"PIX copia e cola:\n{code}"


def digitable_line(line: str) -> str:
    return f"Linha digitável do boleto:\n{line}"


def ticket_opened(protocol: str, offline: bool) -> str:
    reason = "Sua conexão aparece *offline* aqui. " if offline else ""
    return (
        f"{reason}Abri um chamado técnico para você, protocolo *{protocol}*. "
        "Nossa equipe vai acompanhar e, se precisar de visita, entramos em contato."
    )


TICKET_NOT_OPENED = (
    "Não consegui registrar o chamado técnico automaticamente agora. 😕 "
    "Vou te passar para nossa equipe técnica, que abre o chamado e acompanha com você."
)


def maintenance(status: ConnectionStatus) -> str:
    """A contract under the provider's maintenance: what the SGP says about it, the forecast, and no ticket."""
    notice = f'\nAviso da nossa equipe: "{status.detail}"' if status.detail else ""
    forecast = (f"\nPrevisão de normalização: {status.forecast}."
                if status.forecast and status.forecast not in (status.detail or "") else "")
    protocol = f"\nSeu contato ficou registrado no protocolo *{status.protocol}*." if status.protocol else ""
    return (
        "Verifiquei aqui: a rede que atende seu endereço está em *manutenção* 🛠️, por isso a conexão pode "
        f"ficar fora durante o serviço.{notice}{forecast}{protocol}\n"
        "Não é preciso abrir chamado: assim que a manutenção terminar a conexão volta. Se depois disso continuar "
        "sem internet, reinicie o roteador e me chame por aqui."
    )


def protocol_again(protocol: str) -> str:
    return f"O protocolo do seu chamado é *{protocol}*. Nossa equipe técnica já está acompanhando."


def unlock(result: UnlockResult) -> str:
    if result.granted:
        days = (f" por *{result.days} dia{'s' if result.days != 1 else ''}*" if result.days else "")
        until = f", até *{day(result.until)}*" if result.until else ""
        deadline = f"até {day(result.until)}" if result.until else "nesse prazo"
        return (
            f"Pronto! Liberei sua internet por confiança{days}{until}. ✅ Em alguns minutos a conexão volta: "
            f"vou verificar daqui a pouco e te aviso aqui. Lembre de pagar a fatura {deadline} para o acesso não ser "
            "bloqueado de novo."
        )
    reason = f" ({result.reason})" if result.reason else ""
    return (
        f"Não consegui fazer o desbloqueio por confiança{reason}. "
        "Posso te enviar a segunda via (responda *1*) ou te passar para o financeiro (digite *atendente*)."
    )


def invoice_messages(invoices: list[Invoice]) -> list[str]:
    """One open invoice: its summary; several: each with amount, due date and boleto. Then the PIX code and the
    boleto line of the oldest alone, easy to copy (the one to pay first)."""
    ordered = sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.id))
    first = ordered[0]
    texts = [invoice_header(first) if len(ordered) == 1 else invoices_summary(ordered)]
    if first.pix_code:
        texts.append(pix(first.pix_code))
    if first.digitable_line:
        texts.append(digitable_line(first.digitable_line))
    return texts


# --- media: invoices as images and files, customers' voice notes, photos and documents -------------------------

PIX_QR_CAPTION = "QR Code do PIX: no app do seu banco, escolha pagar com PIX e aponte a câmera para o código."
PIX_QR_FALLBACK = "Não consegui enviar a imagem do QR Code agora. Use o código PIX copia e cola acima. 🙂"
BOLETO_CAPTION = "Boleto da fatura em PDF."


def boleto_link(link: str) -> str:
    return f"Boleto em PDF: {link}"


AUDIO_NO_MODEL = (
    "Recebi seu áudio, mas por aqui ainda não consigo ouvir mensagens de voz. 🙏 "
    "Pode escrever o que você precisa, por favor?"
)
AUDIO_NOT_UNDERSTOOD = "Não consegui entender seu áudio. 😕 Pode escrever o que você precisa, por favor?"
AUDIO_TOO_LARGE = "Esse áudio ficou grande demais para eu ouvir. Pode mandar um mais curto ou escrever, por favor?"


def audio_too_long(max_seconds: int) -> str:
    limit = f"{max_seconds // 60} minuto(s)" if max_seconds >= 60 else f"{max_seconds} segundos"
    return f"Seu áudio passou do limite que consigo ouvir (até {limit}). Pode mandar um mais curto ou escrever?"


RECEIPT_RECEIVED = "Recebi seu comprovante! ✅ Vou encaminhar para o nosso financeiro conferir."
MEDIA_NAMES = {"image": "sua imagem", "video": "seu vídeo", "document": "seu arquivo"}


def media_received(kind: str) -> str:
    return f"Recebi {MEDIA_NAMES.get(kind, 'seu arquivo')}! Vou passar para um atendente dar uma olhada."


# Pictographs, dingbats (✅), variation selectors and keycaps: what a persona without emojis must not send.
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u20E3\u200D]+")


def without_emojis(text: str) -> str:
    """The text for a persona with emojis off (the fixed replies above carry some)."""
    stripped = _EMOJI.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"[ \t]+([.!?,;:\n])", r"\1", stripped)).strip()


# --- the provider's knowledge base, and people who want to become customers -------------------------------------

KNOWLEDGE_UNKNOWN = (
    "Não encontrei essa informação aqui comigo. 😕 Quer que eu chame um atendente? Responda *sim* que eu te passo "
    "para uma pessoa."
)
KNOWLEDGE_NO_PERSON = "Tudo bem! Se precisar de mais alguma coisa, é só perguntar."
SALES_OFFER = "Quer contratar? Responda *sim* que eu anoto seus dados. 😊"
LEAD_ASK_PLACE = "Que ótimo! 😊 Para ver se chegamos no seu endereço, me diga o seu *bairro* ou o *CEP*."
LEAD_ASK_PLACE_AGAIN = "Não consegui identificar o local. Me diga o nome do bairro ou o CEP (8 números), por favor."
LEAD_ASK_PLAN_AGAIN = "Qual dos planos te interessa? Pode responder com a velocidade, por exemplo *500 Mega*."
LEAD_ASK_NAME = "Anotado! E qual é o seu nome completo?"
NOT_COVERED = (
    "Poxa, ainda não temos cobertura nesse endereço. 😕 Estamos expandindo a rede: quer que eu registre seu "
    "interesse para avisarmos quando chegarmos aí? (sim ou não)"
)
INTEREST_ASK_NAME = "Combinado! Qual é o seu nome, para o registro?"
INTEREST_DECLINED = "Tudo bem! Se mudar de ideia, é só chamar."
_PRICE = re.compile(r"R\$ ?[\d.]+,\d{2}")


def plan_line(title: str, answer: str) -> str:
    """A plan and its price as the base writes it (never a price of our own)."""
    price = _PRICE.search(answer)
    return f"• {title}" + (f": {price.group()} por mês" if price else "")


def lead_covered(region_answer: str, plans: list[tuple[str, str]]) -> str:
    lines = "\n".join(plan_line(title, answer) for title, answer in plans)
    listing = f" Nossos planos:\n{lines}\nQual deles te interessa?" if plans else " Qual plano te interessa?"
    if not region_answer:  # the base lists no places: the sales team confirms the address
        return "Anotado! Nossa equipe comercial confirma a cobertura no seu endereço." + listing
    return f"Boa notícia: temos cobertura aí! ✅ {region_answer}{listing}"


def covered_offer(region_answer: str) -> str:
    return f"Sim, temos cobertura aí! ✅ {region_answer} " + SALES_OFFER


def _first(name: str) -> str:
    return name.split()[0].title() if name.split() else ""


def lead_created(name: str) -> str:
    return (f"Obrigado, {_first(name)}! Passei seus dados para a nossa equipe comercial, que vai falar com você "
            "aqui mesmo para combinar a instalação. 😊")


def interest_registered(name: str) -> str:
    return (f"Pronto, {_first(name)}, seu interesse está registrado! Avisaremos por aqui quando a rede chegar no seu "
            "endereço. 💙")


# --- follow-ups: the promise date's reminder, the connection re-check, "online but slow" -----------------------


def promise_reminder(until: date) -> str:
    return (
        f"Oi! Passando para lembrar: a liberação por confiança da sua internet vai até *{day(until)}*. "
        "Se ainda não pagou a fatura, pague até lá para o acesso não ser bloqueado de novo. "
        "Se precisar da segunda via, é só me pedir aqui. 😉"
    )


RECHECK_SCHEDULED = "Certo! Vou verificar sua conexão de novo daqui a pouco e te aviso aqui."
RECHECK_BACK = "Verifiquei de novo: sua conexão voltou e aparece *online* ✅. Se algo ainda não funcionar, me avise."
RECHECK_UNKNOWN = ("Tentei verificar sua conexão de novo, mas o sistema não respondeu agora. "
                   "Se a internet ainda não voltou, me avise que eu verifico outra vez.")


def recheck_offline(protocol: str | None) -> str:
    if protocol:
        return (f"Verifiquei de novo e sua conexão ainda aparece *offline*. Seu chamado técnico, protocolo "
                f"*{protocol}*, segue aberto e nossa equipe vai acompanhar.")
    return ("Verifiquei de novo e sua conexão ainda aparece *offline*. Quer que eu abra um chamado técnico? "
            "(sim/não)")


SLOW_STEPS = (
    "Verifiquei aqui e sua conexão aparece *online* ✅, então vamos tentar alguns passos rápidos:\n"
    "1. Reiniciar o roteador: tire da tomada por 30 segundos e ligue de novo.\n"
    "2. Conferir o cabo: veja se o cabo de rede e o da fibra estão bem encaixados, sem dobras.\n"
    "3. Wi-Fi: fique mais perto do roteador e, se ele tiver rede 5 GHz, use-a (é mais rápida; a 2.4 GHz "
    "alcança mais longe, mas é mais lenta).\n"
    "Depois me conta: melhorou? (sim/não)"
)
SLOW_BETTER = "Que bom que melhorou! Se voltar a ficar lenta, é só me chamar."
