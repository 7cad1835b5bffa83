"""Words and phrase patterns of the NLU, as data. Everything here is already normalized (see text.normalize).

Phrase patterns are written in a small notation over canonical tokens, compiled by intents.py:
- elements are separated by spaces; an element lists alternatives with "|" ("boleto|fatura");
- "word*" matches any token starting with "word"; "NUM" any number; "QMARK" a question mark;
- a trailing "?" makes the element optional ("a|o?");
- "~name" skips up to a few filler words of the set GAPS[name]; "END" requires the end of a segment;
  "&a|b" requires (without consuming) that the next token be one of the alternatives.
Flags: "a" = must open a segment (after optional openers), "w" = must be the whole message,
"k" = weak yes (dropped when the message also thanks, greets or says no),
"x" = not cancelled by a negation before it (the phrase carries its own "nao").
Order matters: at a given token the first pattern that matches wins and consumes its tokens, so specific
phrases come before the single words they contain. Intent None consumes without meaning anything.
"""

from __future__ import annotations

import re

ABBREVIATIONS: dict[str, str] = {
    # pronouns, connectives
    "vc": "voce", "vcs": "voces", "c": "com", "cm": "com", "q": "que", "oq": "o que",
    "pq": "porque", "pk": "porque", "tb": "tambem", "tbm": "tambem", "tmb": "tambem", "td": "tudo",
    "tds": "todos", "p": "pra", "pro": "pra", "para": "pra", "dnv": "de novo", "nd": "nada", "ngm": "ninguem",
    "alg": "alguem", "algm": "alguem", "mt": "muito", "mto": "muito", "mta": "muito", "mtas": "muito",
    "mtos": "muito", "hj": "hoje", "agr": "agora", "qdo": "quando", "qnd": "quando", "qndo": "quando",
    "qto": "quanto", "qnto": "quanto", "qnt": "quanto", "qt": "quanto", "msm": "mesmo", "msg": "mensagem",
    "cmg": "comigo", "pfv": "favor", "pf": "favor", "pfvr": "favor", "pls": "favor", "vdd": "verdade",
    "ctz": "certeza", "eh": "e", "jah": "ja", "dps": "depois", "hrs": "horas", "hr": "hora",
    "tel": "telefone", "cel": "celular", "zap": "whatsapp", "wpp": "whatsapp", "whats": "whatsapp",
    # verbs
    "tah": "ta", "taa": "ta", "esta": "ta", "estah": "ta", "tou": "to", "estou": "to", "estava": "tava",
    "qro": "quero", "qero": "quero", "qria": "queria", "kero": "quero",
    "presiso": "preciso", "precizo": "preciso", "fala": "falar",
    # yes / no / thanks
    "s": "sim", "ss": "sim", "sin": "sim", "simm": "sim", "yes": "sim", "n": "nao", "nn": "nao", "naum": "nao",
    "nop": "nops", "nope": "nops", "okay": "ok", "okk": "ok", "oks": "ok", "okey": "ok", "blz": "beleza",
    "vlw": "valeu", "vlww": "valeu", "valew": "valeu", "tmj": "valeu", "tamojunto": "valeu",
    "obg": "obrigado", "obgd": "obrigado", "obgda": "obrigado", "obgdo": "obrigado", "obrigada": "obrigado",
    "brigado": "obrigado", "brigada": "obrigado", "obrigadao": "obrigado", "brigadao": "obrigado",
    "obrigadu": "obrigado", "brigadu": "obrigado", "obgg": "obrigado", "obgdd": "obrigado", "obgado": "obrigado",
    "obrigad": "obrigado", "thanks": "obrigado", "tks": "obrigado", "thx": "obrigado", "grata": "grato",
    "agradecida": "grato", "agradecido": "grato", "xau": "tchau", "tchauzinho": "tchau", "bye": "tchau",
    "flw": "tchau",
    # greetings
    "oie": "oi", "oii": "oi", "oiee": "oi", "oiie": "oi", "olaa": "ola", "eai": "e ai",
    "eae": "e ai", "iai": "e ai", "eaew": "e ai", "bomdia": "bom dia", "boatarde": "boa tarde",
    "boanoite": "boa noite", "bdia": "bom dia",
    # the service
    "net": "internet", "internete": "internet", "intenet": "internet", "wify": "wifi", "waifai": "wifi",
    "wireless": "wifi", "wirelles": "wifi", "segundavia": "segunda via", "sgda": "segunda", "sgd": "segunda",
    "seg": "segunda", "bol": "boleto", "fat": "fatura", "cod": "codigo", "tec": "tecnico",
}

JOINS: dict[tuple[str, str], str] = {
    ("wi", "fi"): "wifi", ("wai", "fai"): "wifi", ("qr", "code"): "qrcode", ("des", "bloquear"): "desbloquear",
    ("des", "bloqueio"): "desbloqueio", ("up", "grade"): "upgrade",
}

# fillers that may sit between the parts of a phrase
GAPS: dict[str, tuple[int, frozenset[str]]] = {
    # "a internet [de casa ta muito] lenta"
    "c": (4, frozenset(
        "ta to tava muito bem super meio mais do da de meu minha aqui hoje novo toda hora sempre ficando fica "
        "ficou vive so tambem ja ainda continua uma um o a em casa e que la agora demais bastante pouco tao "
        "totalmente completamente anda andando tudo ate no na desde ontem dando extremamente dia dias".split())),
    # "paguei [o boleto e ainda continua] sem internet"
    "t": (6, frozenset(
        "o a os as boleto fatura conta pix mensalidade e mas mais porem ainda continua continuo continuou segue "
        "sigo ta to fica ficou hoje ontem cedo ja ate agora pouco so que minha meu internet faz dias horas dia tempo "
        "mesmo assim aqui isso nada desde no na via pelo pela certinho tudo".split())),
    # "quanto [custa o] plano", "valor [dos] planos"
    "s": (3, frozenset(
        "e ta fica sai seria o a os as do dos da das de pra um uma ter com esse essa desse dessa custa voces "
        "cobram cobra internet sua seu vcs ai".split())),
    # small words: articles, possessives
    "d": (2, frozenset(
        "o a os as um uma meu minha seu sua esse essa desse dessa de do da dos das no na pra com pelo pela via"
        .split())),
    # articles only
    "o": (2, frozenset("o a os as um uma de do da dos das".split())),
    # "a fatura [desse mes veio com o valor] errado", "desconto na fatura [pelos dias que fiquei sem internet]"
    # "ver [se ta tudo certo com a] internet", "da uma olhada [na minha] conexao"
    "v": (6, frozenset(
        "se a o minha meu como ta to esta tudo certo com pra mim ai favor por de da do na no sua seu status situacao "
        "que aqui rapidinho so tambem pfv pf".split())),
    "b": (5, frozenset(
        "o a os as um uma meu minha seu sua esse essa desse dessa deste desta de do da dos das no na nos nas pelo "
        "pela pelos pelas pra com me ta to tava esta veio vieram vem chegou chegaram foi foram ja mes ultimo ultima "
        "muito bem mais valor internet cartao credito que fiquei ficamos ficou tive sem parada parado fora ar"
        .split())),
}

# a negation cancels the keyword after it, over these words ("nao quero [o] boleto")
NEGATIONS = frozenset({"nao", "nem", "nunca", "jamais"})
NEGATION_FILLERS = frozenset(
    "quero queria quer preciso precisa precisava e o a os as um uma de do da dos das mais pra com to ta foi vou "
    "me mim voce esse essa desse dessa meu minha gostaria sobre no na ainda falar agora".split())
# words that may open a segment before a yes/no ("ah sim", "hm nao")
OPENERS = frozenset("ah ahn hm hmm humm e entao opa ue olha mas bem bom ta".split())

_NOT_CONTRACT = "contrato|plano|servico|assinatura|internet|conta|cadastro"
_CONDITION = ("ruim|pessima|pessimo|horrivel|horrorosa|fraca|fraco|fraquinha|fraquinho|parou|parada|parado|fora|sumiu"
              "|travando|trava|devagar|abaixo|lenta|lento|lerda|lerdo|instavel|oscilando|oscila|caindo|caiu|cai|porcaria|merda|bosta"
              "|lixo|baixa|baixo|desconectando|desconecta|falhando|falha|problema|problemas")
_SUBJECT = "internet|wifi|sinal|conexao|rede|roteador|modem|fibra|velocidade|navegacao"
# what the customer tries to open ("o youtube nao carrega", "nenhum site abre")
_SITES = "site|sites|pagina|paginas|video|videos|youtube|netflix|instagram|tiktok|facebook|jogo|jogos"
_OPENS = "abre|abrindo|carrega|carregando|entra|roda|rodando|funciona|funcionando"
_HUMAN_WHO = ("atendente|atendentes|humano|humana|pessoa|pessoas|alguem|gente|operador|operadora|responsavel|gerente"
              "|supervisor|supervisora|funcionario|funcionaria|atendimento|suporte|financeiro|setor|moca|moco|rapaz"
              "|ser|especialista")
_VERB_AFTER_DAY = "ter|vir|ser|passar|dar|chegar|ficar|voltar|aparecer|vem|fazer|ir"
_MONEY = "pagamento|pix|dinheiro|transferencia|deposito"
_BILL = "boleto|boletos|fatura|faturas|conta|mensalidade|carne"
_MADE_PAYMENT = f"fiz|efetuei|realizei|fizemos|mandei|enviei ~d {_MONEY}"  # "fiz o pix", "mandei o pagamento"
# "acabei de pagar", "acabei de fazer o pix"
_JUST_PAID = f"acabei|acabamos de pagar|quitar|depositar|transferir ~d {_BILL}|{_MONEY}?"
_JUST_MADE = f"acabei|acabamos de fazer|efetuar|realizar|mandar|enviar ~d {_MONEY}"
# a charge disputed or to be negotiated (billing_issue): a person of the financial team, never the same invoice again
_CHARGE = f"{_BILL}|valor|valores|cobranca|cobrancas|taxa|taxas|juros|multa|preco"
_CHARGED = "cobraram|cobrou|cobrado|cobrada|cobrados|cobradas|cobrando|debitaram|debitou|descontaram|descontou"
_WRONG = ("errado|errada|errados|erradas|incorreto|incorreta|diferente|indevido|indevida|indevidos|indevidas"
          "|duplicado|duplicada|duplicados|duplicadas|dobrado|dobrada|dupla|duplo|repetido|repetida|alto|alta|caro"
          "|cara|absurdo|absurda|abusivo|abusiva|aumentou|aumentado|aumentada|subiu|dobrou")
_TWICE = "duas|tres|NUM vezes|x"  # "me cobraram duas vezes", "paguei 2x"
_DAYS = "dias|dia|tempo|periodo|horas|semana|semanas"  # "desconto [na fatura] pelos dias sem internet"
_DISCOUNT = ("desconto|descontos|descontar|desconta|descontem|desconte|abatimento|abater|abatam|ressarcimento"
             "|compensacao")
# what still being blocked after paying sounds like ("paguei [o boleto e ainda continua] sem internet")
_STILL_BLOCKED = ("sem internet|sinal|conexao|acesso",
                  "nao|nem voltou|volta|liberou|libera|liberaram|religou|desbloqueou|funciona|conecta",
                  "bloqueado|bloqueada|bloqueio|cortado|cortada|suspensa|suspenso")

PATTERNS: list[tuple[str | None, str, str]] = [
    # --- things that look like keywords but are not -----------------------------------------------------------
    (None, "segunda|terca|quarta|quinta|sexta feira|feiras", ""),
    (None, f"segunda|2|outra vai {_VERB_AFTER_DAY}", ""),
    (None, "segunda|proxima de|a? manha|tarde|noite|cedo", ""),
    # a charge the customer does not recognize, before "nao conheco" (below) swallows it
    ("billing_issue", f"nao|nem reconheco|reconhecemos|reconhece|reconheceu|conheco ~b {_CHARGE}|compra|debito|servico"
     "|isso|esse|essa|esses|essas", "x"),
    ("billing_issue", "nao|nem reconheco|reconhecemos", "x"),
    (None, "nao sei|lembro|entendi|entendo|conheco", ""),
    (None, "entendi|entendo nada", ""),
    (None, "contrato|fidelidade|promocao|garantia ~d vence|venceu|vencimento", ""),  # not an invoice
    (None, "ate|quando eu? pagar", ""),  # "libera ate eu pagar?": a promise, not asking for the invoice
    (None, "assim que eu? pagar", ""),
    (None, "de nada", ""),
    (None, "pessoa fisica|juridica", ""),
    (None, "cai dia", ""),
    # a payment that "caiu" is money, not the connection: "o pix caiu?" asks about one already made
    ("payment_notice", f"{_MONEY} ~d ainda? nao? caiu|compensou|entrou", ""),
    ("payment_notice", f"caiu|compensou|entrou ~d {_MONEY}", ""),
    (None, f"{_MONEY} ~d cai", ""),  # "quando o pix cai?": not paid yet
    (None, f"cai ~d {_MONEY}", ""),
    (None, "protocolo|protocolos", ""),
    ("connection_down", f"nao|nem ta? funciona|funcionando|funcionou ~d {_SUBJECT}", "x"),
    (None, "nao resolveu|resolvido|resolvida|funcionou|deu|adiantou|ajudou", ""),
    # --- open_ticket before the connection/unlock words it contains ---------------------------------------------
    ("open_ticket", "cortaram|cortou|rompeu|romperam|arrebentou|arrebentaram|caiu|quebrou|quebraram|partiu|roubaram"
     " ~d cabo|fio|poste|fibra", ""),
    ("open_ticket", "cabo|fio|poste ~d fibra|internet|rede|luz? ~d ta|foi? cortado|cortada|rompido|rompida|partido"
     "|partida|arrebentado|caido"
     "|solto|quebrado|rompeu|partiu|caiu|arrebentou", ""),
    # the fibre itself broken ("a fibra arrebentou"); "a fibra caiu" is the connection, not the cable
    ("open_ticket", "fibra|fibras ~d ta|foi? cortada|rompida|partida|arrebentada|rompeu|partiu|arrebentou|estourou"
     "|cortaram|romperam|arrebentaram", ""),
    ("open_ticket", "abrir|abre|abra|abram|registrar|registra|fazer|faz|faca ~d chamado|chamados|protocolo|reclamacao"
     "|ticket|os|ordem|solicitacao", ""),
    ("open_ticket", "cancelar|cancela|desmarcar|remarcar|reagendar|adiar ~d chamado|visita|agendamento|tecnico|os", ""),
    ("open_ticket", "mudanca|mudar|mudei|mudamos|mudando|mudo|trocar|transferencia|transferir ~d endereco|casa"
     "|residencia", ""),
    # "mudar o roteador de lugar", "passar o cabo pro quarto"
    ("open_ticket", "mudar|mover|remanejar|passar|levar|trocar ~d roteador|modem|onu|aparelho|cabo ~d lugar|comodo"
     "|quarto|sala|outro|outra", ""),
    ("open_ticket", "mandar|manda|mande|mandem|enviar|envia|envie|enviem alguem|tecnico", ""),
    ("open_ticket", "ordem de servico", ""),
    ("open_ticket", "trocar|troca|queimou|queimado|quebrou|quebrado|estragou|estragado|defeito ~d roteador|modem"
     "|onu", ""),
    ("open_ticket", "roteador|modem|onu ~c deu|dando|com|apresentou|apresentando? queimou|queimado|quebrou|quebrado"
     "|estragou|estragado|defeito", ""),
    ("open_ticket", "visita|suporte|assistencia tecnica|tecnico", ""),
    ("open_ticket", "chamado|chamados|tecnico|tecnicos|tecnica|visita|visitas|suporte|reclamacao|reclamacoes"
     "|reclamar|reparo|ticket|remarcar|reagendar|remarcacao|reagendamento", ""),
    # --- billing_issue, before the payment and invoice words it contains ("paguei duas vezes", "boleto errado") ---
    ("billing_issue", f"{_CHARGE}|{_CHARGED}|pagamento|pix|debito ~b {_TWICE}", ""),
    ("billing_issue", f"paguei|pagamos|quitei ~t {_TWICE}", ""),
    ("billing_issue", f"{_MADE_PAYMENT} ~b {_TWICE}", ""),
    ("billing_issue", f"{_CHARGE}|veio|vieram|vindo|paguei|pagamos ~b a mais", ""),
    ("billing_issue", f"{_CHARGE}|{_CHARGED}|veio|vieram|vindo ~b em dobro", ""),
    ("billing_issue", "paguei|pagamos ~t em? dobro|duplicado|duplicada|duplicidade|errado|errada", ""),
    ("billing_issue", f"{_CHARGE} ~b {_WRONG}", ""),
    ("billing_issue", f"erro|erros|equivoco ~o na|no|nas|nos|com ~o {_CHARGE}", ""),
    ("billing_issue", "problema|problemas ~o na|no|nas|nos|com ~o cobranca|cobrancas|valor|valores", ""),
    ("billing_issue", f"aumentou|aumentaram|subiu|subiram|dobrou|dobraram|reajustou|reajustaram ~b {_CHARGE}", ""),
    # two invoices for one month; "2 boletos em aberto" are just two months due
    ("billing_issue", f"duas|dois|NUM ~o {_BILL}|cobrancas ~b iguais|repetidas|repetidos|duplicadas|duplicados", ""),
    ("billing_issue", f"duas|dois|NUM ~o {_BILL}|cobrancas ~b mesmo|mesma mes|valor|vencimento|data", ""),
    ("billing_issue", _CHARGED, ""),  # "me cobraram", "estao me cobrando"
    ("billing_issue", "porque veio|vieram|vindo|cobraram|cobrou esse|essa|esses|essas|tanto|isso", ""),
    ("billing_issue", "veio|vieram|vindo|pagando mais|tao|muito caro|cara|caros|caras|alto|alta", ""),
    # "cobranca de coisa que eu nao contratei"
    ("billing_issue", "que eu? nao|nem contratei|contratamos|solicitei|autorizei|assinei|pedi|usei|uso|utilizo", "x"),
    ("billing_issue", "cobrar|cobram|cobra ~b a mais", ""),
    # splitting or negotiating a debt
    ("billing_issue", f"pagar|pago|pagamos|pagaria|quitar ~b em {_TWICE}|parcelas", ""),
    ("billing_issue", f"dividir|divide|dividido|dividida ~b {_BILL}|divida|debito|debitos|valor|pagamento|em", ""),
    ("billing_issue", "da|tem|posso|pode|podem|consigo|quero|queria|gostaria pra|como|de? parcela", ""),
    ("billing_issue", "fazer|faz|faco|fechar|propor|proposta ~d acordo", ""),
    # refunds and discounts ("desconto na fatura pelos dias sem internet" is not a connection report)
    ("billing_issue", "dinheiro|valor|pagamento|grana de? volta", ""),
    ("billing_issue", "devolver|devolvam|devolve|devolucao ~d dinheiro|valor|pagamento|diferenca", ""),
    ("billing_issue", f"{_DISCOUNT} ~b {_BILL}|valor|{_DAYS} ~b {_DAYS}? ~b", ""),
    ("billing_issue", "descontar|descontam|descontem|abater|abatem|ressarcir|compensar|reembolsar END", ""),
    ("billing_issue", "negociar|negociacao|negociacoes|negocia|negociando|negociamos|renegociar|renegociacao"
     "|renegocia|parcelar|parcelamento|parcelado|parcelada|parcelo|parcele|estorno|estornar|estornem|estorna"
     "|estornado|estornada|reembolso|reembolsar|reembolsem|reembolsado|ressarcir|indevido|indevida|indevidos"
     "|indevidas|indevidamente|duplicidade", ""),
    # --- trust_unlock ------------------------------------------------------------------------------------------
    *[("trust_unlock", f"{paid} ~t {blocked}", "")
      for paid in ("paguei|pago|pagamos|quitei", _MADE_PAYMENT, _JUST_PAID, _JUST_MADE) for blocked in _STILL_BLOCKED],
    # a promise to pay asks for the release meanwhile
    ("trust_unlock", "pago|pagarei|pagaremos na|no|ate? amanha|depois|sexta|sabado|domingo|segunda|terca|quarta"
     "|quinta|semana|mes", ""),
    ("trust_unlock", "nao|nem liberou|liberaram|desbloqueou|desbloquearam|religou|religaram", "x"),
    ("trust_unlock", "nao|nem foi liberado|liberada|desbloqueado|desbloqueada|religado|religada", "x"),
    ("trust_unlock", "cortaram|cortou|suspenderam|bloquearam|desligaram|bloqueou|desligou ~d internet|sinal"
     "|servico|acesso|conexao", ""),
    ("trust_unlock", "promessa|promesa ~d pagamento", ""),
    ("trust_unlock", "desbloque*|liberacao|liberar|libera|liberem|libere|liberado|liberada|liberam|religar|religa"
     "|religue|religuem|religamento|religacao|bloqueado|bloqueada|bloqueados|bloqueadas|bloqueio|bloquearam"
     "|bloqueou|bloqueia|cortaram|cortada|cortado|suspensa|suspenso|suspensao|suspenderam|confianca|promessa", ""),
    # --- payment_notice: paid, or sending the receipt (paid and still blocked is trust_unlock, above) ----------
    (None, "comprovante|comprovantes ~d residencia|endereco|renda|quitacao", ""),
    ("payment_notice", f"comprovante|comprovantes|recibo ~d {_MONEY}|{_BILL}", ""),
    ("payment_notice", "comprovante|comprovantes|recibo", ""),
    ("payment_notice", _MADE_PAYMENT, ""),
    ("payment_notice", _JUST_PAID, ""),
    ("payment_notice", _JUST_MADE, ""),
    ("payment_notice", f"paguei|pagamos|quitei ~t {_BILL}|pix", ""),
    (None, f"pago ~t {_BILL}|pix", ""),  # "pago o boleto amanha", "ja pago a fatura": not paid yet
    ("payment_notice", f"{_MONEY}|{_BILL} ja|ta|foi? ja|ta|foi? feito|feita|realizado|realizada|efetuado"
     "|efetuada|pago|paga|quitado|quitada|compensado|compensada|confirmado|confirmada", ""),
    ("payment_notice", "ja? ta|foi pago|paga|quitado|quitada", ""),
    ("payment_notice", "paguei|quitei|quitamos|depositei|transferi", ""),
    ("payment_notice", "ja pagamos", ""),  # alone, "pagamos" may be the present ("pagamos como?")
    ("payment_notice", "pago", "w"),  # "pago!" answering the invoice; "pago amanha" is a promise (above)
    # --- cancel --------------------------------------------------------------------------------------------------
    ("cancel", f"pode|podem encerrar|cancelar|finalizar|terminar ~d {_NOT_CONTRACT}", ""),
    ("cancel", f"encerrar|encerra|finalizar|terminar|rescindir ~d {_NOT_CONTRACT}", ""),
    ("cancel", "nao quero|desejo|vou mais ~d internet|servico|plano|contrato|empresa|provedor|fibra|voces", "x"),
    ("cancel", "sair|largar|trocar|mudar de|da|do|dessa|desse operadora|provedor|empresa", ""),
    ("cancel", "cancelar|cancela|cancelo|cancelem|cancele|cancelamento|cancelamentos|cancelei|cancelado|cancelada"
     "|cancelando|rescindir|rescisao|distrato", ""),
    # --- thanks_bye ----------------------------------------------------------------------------------------------
    ("thanks_bye", "pode|podem|ja encerrar|finalizar|fechar ~d atendimento|conversa|chat|chamado|ticket|aqui?", ""),
    ("thanks_bye", "era|e|foi|seria|ja so isso|isto", ""),
    ("thanks_bye", "so isso|isto", ""),
    ("thanks_bye", "mais nada|nada mais", ""),
    ("thanks_bye", "deu certo|bom", ""),
    ("thanks_bye", "ate mais|logo|amanha|breve|depois|proxima", "a"),
    ("thanks_bye", "ate a proxima", "a"),
    ("thanks_bye", "falou", "w"),
    ("thanks_bye", "muito? obrigado|grato|agradeco|gratidao|valeu|tchau", ""),
    ("thanks_bye", "ja? resolvido|resolvida|resolveu|solucionado|solucionou|normalizada|normalizado", ""),
    # --- connection_down -----------------------------------------------------------------------------------------
    # asked to check it ("ve se a internet ta normal", "verifica minha conexao", "como ta minha net?")
    ("connection_down", "ver|ve|veja|verificar|verifica|verifique|checar|checa|cheque|testar|testa|teste|consultar"
     f"|consulta|conferir|confere|confira|olhar|olha|olhada|saber|analisar|analisa|avaliar|avalia ~v {_SUBJECT}", ""),
    ("connection_down", f"como ta|esta|anda|vai|fica ~d {_SUBJECT}", ""),
    ("connection_down", f"status|situacao|teste ~d {_SUBJECT}", ""),
    ("connection_down", f"{_SUBJECT} ~c normal|ok|funcionando|certo|certinho|boa|bem|online QMARK", ""),
    ("connection_down", "cai|caiu|caindo|vai ~c e|mas volta|voltou|voltando|volto", ""),
    ("connection_down", "voltou|volta a|de cair|ficar|travar|oscilar|dar", ""),
    ("connection_down", "sem internet|sinal|conexao|acesso|wifi|rede|navegacao|servico", ""),
    ("connection_down", f"{_SUBJECT} ~c {_CONDITION}", ""),
    ("connection_down", f"{_SUBJECT} ~c nao|nem ta|to? funciona|funcionando|conecta|conectando|pega|pegando|navega"
     "|liga|ligando|volta|voltou|carrega|abre|entra|aparece|aparecendo|chega|chegando", ""),
    ("connection_down", f"nao|nem {_OPENS} nada|nenhum|nenhuma|{_SITES}", "x"),
    ("connection_down", f"nada|nenhum|nenhuma {_SITES}? {_OPENS}|conecta|navega", ""),
    ("connection_down", f"{_SITES} ~c nao|nem {_OPENS}", ""),
    ("connection_down", f"nao|nem ta|to? consigo|consegue|conseguindo|consegui entrar|usar ~d {_SUBJECT}", "x"),
    ("connection_down", "nao|nem ta|to? consigo|consegue|conseguindo|consegui|quer? conecta|conectando|conectar"
     "|conectou|navega|navegar|navegando|acessar|acessa|carrega|carregando|pega|pegando|conecto", "x"),
    ("connection_down", "nao|nem voltou|volta", "x"),
    ("connection_down", "sumiu|caiu|parou ~d internet|sinal|wifi|rede|conexao", ""),
    ("connection_down", "fora do ar", ""),
    ("connection_down", "quando|horas|previsao ~o pra? volta|voltar|retorna|retorno|normaliza|normalizar", ""),
    ("connection_down", "ping|latencia ~c alto|alta|altissimo|oscilando|subindo", ""),
    # "contratei 500 mega e ta vindo 50"
    ("connection_down", "vindo|chegando|entregando|dando so|apenas? NUM mega|megas|mb|mbps", ""),
    ("connection_down", "aconteceu|houve|ocorreu ~o com|na|no ~o internet|sinal|wifi|rede|conexao", ""),
    ("connection_down", "problema|problemas|falha|pane|manutencao ~o na|no|em ~o internet|sinal|rede|regiao|bairro"
     "|cidade|rua|conexao", ""),
    ("connection_down", "manutencao|geral QMARK", ""),
    ("connection_down", "manutencao", ""),
    ("connection_down", "nada de internet|sinal|conexao", ""),
    ("connection_down", "nao|nem tem internet|sinal|conexao|wifi", "x"),
    ("connection_down", "caiu tudo", ""),
    ("connection_down", "luz|led|luzinha|lampada|luzes ~d roteador|modem|onu|aparelho|pon|los? ~c vermelha|vermelho"
     "|los|apagada|apagado|apagou|piscando", ""),
    ("connection_down", "pon|los ~c piscando|pisca|vermelha|vermelho|apagada|apagado|apagou", ""),
    ("connection_down", "piscando|pisca|acesa ~d vermelho|vermelha|laranja", ""),
    ("connection_down", "vermelho|vermelha ~d piscando|pisca|acesa|aceso", ""),
    ("connection_down", "roteador|modem|onu ~c piscando|apagado|desligado|reiniciando|nao", ""),
    ("connection_down", "lenta|lento|lentidao|lerda|lerdo|oscilando|oscila|oscilacao|oscilacoes|instavel"
     "|instabilidade|caiu|caindo|cai|queda|quedas|desconectando|desconecta|desconectou|los|travando|lag|lagando", ""),
    # --- thanks_bye: "voltou" after the connection phrases that contain it ("caiu e voltou", "voltou a cair")
    (None, "voltou|volta|funcionou mas|porem", ""),
    (None, "voltou|volta|funcionou so que", ""),
    ("thanks_bye", "ja? voltou|funcionou|voltando|normalizou", ""),
    ("thanks_bye", "agora|ja foi|funcionou|funciona|voltou|deu|normalizou END", ""),
    ("thanks_bye", "agora|ja ta|to funcionando|normal|navegando|normalizado|normalizada END", ""),
    ("thanks_bye", "ta|ja funcionando|normal|navegando agora|ja|aqui|normalmente|sim END", ""),
    (None, "nao|nem consigo|consegui", ""),  # after "nao consigo navegar"
    # --- second_copy ---------------------------------------------------------------------------------------------
    ("second_copy", "segunda|2|outra a|o|da? via|vias|vis|bia|vua|vja|vai", ""),
    ("second_copy", "codigo de|do? barra|barras|boleto|pix", ""),
    ("second_copy", "linha digitavel", ""),
    ("second_copy", "copia e cola", ""),
    ("second_copy", "chave pix", ""),
    ("second_copy", "como|onde|aonde eu|que? pago|pagamos|pagaria", ""),
    ("second_copy", "pago|pagamos como|onde|aonde", ""),
    ("second_copy", "quanto ~o eu? devo|devemos", ""),
    ("second_copy", "em aberto|atraso", ""),
    ("second_copy", "dia|quando vence|vencem|venceu|vencimento", ""),  # "q dia vence?"
    ("second_copy", "vence|vencimento quando", ""),
    ("second_copy", "conta ~d venceu|vencida|vencendo|vence|atrasada", ""),
    ("second_copy", "conta ~d internet|mes|janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro"
     "|novembro|dezembro", ""),
    ("second_copy", "mandar|manda|mande|envia|enviar|envie|passa|passar ~d conta|contas", ""),
    ("second_copy", "boleto|boletos|bloqueto|fatura|faturas|carne|mensalidade|mensalidades|pagar|pagamento|pix"
     "|qrcode|vencimento|devendo|debito|debitos|pendencia|pendencias", ""),
    # --- human ---------------------------------------------------------------------------------------------------
    ("human", "nao quero|gosto falar? com? robo|maquina|bot|robozinho|automatico|gravacao", "x"),
    ("human", f"falar|conversar|fala|falo|atendido|atendida|atendimento com|c|por ~d {_HUMAN_WHO}", ""),
    ("human", "transfere|transfira|transferir|passa|passe|encaminha|encaminhe ~d atendente|humano|pessoa|alguem"
     "|setor|financeiro|suporte", ""),
    ("human", "pessoa|pessoas|alguem|gente de? verdade|real|humana|vivo|viva", ""),
    ("human", "quero|chama|chame|chamar|preciso ~d pessoa|alguem|humano", ""),
    ("human", "tem alguem ai|aqui|online|atendendo|disponivel|ae|vivo|QMARK", ""),
    ("human", "me transfere|transfira|transferir|liga|ligue|ligem|ligam|ligar|ligarem|telefona|telefonar|retorna"
     "|retornem|retornar", ""),
    ("human", "liga|ligue|ligam|liguem|ligar|telefona pra mim", ""),
    ("human", "alguem pode|podia|poderia|vai? me? atender|atende|responder|responde|ajudar|ajuda", ""),
    ("human", "atendimento humano|pessoal|humanizado", ""),
    ("human", "atendente|atendentes|humano|operador|operadores", ""),
    ("human", "pessoa|gente", "w"),
    ("human", "ninguem ~d me? responde|atende|respondeu|atendeu|retorna|retornou", ""),
    # --- sales ---------------------------------------------------------------------------------------------------
    ("sales", "quero|queria|gostaria|interesse de|em? ter|colocar|por|instalar|contratar? uma|um|a|o? internet"
     "|fibra|plano|planos", ""),
    ("sales", "tem|vende|vendem|oferece|oferecem|existe|trabalham|trabalha com? ~o telefone|linha? tv|televisao|iptv"
     "|telefonia|streaming|fixo|fixa", ""),
    ("sales", "mudar|trocar|alterar|aumentar|diminuir|melhorar|subir|baixar|upar ~d plano|velocidade|pacote|megas",
     ""),
    ("sales", "quanto|valor|valores|preco|precos ~s plano|planos|instalacao|pacote|pacotes|mega|megas|fibra|instalar"
     "|contratar|assinar", ""),
    ("sales", "quanto custa|custaria|cobram|cobra", ""),
    ("sales", "qual|quais|outro|outros|novo|novos|melhor|maior|mais|algum ~o plano|planos", ""),
    ("sales", "tabela ~o precos|valores|planos", ""),
    ("sales", "tem|existe|existem ~o plano|planos", ""),
    ("sales", "tem|chega|passa|atende|atendem ~o internet|fibra na|no|em|aqui|pra|nessa|nesse|ai|ate", ""),
    ("sales", "mais um? velocidade|megas|mega|ponto|pontos", ""),
    ("sales", "ponto|pontos a? mais|adicional|adicionais|extra|extras", ""),
    ("sales", "instalacao|instalar|ponto nova|novo", ""),
    ("sales", "nova|novo instalacao|ponto|contrato|contratacao", ""),
    ("sales", "instalar|colocar|puxar|levar ~o internet|fibra", ""),
    ("sales", "contratar|contrata|contratacao|contratando|assinar|adquirir|planos|upgrade|downgrade|promocao"
     "|promocoes|oferta|ofertas|combo|combos|precos|cobertura|viabilidade|vendedor|vendas|comercial|consultor"
     "|atendem", ""),
    # --- greeting ------------------------------------------------------------------------------------------------
    ("greeting", "tudo bem|bom|certo|joia|tranquilo|beleza|ok QMARK", ""),
    ("greeting", "tudo bem|bom|certo|joia|tranquilo|beleza e|com voce|voces|ai|contigo", ""),
    ("greeting", "e voce|voces|contigo END", ""),
    ("greeting", "bom|bon|bum dia|dias|dai|di|diia", ""),
    ("greeting", "boa|bo|boas tarde|tardes|noite|noites|madrugada|tard|noit|nite", ""),
    ("greeting", "e ai|ae", "a"),
    ("greeting", "ei|hey|alo", "a"),
    ("greeting", "oi|ola|opa|salve|hello|oila|coe", ""),
    # --- yes / no (only in short answers, see intents.py) -------------------------------------------------------
    ("no", "claro|acho|creio que nao", ""),
    ("no", "agora|ainda nao END", ""),
    ("no", "de jeito nenhum", ""),
    ("no", "nem pensar", ""),
    ("no", "nops|negativo|nunca|nada", "a"),
    ("no", "nao END", "a"),
    ("no", "nao &obrigado|valeu|precisa|quero|agora|ainda|mesmo|senhor|senhora|nao|era|e|tenho|por|favor", "a"),
    ("no", "nem", "w"),
    ("no", "👎|❌", "a"),
    ("yes", "claro|acho|creio que sim", ""),
    ("yes", "isso|isto mesmo|ai|ae", "a"),
    ("yes", "e isso|isto", "a"),
    ("yes", "quero|pode sim", ""),
    ("yes", "pode ser|mandar|enviar|fazer|seguir|prosseguir|confirmar|continuar|abrir|agendar|crer", "a"),
    ("yes", "com certeza", "a"),
    ("yes", "sim|✅", "a"),
    ("yes", "isso|isto END", "a"),
    ("yes", "claro|exato|exatamente|correto|positivo|confirmo|confirmado|aceito|uhum|aham|yep|bora", "a"),
    ("yes", "pode|quero|manda|mande|envia|envie", "w"),
    ("yes", "ta bom|certo|ok|otimo|beleza|joia|combinado", "ak"),
    ("yes", "tudo bem|certo|ok|joia|tranquilo|beleza", "ak"),
    ("yes", "ok|beleza|certo|certinho|perfeito|show|otimo|fechado|combinado|joia|tranquilo|entendi|entendido|fechou"
     "|top|massa|ata|suave|👌|👍",
     "ak"),
    ("yes", "ta", "wk"),
    ("yes", "ah|aa|hmm|hm ta END", "ak"),
]

# intents a negation before them does not cancel ("nao, obrigado")
NEGATION_EXEMPT = frozenset({"greeting", "thanks_bye", "yes", "no", None})
# intents left out when the message also asks for one that implies them: "ja paguei, pode liberar?" asks for the
# release, the payment is its reason; in a dispute ("paguei a fatura e veio de novo, cobranca em dobro") the
# payment and the invoice are what is disputed, not a notice or a request for a copy
IMPLIED_BY: dict[str, frozenset[str]] = {
    "payment_notice": frozenset({"trust_unlock", "billing_issue"}),
    "second_copy": frozenset({"billing_issue"}),
}

# keywords worth correcting when misspelled ("bolto", "fatua", "desbloqeuar", "atendenete")
FUZZY_TARGETS: tuple[str, ...] = tuple(
    "boleto boletos fatura faturas segunda internet atendente atendentes desbloquear desbloqueio desbloqueia "
    "liberacao liberar cancelar cancelamento contratar obrigado chamado tecnico reclamacao lentidao oscilando "
    "conectando conecta roteador operador pagamento mensalidade codigo digitavel bloqueado bloqueada bloqueio "
    "religar religamento promessa confianca instalacao upgrade planos velocidade suporte tarde noite funcionando "
    "funciona humano lenta lento caindo visita vencimento valeu tchau resolvido cobertura atendimento conexao "
    "sinal travando instavel pessoa quero queria preciso paguei comprovante cobranca cobraram parcelar parcela "
    "parcelamento negociar negociacao renegociar reembolso estorno estornar desconto indevida indevido duplicada "
    "errado errada reconheco".split())

# real words near a keyword that must never be "corrected" into it
COMMON = frozenset(
    "pessoal caio segura seguro segundo segundos fartura futura futuro interna interno internas internos "
    "atendendo atendemos atender atende atendem atendeu chamada chamadas chamando chamar chamou chamei chamo vista "
    "visto visitar visitei visite visito suporta suportar suportei suporto operadora operadoras contrato contratos "
    "contratei contratado contratada contratual resolver resolve resolva resolvam resolvendo resolvi canela "
    "cancelei tecnica tecnicas funcione funcionou funcionar funcionario funcionaria lente lenda lendo lentes canto "
    "planta plano planeta tardes tardar noites noivo noiva vale valer valor valores vales bloco blocos sinais "
    "final liberal liberou libero religiao religioso promessas promete prometeu confiar confio confia conexoes "
    "conectado conectada conectei conectou conecto codigos instalado instalada instalou humanos humor pagando "
    "pagante pagou paguei pagamos mensagem mensagens mensal bolero processa pessoas querido querida quer queremos "
    "queriam quis pensei precisa precisam precisei precisamos presente prezado prezada nota noticia "
    "caixa cantando sinto sinta visual vitoria bolsa boletim bolinha fatia faturado faturamento "
    "conecte conectar lentamente lentas lentos tchauu segundas roteadores suportes velocidades suave "
    "instalacoes liberacoes pagamentos vencimentos coberta coberto coberturas confiante religiosa "
    "atendimentos opcao opcoes paulo pedro maria joao jose ana carlos lucas contatar contato contatos seguida "
    "seguido futuras futuros tratando tratado comentando norte valem valia valeria lenco pague paguem comprovando "
    "errando"
    .split())


def _pattern_words() -> set[str]:
    words: set[str] = set()
    for _, spec, _ in PATTERNS:
        for element in spec.split():
            if not element.startswith("~"):
                words.update(w for w in element.rstrip("?").split("|") if re.fullmatch(r"[a-z]+", w))
    for _, fillers in GAPS.values():
        words |= fillers
    return words


KNOWN = frozenset(
    COMMON | set(FUZZY_TARGETS) | _pattern_words() | NEGATIONS | NEGATION_FILLERS | OPENERS
    | {w for expansion in ABBREVIATIONS.values() for w in expansion.split()}
)
