"""Language understanding of the rules brain, on messages written the way customers write on WhatsApp."""

from __future__ import annotations

import pytest

from api.brain.nlu import (
    DateAnswer,
    Document,
    Intent,
    contract_choice,
    detect_intents,
    document_fragment,
    find_date,
    find_documents,
    find_documents_across,
    find_postal_code,
    menu_choice,
    normalize,
)

SC, DOWN, UNLOCK, TICKET = Intent.SECOND_COPY, Intent.CONNECTION_DOWN, Intent.TRUST_UNLOCK, Intent.OPEN_TICKET
HUMAN, SALES, CANCEL = Intent.HUMAN, Intent.SALES, Intent.CANCEL
HI, BYE, YES, NO = Intent.GREETING, Intent.THANKS_BYE, Intent.YES, Intent.NO
PAID, BILLING = Intent.PAYMENT_NOTICE, Intent.BILLING_ISSUE

SECOND_COPY = [
    "quero a segunda via do boleto",
    "2 via",
    "2a via por favor",
    "2ª via da fatura",
    "me manda a 2° via",
    "2º via",
    "segunda vis do boleto",
    "segunda vai da conta",
    "preciso do bolto",
    "manda a fatua desse mes",
    "BOLETO",
    "boleto pfv",
    "boletooooo",
    "como faço pra pagar minha internet?",
    "qual o pix de vcs",
    "pode me mandar a conta de novembro?",
    "me envia a conta",
    "me passa o codigo de barras",
    "manda a linha digitavel",
    "pix copia e cola",
    "quero pagar",
    "vcs aceitam pix?",
    "segundavia",
    "preciso da 2via urgente",
    "tem como mandar o boleto atualizado?",
    "me envia a fatura por aqui msm",
    "Qual o valor da minha fatura?",
    "quando vence minha mensalidade",
    "faturas em aberto",
    "sgda via",
    "SEGUNDA VIA DO BOLETO URGENTE!!!",
    "boleto vencido 😩",
    "q dia vence o boleto",
    "manda o bloeto",
    "como eu pago?",
    "onde pago?",
    "quanto eu devo?",
    "tô devendo algo?",
    "quero a conta desse mes",
    "posso pagar no cartão?",
    "qual a chave pix?",
    "nao recebi o boleto",
    "o boleto ta com juros",
    "preciso pagar",
    "qual o pix",
    "como pago",
    "quero pagar a fatura",
    "vou fazer o pix",  # not paid yet: wants the code
    "q dia vence",
    "qual dia vence minha conta",
    "vence quando?",
    "minha conta venceu ontem",
    "qdo vence minha fatura",
    "manda o boleto ai",
    "o pix de vcs",
    "segunda via do mes passado",
    "segunda viaa",
    "qnto eu to devendo",
]

CONNECTION_DOWN = [
    "estou sem internet",
    "to sem net desde ontem",
    "a internet caiu",
    "net caiu",
    "caiu a net dnv 😡",
    "caaaiu a net",
    "minha internet ta muito lenta",
    "internet lenta",
    "lentidao na internet",
    "a internet ta oscilando",
    "fica caindo e voltando",
    "wifi nao funciona",
    "o wi-fi nao ta funcionando",
    "net ta ruim",
    "a net ta uma porcaria hoje",
    "roteador piscando vermelho",
    "luz vermelha acesa no modem",
    "LOS piscando",
    "nao conecta",
    "n ta conectando",
    "sem sinal",
    "internete nao pega",
    "tô sem sinal aqui em casa",
    "A INTERNET TA LERDA DEMAIS",
    "nao consigo navegar",
    "a conexao ta pessima",
    "internet fora do ar",
    "nada de internet",
    "minha internet nao volta",
    "sumiu o wifi",
    "velocidade ta baixa",
    "quedas constantes",
    "caaaaiu tudo",
    "minha internet parou",
    "internet caindo toda hora",
    "a net vai e volta",
    "voltou a cair",
    "a internet ta instavel",
    "o que aconteceu com a internet?",
    "quando volta a internet?",
    "é geral?",
    "tem manutenção na região?",
    "aqui nao tem internet desde ontem",
    "o modem nao liga",
    "o sinal ta fraco no quarto",
    "a internet ta horrivel",
    "a internet voltou mas ta lenta",
    "ainda não voltou",
    "wifi caindo toda hora",
    "minha net ta uma merda",
    "pon piscando",
    "a luz do roteador ta vermelha",
    "a luz da onu ta apagada",
    "luz do los vermelha",
    "wifi nao aparece",
    "o sinal nao chega no quarto",
    "ta travando tudo",
    "os videos ficam travando",
    "jogo ta com lag direto",
    "ta dando ping alto",
    "nao abre nada",
    "nada carrega",
    "nenhum site abre",
    "youtube nao abre",
    "nao to conseguindo conectar",
    "nao to conseguindo entrar na internet",
    "velocidade muito abaixo do contratado",
    "ta chegando so 30 mega",
    "tem previsao pra voltar?",
    "sinal fraquinho",
    "o roteador ta dando problema",
    "net lenta pra krl",
    "caiu dnv",
    "celular conecta no wifi mas nao navega",
]

TRUST_UNLOCK = [
    "quero desbloquear minha internet",
    "desbloqeuar",
    "preciso do desbloqueio",
    "liberação por confiança",
    "pode liberar minha net?",
    "libera pra mim por favor",
    "religar a internet",
    "cortaram minha internet",
    "minha internet foi cortada",
    "ta bloqueado",
    "tá bloqueada",
    "paguei e continua bloqueado",
    "ja paguei e continua sem internet",
    "paguei o boleto ontem e ainda nao voltou",
    "promessa de pagamento",
    "quero fazer uma promessa de pagamento",
    "desbloqueio em confiança",
    "minha internet ta suspensa",
    "paguei mas nao liberou",
    "ainda nao liberaram",
    "desbloquea pf",
    "religamento",
    "DESBLOQUEIO",
    "paguei o boleto, pode liberar?",
    "ja paguei pq ta cortado?",
    "ja fiz o pagamento, podem liberar",
    "podem religar minha internet?",
    "me libera ai que eu pago dia 10",
    "paguei mas continua bloqueado",  # paid and still blocked: the release is the request
    "fiz o pix e continua sem internet",
    "mandei o pix e nao liberou",
    "pago amanhã",
    "preciso de um desbloqueio, pago amanha",
    "ta bloqueado, da pra religar? pago sexta",
    "libera minha net q pago sexta",
    "desbloqueia ai",
    "paguei hj cedo e ainda ta sem net",
    "consegue liberar minha internet ate eu pagar?",
    "acabei de pagar e continua sem internet",
    "acabei de fazer o pix, libera ai",
    "pago semana que vem",
]

PAYMENT_NOTICE = [
    "já paguei",
    "ja pagei",
    "paguei ontem",
    "paguei a fatura",
    "já paguei a fatura",
    "ja paguei o boleto",
    "paguei ontem pelo pix",
    "fiz o pix",
    "ja fiz o pix",
    "fiz o pagamento",
    "efetuei o pagamento",
    "depositei ontem",
    "segue o comprovante",
    "segue comprovante",
    "segue o comprovante do pix",
    "segue comprovante do pix",
    "segue o conprovante",
    "comprovante do pagamento",
    "Comprovante_Pix.pdf",
    "Comprovante de pagamento.pdf",
    "recibo_pix.pdf",
    "vou mandar o comprovante",
    "vou enviar o comprovante",
    "mandei o comprovante",
    "o comprovante tá aí",
    "ta aqui o comprovante da mensalidade",
    "paguei, ta ai o comprovante",
    "paguei ontem, segue o comprovante",
    "ja paguei a fatura, segue o comprovante",
    "já paguei, vou mandar o comprovante",
    "pix feito, segue o comprovante pra dar baixa",
    "pago!",
    "ja ta pago",
    "a fatura já foi paga",
    "pagamento feito",
    "o pix caiu?",  # a payment already made: the receipt lets the financial team check it
    "caiu o pix?",
    "o pagamento caiu?",
    "o pagamento compensou?",
    "o pix ainda nao caiu",
    "acabei de pagar",
    "acabei de pagar o boleto",
    "acabei de fazer o pix",
    "paguei na loterica ontem",
    "ja paguei hj cedo",
]

BILLING_ISSUE = [
    "o boleto veio errado",
    "o valor da fatura ta errado",
    "a fatura veio erada",
    "fatura com valor errado",
    "a mensalidade da internet veio errada",
    "o valor do boleto veio mais alto esse mes",
    "aumentaram o valor da minha mensalidade",
    "recebi cobrança duplicada",
    "cobransa duplicada",
    "cobrança indevida",
    "cobransa indevida",
    "me cobraram duas vezes",
    "me cobraram 2x esse mês",
    "me cobraram a mais",
    "estão me cobrando uma fatura que já paguei",
    "fui cobrado indevidamente",
    "erro na fatura",
    "problema com a cobrança",
    "vieram duas faturas no mesmo mês",
    "recebi 2 boletos iguais",
    "não reconheço essa cobrança",
    "nao conheço essa cobrança",
    "paguei duas vezes",  # a double payment is a refund to sort out, not a notice
    "paguei o boleto duas vezes",
    "fiz o pix 2x",
    "paguei a mais",
    "tem como parcelar?",
    "da pra parselar a fatura?",
    "tem como parcela?",
    "quero pagar em 3x",
    "posso pagar no cartão em 3x?",
    "quero negociar minha dívida",
    "quero negosiar",
    "quero fazer um acordo",
    "quero estorno",
    "extorno do pix",
    "quero reembolso",
    "quero meu dinheiro de volta",
    "quero desconto na fatura pelos dias sem internet",
    "dá pra descontar os dias que a internet ficou parada?",
    "pq veio esse valor?",
    "pq veio essa cobrança?",
    "pq veio tao caro",
    "veio mais caro esse mes",
    "to pagando mais caro que o combinado",
    "ta vindo cobrança de coisa que eu nao contratei",
    "cobraram um ponto que eu nao pedi",
    "to pagando por um serviço que eu nao uso",
    "da pra descontar?",
    "vcs vao compensar?",
]

OPEN_TICKET = [
    "quero abrir um chamado",
    "abrir chamado",
    "preciso de um tecnico",
    "manda um tecnico aqui",
    "quero agendar uma visita",
    "visita tecnica",
    "suporte tecnico",
    "quero abrir um protocolo",
    "quero fazer uma reclamação",
    "o cabo rompeu",
    "caiu o fio da internet aqui na rua",
    "o tecnico nao veio",
    "cancelar a visita",
    "mudança de endereço",
    "tecnico pode vir amanha?",
    "o tecnico vem segunda?",
    "segunda vai ter tecnico?",
    "cortaram o cabo aqui na frente",
    "preciso trocar o roteador",
    "meu roteador queimou",
    "o cabo ta solto",
    "fio caido na rua",
    "quero remarcar a visita",
    "que horas o tecnico vem?",
    "a fibra arrebentou aqui na rua",
    "cortaram a fibra",
    "quero remarcar",
    "preciso reagendar",
    "quero mudar o roteador de lugar",
    "quero passar o cabo pro outro quarto",
    "o cabo da fibra caiu",
    "o cabo da rede caiu",
    "meu roteador deu defeito",
    "o modem ta com defeito",
    "vou mudar de casa",
    "to mudando de endereço mes que vem",
    "o tecnico ficou de vir hoje e nao apareceu",
]

HUMAN_ = [
    "atendente",
    "quero falar com um atendente",
    "falar com humano",
    "quero falar com uma pessoa",
    "falar com alguem",
    "operador",
    "quero falar com gente",
    "atendenete pf",
    "me transfere pra um atendente",
    "nao quero falar com robo",
    "tem alguem ai?",
    "ATENDIMENTO HUMANO",
    "pessoa de verdade por favor",
    "quero falar c atendente",
    "falar com o financeiro",
    "me liga por favor",
    "atendente por favor!!!",
    "quero um atendente humano 😤",
    "ninguem me responde",
    "tem alguem?",
    "pessoa",
    "quero falar com alguém do financeiro",
    "tem como falar com um humano?",
    "ATENDENTEEEE",
    "alguem me atende pf",
    "alguem pode me ajudar?",
    "pode me ligar?",
    "tem como alguem me ligar",
    "liga pra mim",
    "quero falar c/ atendente",
    "atendente humano pfv",
]

SALES_ = [
    "quero contratar internet",
    "quais os planos?",
    "quero mudar de plano",
    "upgrade de plano",
    "quanto custa o plano de 500 mega",
    "quanto custa a instalação?",
    "instalação nova",
    "vcs atendem no bairro centro?",
    "quero colocar internet na minha casa",
    "tem plano de 1 giga?",
    "quero aumentar minha velocidade",
    "promoção",
    "gostaria de contratar",
    "qual o valor dos planos",
    "queria saber os preços",
    "quero internet",
    "qto custa",
    "tem fibra na minha rua?",
    "vcs tem cobertura no jardim america?",
    "quero informações sobre planos",
    "to pensando em contratar",
    "quanto ta o plano de 500?",
    "quanto fica pra instalar",
    "quanto pra assinar",
    "quero um ponto a mais",
    "quero mais um ponto na casa",
    "vcs tem tv tambem?",
    "vcs trabalham com tv?",
    "tem telefone fixo?",
    "quanto ta o plano de 600 mega",
]

CANCEL_ = [
    "quero cancelar",
    "cancelamento",
    "quero cancelar minha internet",
    "como faço pra cancelar?",
    "nao quero mais a internet",
    "encerrar meu contrato",
    "vou cancelar essa porcaria",
    "cancela tudo",
    "quero trocar de operadora",
    "CANCELAR",
    "se nao resolver vou cancelar",
    "desejo cancelar o serviço",
    "quero cancelar meu plano",
    "to cancelando",
    "quero cancelar essa bosta",
    "n quero mais a net de vcs",
    "qro cancelar",
]

GREETING = [
    "oi", "oie", "oii", "olá", "ola boa tarde", "bom dia", "boa tarde", "boa noite", "Bom diaaaa", "e aí",
    "eae", "boa tarde pessoal", "opa", "bom dia, tudo bem?", "BOA NOITE", "oi tudo bem", "boa trade", "Oiii",
    "oi, tudo bem?", "bomdia", "bom diaa", "boaa tarde", "oi td bem?",
]

THANKS_BYE = [
    "obrigado", "obrigada!", "muito obrigado", "valeu", "vlw", "brigado", "tchau", "era so isso",
    "é só isso, obrigado", "resolvido", "resolveu, obg", "pode encerrar", "ok obrigado", "blz valeu", "obg 🙏",
    "a internet voltou, obrigada", "deu certo, valeu", "falou", "ate mais", "grato", "agradeço",
    "só isso mesmo", "valeu, tchau", "pode encerrar o atendimento", "obrigadaaa ❤️", "ok, obrigado pela ajuda",
    "agora ta funcionando", "ja ta funcionando", "agora ta normal", "agora ta funcionando obg", "voltou aqui, obg",
]

YES_ = [
    "sim", "s", "isso", "pode", "claro", "ok", "👍", "sim, pode mandar", "isso mesmo", "pode sim", "é isso",
    "ta bom", "beleza", "pode ser", "claro que sim", "Sim!", "ss", "com certeza", "blz", "simmmm", "ah sim",
    "show",
    "perfeito",
    "entendi",
    "👍🏻",
    "fechou",
    "ah ta",
    "hmmm ok",
    "sim por favor",
    "tudo bem sim",
    "siim",
    "simm pode",
    "sim sim",
    "aham",
    "s pode",
]

NO_ = [
    "não", "nao", "n", "nops", "👎", "nao precisa", "agora nao", "ainda nao", "negativo", "NÃO", "naum",
    "acho que nao",
    "nada ainda",
    "não não",
    "nao pfv",
    "nao, por favor",
    "nem",
    "ainda n",
    "agr nao",
]

SINGLE = (
    [(text, [SC]) for text in SECOND_COPY]
    + [(text, [DOWN]) for text in CONNECTION_DOWN]
    + [(text, [UNLOCK]) for text in TRUST_UNLOCK]
    + [(text, [PAID]) for text in PAYMENT_NOTICE]
    + [(text, [BILLING]) for text in BILLING_ISSUE]
    + [(text, [TICKET]) for text in OPEN_TICKET]
    + [(text, [HUMAN]) for text in HUMAN_]
    + [(text, [SALES]) for text in SALES_]
    + [(text, [CANCEL]) for text in CANCEL_]
    + [(text, [HI]) for text in GREETING]
    + [(text, [BYE]) for text in THANKS_BYE]
    + [(text, [YES]) for text in YES_]
    + [(text, [NO]) for text in NO_]
)

BURSTS = [
    ("oi quero a 2 via e minha net ta lenta tb", [HI, SC, DOWN]),
    ("bom dia, minha internet caiu e preciso do boleto", [HI, DOWN, SC]),
    ("boa tarde quero falar com atendente", [HI, HUMAN]),
    ("oi, to sem internet, ja reiniciei o roteador e nada", [HI, DOWN]),
    ("não quero boleto, quero falar com atendente", [HUMAN]),
    ("Oi! Minha internet ta sem sinal e o roteador ta piscando vermelho. Podem mandar um tecnico?", [HI, DOWN, TICKET]),
    ("oi, cortaram minha net, ja paguei", [HI, UNLOCK]),
    ("quero cancelar, ninguem resolve minha internet lenta", [CANCEL, DOWN]),
    ("boa noite, quanto custa pra mudar de plano?", [HI, SALES]),
    ("obrigado, tchau", [BYE]),
    ("oi boa tarde", [HI]),
    ("minha net ta lenta, quero falar com um atendente", [DOWN, HUMAN]),
    ("bom dia preciso da segunda via e do desbloqueio", [HI, SC, UNLOCK]),
    ("internet caiu. abre um chamado pf", [DOWN, TICKET]),
    ("nao, obrigado", [NO, BYE]),
    ("sim, obrigado", [YES, BYE]),
    ("nao quero boleto", []),
    ("sim quero a segunda via", [YES, SC]),
    ("OI BOA NOITE MINHA NET CAIU DNV", [HI, DOWN]),
    ("eae blz? a net ta osilando muito", [HI, DOWN]),
    ("bom dia. vcs tem plano de 600 mega? e o boleto desse mes ainda nao chegou", [HI, SALES, SC]),
    ("paguei ontem e minha net continua cortada, quero falar com alguem", [UNLOCK, HUMAN]),
    ("boa tarde!! 2 via pf, e tb a net ta caindo toda hr", [HI, SC, DOWN]),
    ("oi\nquero o boleto\nobrigado", [HI, SC, BYE]),
    ("Olá, boa noite. Meu nome é Ana, sou cliente de vcs há 5 anos e minha internet está caindo toda hora. "
     "Já reiniciei o roteador várias vezes. Preciso de uma solução urgente!", [HI, DOWN]),
    ("Bom dia. Preciso da segunda via da minha fatura referente ao mês de março. Meu CPF é 529.982.247-25. Obrigada.",
     [HI, SC, BYE]),
    ("sim pode abrir o chamado", [YES, TICKET]),
    ("não precisa obrigado", [NO, BYE]),
    ("nao, ta tudo certo agora", [NO]),
    ("minha internet está bloqueada, posso pagar amanhã?", [UNLOCK, SC]),
    ("oi meu boleto nao chegou", [HI, SC]),
    ("td bem e vc?", [HI]),
    ("oi boa tarde! 😊", [HI]),
    ("agora foi, valeu", [BYE]),
    ("boa tarde, paguei o boleto, segue comprovante", [HI, PAID]),
    ("paguei e a internet caiu", [PAID, DOWN]),
    ("ja paguei, obrigado", [PAID, BYE]),
    ("ainda nao paguei, posso pagar amanha?", [SC]),
    ("paguei duas vezes, segue o comprovante", [BILLING]),  # the payment is what is disputed
    ("paguei a fatura e veio de novo, cobrança em dobro", [BILLING]),
    ("o boleto veio com valor errado, manda outro", [BILLING]),  # not the same wrong invoice again
    ("oi, me cobraram a mais e a internet ta caindo", [HI, BILLING, DOWN]),
    ("boa tarde, minha net caiu dnv e ja paguei o boleto", [HI, DOWN, PAID]),
    ("bom dia to sem net desde ontem, manda um tecnico", [HI, DOWN, TICKET]),
    ("bom dia, paguei ontem e a net ainda ta bloqueada, libera ai pf", [HI, UNLOCK]),
    ("oi, minha internet ta lenta faz uma semana e ninguem resolve, quero cancelar", [HI, DOWN, CANCEL]),
    ("fiquei 5 dias sem net, vão descontar?", [DOWN, BILLING]),
    ("a internet ta travando e caindo", [DOWN]),

]

NOTHING = [
    "meu nome é Paulo",
    "rsrs",
    "kkkkkkk",
    "hmm",
    "meu cpf é 529.982.247-25",
    "moro na rua das flores 120",
    "meu nome é Caio",
    "bom",
    "segunda feira eu estou em casa",
    "qual o protocolo?",
    "meu email é paulo@gmail.com",
    "😀😀",
    "?",
    ".",
    "",
    "a conta ta no nome da minha mae",
    "estou esperando",
    "to no trabalho agora",
    "pessoa fisica",
    "qual seu nome?",
    "voce é um robo?",
    "fui no mercado",
    "ta caro",
    "nao sei",
    "de nada",
    "hahaha",
    "meu celular é (11) 91234-0001",
    "lenda urbana",
    "o pessoal da rua também",
    "minha mae vai passar ai mais tarde",
    "o contrato ta no nome do meu pai",
    "quero resolver isso logo",
    "a internet ta otima hoje, parabens",
    "to no trabalho, depois eu vejo",
    "qual horário vcs funcionam?",
    "a senha é 12345678",
    "o titular é meu pai, José da Silva",
    "sou eu mesmo",
    "quem fala?",
    "vc é robô?",
    "reiniciei",
    "ja reiniciei o roteador",
    "continua igual",
    "esquece",
    "aguardando retorno",
    "que demora",
    "me manda o contrato",
    "aceita cartão?",
    "tem multa?",
    "isso é um absurdo",
    "🙏",
    "❤️",
    "estou em casa o dia todo",
    "minha esposa que é a titular",
    "vcs abrem sabado?",
    "preciso da senha do wifi",
    "meu filho que usa",
    "nao paguei ainda",
    "quando o pix cai?",
    "comprovante de residencia",
    "ja pago",  # "right away", not "already paid"
    "pago a fatura amanha",
    "acabei de chegar em casa",
    "acabei de fazer o reset no roteador",
    "entendi nada",
    "nao entendi nada",
    "nem sei",
    "nao precisa me ligar",
    "quero ligar pra vcs",
    "ta funcionando?",
    "o carro ta na garagem",
    "o contrato vence quando?",
    "quando eu pagar volta na hora?",
    "qual o endereço de vcs?",
    "como troco a senha do wifi",
]


@pytest.mark.parametrize(("text", "expected"), SINGLE + BURSTS)
def test_detect_intents(text, expected):
    assert detect_intents(text) == expected


@pytest.mark.parametrize("text", NOTHING)
def test_no_intent(text):
    assert detect_intents(text) == []


def test_intents_are_strings_and_phrasings_are_many():
    assert detect_intents("2 via")[0] == "second_copy"
    assert len(SINGLE) + len(BURSTS) + len(NOTHING) >= 150
    assert {intent for _, expected in SINGLE for intent in expected} == set(Intent)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("ok obrigado", SC),
        ("não quero boleto", SC),
        ("nao quero falar com atendente", HUMAN),
        ("nao quero cancelar nao", CANCEL),
        ("bom dia pessoal", HUMAN),
        ("oi, eu sou o caio", DOWN),
        ("o boleto cai dia 10", DOWN),
        ("sim eu queria saber quanto custa o plano de 500 mega pra minha casa", YES),  # long: not an answer
        ("pode me mandar o boleto", YES),
        ("quanto custa isso", YES),
        ("meu plano é de 300 mega", SALES),
        ("pode encerrar o contrato", BYE),
        ("quero contatar o suporte", SALES),  # "contatar" is not a typo of "contratar"
        ("os planos valem a pena?", BYE),  # nor "valem" of "valeu"
        ("faturas futuras", CANCEL),
        ("em seguida via email", SC),
        ("nao recebi o boleto", NO),
        ("se nao resolver vou cancelar", NO),
        ("preciso mandar comprovante de endereço?", PAID),
        # asking the amount, paying an instalment or two invoices due are not disputes
        ("qual o valor da minha fatura?", BILLING),
        ("quanto eu devo?", BILLING),
        ("o boleto ta com juros", BILLING),
        ("tenho 2 boletos em aberto", BILLING),
        ("quero pagar a parcela", BILLING),
        ("qual o valor do plano de 500 mega", BILLING),
        ("quanto vcs cobram pra instalar?", BILLING),
        ("tem desconto pra pagar no pix?", BILLING),
        ("nao quero parcelar", BILLING),
        ("não me cobraram nada", BILLING),
        ("o tecnico veio duas vezes", BILLING),
        ("a internet caiu duas vezes hoje", BILLING),
        ("quero devolver o roteador", BILLING),
    ("nao consegui pagar", DOWN),
    ("o boleto nao chegou", DOWN),
    ("pq o boleto nao veio?", BILLING),
    ("o tecnico que eu pedi nao veio", BILLING),
    ("minha tv nao conecta no wifi", SALES),
    ("libera ate eu pagar sexta", SC),
    ],
)
def test_not_fooled(text, absent):
    assert absent not in detect_intents(text)


def test_negation_does_not_cross_punctuation():
    assert detect_intents("nao, quero o boleto") == [NO, SC]
    assert detect_intents("a internet nao ta lenta, ta caindo") == [DOWN]


def test_cancel_stays_distinct_from_human():
    assert detect_intents("quero cancelar e falar com atendente") == [CANCEL, HUMAN]


# --- normalize ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CAAAIU a NET", "caiu a net"),
        ("Não  consigo\n\tpagar", "nao consigo pagar"),
        ("INTERNÊT lentaaaa", "internet lenta"),
        ("carro passa", "carro passa"),  # doubled letters are Portuguese
        ("R$ 1.234,56", "r$ 1.234,56"),
        ("2️⃣", "2"),
        ("2ª via", "2a via"),
        ("ÇÃÕ", "cao"),
        ("  ", ""),
        ("111.111", "111.111"),  # digits are never collapsed
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


# --- documents ---------------------------------------------------------------------------------------------------

CPF_OK, CPF_OK_2, CNPJ_OK = "52998224725", "11144477735", "11222333000181"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("529.982.247-25", [Document(CPF_OK, "cpf", True)]),
        ("52998224725", [Document(CPF_OK, "cpf", True)]),
        ("529 982 247 25", [Document(CPF_OK, "cpf", True)]),
        ("cpf: 52998224725.", [Document(CPF_OK, "cpf", True)]),
        ("meu cpf eh 529.982.247-25 obrigado", [Document(CPF_OK, "cpf", True)]),
        ("CPF:529982247-25", [Document(CPF_OK, "cpf", True)]),
        ("529-982-247-25", [Document(CPF_OK, "cpf", True)]),
        ("(52998224725)", [Document(CPF_OK, "cpf", True)]),
        ("cpf52998224725", [Document(CPF_OK, "cpf", True)]),
        ("a chave pix é 529.982.247-25", [Document(CPF_OK, "cpf", True)]),
        ("119 123 400 01", [Document("11912340001", "cpf", False)]),  # typed the CPF way, so read as one
        ("o cpf é 529.982.247.25, nome Maria", [Document(CPF_OK, "cpf", True)]),
        (f"cpf {CPF_OK} e do meu marido 111.444.777-35",
         [Document(CPF_OK, "cpf", True), Document(CPF_OK_2, "cpf", True)]),
        ("11.222.333/0001-81", [Document(CNPJ_OK, "cnpj", True)]),
        ("cnpj 11222333000181", [Document(CNPJ_OK, "cnpj", True)]),
        ("empresa 11 222 333 0001 81", [Document(CNPJ_OK, "cnpj", True)]),
        (f"cnpj 11.222.333/0001-81 e cpf {CPF_OK}", [Document(CNPJ_OK, "cnpj", True), Document(CPF_OK, "cpf", True)]),
        ("123.456.789-00", [Document("12345678900", "cpf", False)]),
        ("111.111.111-11", [Document("11111111111", "cpf", False)]),
        ("meu cpf 52998224724", [Document("52998224724", "cpf", False)]),
        ("cpf 11912340001", [Document("11912340001", "cpf", False)]),  # phone-shaped, but the customer says CPF
        ("11.222.333/0001-80", [Document("11222333000180", "cnpj", False)]),
        (f"{CPF_OK} {CPF_OK}", [Document(CPF_OK, "cpf", True)]),
        (f"boleto {CPF_OK}", [Document(CPF_OK, "cpf", True)]),
        ("meu cpf é 529.982.247-25 e meu celular (11) 91234-0001", [Document(CPF_OK, "cpf", True)]),
    ],
)
def test_find_documents(text, expected):
    assert find_documents(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "+55 11 91234-0001",
        "(11) 91234-0001",
        "5511912340001",
        "+5511912340001",
        "11912340001",
        "11 91234-0001",
        "meu numero é 11 91234-0001",
        "liga no 11912340001",
        "meu zap 52998224725",
        "15/03/2024",
        "15032024",
        "vence 10/04/2024 às 10:30",
        "R$ 1.234,56",
        "R$ 99,90",
        "R$ 529.982.247,25",
        "protocolo 20240315123456",
        "protocolo: 52998224725",
        "prot. 52998224725",
        "pedido 52998224725",
        "tel 11 91234-0001",
        "11912340001 é meu zap",
        "ip 192.168.100.100",
        "versão 1.2.3",
        "meu chamado é o 2024031500123",
        "CEP 01310-100",
        "01310100",
        "23793.38128 60007.827136 95000.063305 9 84410000020000",
        "12345678901234",
        "123456789",
        "paguei 120,00 dia 05/03",
        "",
    ],
)
def test_not_documents(text):
    assert find_documents(text) == []


def test_document_is_frozen():
    doc = find_documents(CPF_OK)[0]
    with pytest.raises(AttributeError):
        doc.valid = False  # type: ignore[misc]


# --- menu choices ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1), ("2)", 2), ("opção 2", 2), ("opcao 3", 3), ("a segunda", 2), ("o 2", 2), ("2️⃣", 2), ("dois", 2),
        ("primeiro", 1), ("a primeira opcao", 1), ("quero a 3", 3), ("4 por favor", 4), ("a ultima", 4),
        ("terceira", 3), ("3.", 3), ("nº 1", 1), ("numero 2", 2), ("um", 1), ("1️⃣ Segunda via", 1),
        ("  4  ", 4), ("quatro!", 4), ("a 2 pf", 2), ("opção dois, obrigado", 2),
        ("5", None), ("0", None), ("1 ou 2", None), ("os dois", None), ("ambos", None), ("segunda via", None),
        ("sexta feira", None), ("quero o boleto", None), ("", None), ("minha internet caiu", None),
        ("uma duvida", None), ("52998224725", None), ("👍", None),
    ],
)
def test_menu_choice(text, expected):
    assert menu_choice(text, 4) == expected


def test_menu_choice_respects_the_number_of_options():
    assert menu_choice("3", 2) is None
    assert menu_choice("a ultima", 2) == 2
    assert menu_choice("1", 0) is None


CONTRACTS = [
    ("1001", "FIBRA 300MB - Rua das Flores, 120"),
    ("1002", "FIBRA 600MB - Av. Brasil, 45"),
    ("2077", "RADIO 10MB - Sítio Boa Vista, s/n"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "1001"), ("2", "1002"), ("o segundo", "1002"), ("3️⃣", "2077"), ("1002", "1002"),
        ("contrato 2077", "2077"), ("o da rua das flores", "1001"), ("fibra 300", "1001"),
        ("o da av brasil", "1002"), ("o do sitio", "2077"), ("o da flroes", "1001"), ("o de 600 mega", "1002"),
        ("o 120", "1001"), ("RUA DAS FLORES", "1001"), ("o da boa vista", "2077"),
        ("fibra", None), ("qualquer um", None), ("ambos", None), ("9", None), ("", None),
        ("minha internet caiu", None),
    ],
)
def test_contract_choice(text, expected):
    assert contract_choice(text, CONTRACTS) == expected


def test_contract_choice_edge_cases():
    assert contract_choice("1", []) is None
    assert contract_choice("esse mesmo", [("77", "FIBRA 100MB")]) is None
    assert contract_choice("fibra", [("77", "FIBRA 100MB")]) == "77"
    assert contract_choice("C-1002", [("C-1001", "A"), ("C-1002", "B")]) == "C-1002"


@pytest.mark.parametrize(
    ("text", "intents"),
    [("", []), (" ", []), ("🙂" * 50, []), ("a" * 5000, []), ("1" * 300, []), ("?!.,;" * 20, []),
     ("\x00\u200b", []), ("ñ ç ß", []), ("boleto " * 200, [SC])],
)
def test_odd_input_is_handled(text, intents):
    """Empty, huge, repeated or invisible input: no crash, and nothing read into it that is not there."""
    assert detect_intents(text) == intents
    assert [document for document in find_documents(text) if document.valid] == []  # 1…1 fails the checksum
    assert menu_choice(text, 4) is None
    assert contract_choice(text, CONTRACTS) is None


# --- documents as customers really type them (issue #20 A1) ------------------------------------------------------

MARIA = Document(CPF_OK, "cpf", True)
PADARIA = Document(CNPJ_OK, "cnpj", True)


@pytest.mark.parametrize("text", [
    "529.982.247.25",  # a dot where the dash goes
    "529 982 247 25",
    "529-982-247-25",
    "529.982.247 25",
    "529982 247 25",
    "52998 224725",
    "5299 8224 725",  # groups nobody prints
    "52 998 224 725",
    "5 2 9 9 8 2 2 4 7 2 5",
    "529,982,247-25",  # commas
    "529 . 982 . 247 - 25",  # spaces around the separators
    "meu cpf e 52998224725 ok",
    "meu cpf eh 529.982.247.25 ta",
    "cpf 5299822 4725",
    "o cpf é 52.998.224.725",
    "segue o cpf: 529982247/25",
    "CPF 529.982.247-25.",
    "cpf do titular 529 982 247 25 obg",
    "dia 12/04/1985 529 982 247 25",  # a date before it
    "quero a 2 via, cpf 529.982.247.25 e meu zap 11 91234-0001",
    "tá aqui: 529.982.247-25 !!",
    "52998224725 esse é o cpf",
    "cpf52998224725",
    "５２９９８２２４７２５",  # full-width digits from some keyboards
])
def test_a_cpf_in_any_grouping(text):
    assert find_documents(text) == [MARIA]


@pytest.mark.parametrize("text", [
    "11.222.333/0001-81", "11.222.333.0001.81", "11 222 333 0001 81", "11222333000181", "11222 333 0001 81",
    "112 223 330 001 81", "cnpj 11.222.333/0001 81", "cnpj: 11-222-333-0001-81", "o cnpj é 11222333/0001-81",
    "empresa 11.222.333 0001 81",
])
def test_a_cnpj_in_any_grouping(text):
    assert find_documents(text) == [PADARIA]


@pytest.mark.parametrize("text", [
    "11 91234 0001",  # phones, with and without the country code, grouped like a document would be
    "11 9 1234 0001",
    "5511 91234 0001",
    "55 11 91234-0001",
    "meu zap 11 91234 0001",
    "liga no 11 9 9999 8888",
    "12 04 1985",  # dates
    "12.04.1985",
    "paguei 1.299,90 dia 12/04/1985",  # amounts
    "R$ 1.299,90",
    "protocolo 529 982 247 25",  # said to be something else
    "chamado 2611 2400 01",
    "1 2 3 4 5 6 7 8 9 0 1",  # a sequence failing the checksum
    "52998 2247 26",
    "23793.38128 60007.827136 95000.063305 9 84410000020000 e 529 982",  # a digitable line
    "CEP 01001-000",
])
def test_numbers_in_odd_groups_that_are_not_documents(text):
    assert find_documents(text) == []


def test_an_odd_grouping_said_to_be_a_cpf_is_reported_invalid():
    assert find_documents("cpf 5299 8224 726") == [Document("52998224726", "cpf", False)]


@pytest.mark.parametrize(("texts", "expected"), [
    (["529.982", "247-25"], [MARIA]),
    (["529", "982", "247 25"], [MARIA]),
    (["meu cpf é 529.982", "247-25"], [MARIA]),
    (["cpf 5299822", "4725"], [MARIA]),
    (["quero o boleto", "529.982", "247-25"], [MARIA]),
    (["11.222.333/", "0001-81"], [PADARIA]),
    (["11.222.333", "0001-81"], [PADARIA]),
    (["529.982.247-25", "12041985"], []),  # whole in one message already: nothing split
    (["529.982", "oi", "247-25"], []),  # words between the parts
    (["11 9", "1234-0001"], []),  # a phone in two parts
    (["529.982", "247-26"], []),  # the checksum fails
    (["meu telefone 11 9", "1234 0001"], []),
])
def test_a_document_split_over_messages(texts, expected):
    assert find_documents_across(texts) == expected


def test_a_split_document_counts_only_when_it_reaches_the_new_messages():
    assert find_documents_across(["529.982", "247-25", "obrigada"], newest=1) == []
    assert find_documents_across(["529.982", "247-25", "obrigada"], newest=2) == [MARIA]


@pytest.mark.parametrize(("text", "expected"), [
    ("529.982", True), ("529 982", True), ("meu cpf e 529 982", True), ("cpf 529.982.24", True),
    ("o cpf é 5299822", True), ("11.222.333/0001", True), ("cnpj 11.222.333", True),
    ("529.982.247-25", False), ("12", False), ("11 91234 0001", False), ("5511912340001", False),
    ("protocolo 12345", False), ("R$ 99,90", False), ("quero 2 boletos", False), ("529 e 982", False),
    ("paguei 150 reais", False),
])
def test_the_beginning_of_a_document(text, expected):
    assert document_fragment(text) is expected


# --- the identity question's answers (issue #20 B) ---------------------------------------------------------------

BORN = DateAnswer(12, 4, 1985)
BORN_85 = DateAnswer(12, 4, 85, two_digit_year=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("12/04/1985", BORN), ("12/4/1985", BORN), ("12/4/85", BORN_85), ("12/04/85", BORN_85), ("12041985", BORN),
    ("120485", BORN_85), ("19850412", BORN), ("1985-04-12", BORN), ("12-04-1985", BORN), ("12.04.1985", BORN),
    ("12 04 1985", BORN), ("12 de abril de 1985", BORN), ("12 de Abril de 1985!", BORN), ("12 abril 1985", BORN),
    ("12 abr 1985", BORN), ("12/abr/1985", BORN), ("12 de abr de 85", BORN_85), ("12 de abril, 1985", BORN),
    ("dia 12 de abril de 1985", BORN), ("nasci em 12/04/1985", BORN),
    ("minha data de nascimento é 12/04/85 ok", BORN_85),
    ("é 12/04/1985, obrigada", BORN), ("12 de abrl de 1985", BORN), ("1º de maio de 1980", DateAnswer(1, 5, 1980)),
    ("1o de maio de 1980", DateAnswer(1, 5, 1980)), ("3 de março de 1960", DateAnswer(3, 3, 1960)),
    ("3 dez 1960", DateAnswer(3, 12, 1960)), ("30 de setembro de 93", DateAnswer(30, 9, 93, two_digit_year=True)),
    ("29/02/84", DateAnswer(29, 2, 84, two_digit_year=True)),
    ("31/02/1985", None), ("12/13/1985", None), ("29/02/85", None), ("12/04/2999", None), ("12/04", None),
    ("doze de abril", None), ("não lembro", None), ("cpf 529.982.247-25", None), ("", None),
])
def test_a_date_of_birth_as_people_write_it(text, expected):
    assert find_date(text) == expected


def test_a_date_answer_matches_the_sgps_date():
    from datetime import date

    assert BORN.matches(date(1985, 4, 12)) and BORN_85.matches(date(1985, 4, 12))
    assert not BORN.matches(date(1985, 12, 4)) and not BORN.matches(date(1986, 4, 12)) and not BORN.matches(None)
    assert not DateAnswer(12, 4, 86, two_digit_year=True).matches(date(1985, 4, 12))


@pytest.mark.parametrize(("text", "expected"), [
    ("01001-000", "01001000"), ("01001000", "01001000"), ("01.001-000", "01001000"), ("01001 000", "01001000"),
    ("cep 01001-000", "01001000"), ("o cep é 03104002 obrigado", "03104002"), ("CEP: 03104 - 002", "03104002"),
    ("1001-000", None), ("12/04/1985", None), ("não sei o cep", None),
])
def test_a_cep_as_people_write_it(text, expected):
    assert find_postal_code(text) == expected


# --- two requests in one message, a connection check asked for (issue #20 A2) -----------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("libera minha internet e me manda o pix", [UNLOCK, SC]),
    ("libera a net e manda o boleto", [UNLOCK, SC]),
    ("desbloqueia e me manda a fatura pf", [UNLOCK, SC]),
    ("libera minha net e manda o pix q eu pago hj", [UNLOCK, SC]),
    ("libera ai e manda o codigo pix", [UNLOCK, SC]),
    ("me manda o pix e libera a internet", [SC, UNLOCK]),
    ("boleto e desbloqueio", [SC, UNLOCK]),
    ("quero a segunda via e ver se a internet ta normal", [SC, DOWN]),
    ("quero a segunda via e ver se a internet ta ok", [SC, DOWN]),
    ("me manda o boleto e ve se minha net ta funcionando", [SC, DOWN]),
    ("manda a 2 via e verifica minha conexao", [SC, DOWN]),
    ("2 via e checar a conexao", [SC, DOWN]),
    ("segunda via e ver a net", [SC, DOWN]),
    ("quero a 2via e tbm ver a internet que ta caindo", [SC, DOWN]),
    ("preciso da fatura e tbm saber pq a net ta lenta", [SC, DOWN]),
    ("quero o boleto e minha internet ta lenta", [SC, DOWN]),
])
def test_two_requests_in_one_message(text, expected):
    assert detect_intents(text) == expected


@pytest.mark.parametrize("text", [
    "ve se minha internet ta normal", "verifica minha conexao", "testa minha internet", "minha internet ta normal?",
    "ve se ta tudo certo com a internet", "da uma olhada na minha internet", "como ta minha conexao?",
    "status da conexao", "consulta minha conexao pf", "ve a minha internet entao", "confere minha net ai",
])
def test_a_connection_check_asked_for(text):
    assert detect_intents(text) == [DOWN]


@pytest.mark.parametrize(("text", "absent"), [
    ("quero saber o valor da internet", DOWN), ("quero ver minha fatura da internet", DOWN),
    ("a internet ta funcionando agora", DOWN), ("minha net ta ok agora, obrigado", DOWN),
    ("nao precisa ver a internet", DOWN),
])
def test_not_a_connection_check(text, absent):
    assert absent not in detect_intents(text)
