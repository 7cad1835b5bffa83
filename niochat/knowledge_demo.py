"""The demo providers' knowledge bases: plans and prices, covered neighbourhoods and CEPs, payment places, hours,
moving house, installation, Wi-Fi FAQ. Provisioning seeds a tenant's base once (an edited base is kept), and the
scenario runner gives each scenario's tenant the same base, so what the simulated customers ask has an answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from niochat.tables import knowledge_entries


@dataclass(frozen=True)
class City:
    company: str
    city: str
    prices: dict[str, str]  # plan -> monthly price, "99,90"
    regions: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # region -> (neighbourhoods, CEP prefixes)
    not_covered: tuple[str, ...]  # neighbourhoods the provider does not reach yet (said in the coverage FAQ)
    store: str  # the shop's address
    hours: str  # the human team's hours, as the customer reads them


SAO_PAULO = City(
    company="Provedor Demo",
    city="São Paulo",
    prices={"300": "99,90", "500": "119,90", "700": "149,90", "1 Giga": "199,90"},
    regions={
        "Zona Sul": (("Vila Mariana", "Moema", "Saúde", "Ipiranga", "Jabaquara"), ("040", "041", "042", "043")),
        "Zona Oeste": (("Pinheiros", "Lapa", "Perdizes", "Butantã", "Vila Madalena"), ("050", "051", "053", "054")),
        "Zona Leste": (("Tatuapé", "Mooca", "Penha", "Vila Prudente"), ("031", "032", "033", "036")),
        "Centro": (("Bela Vista", "Liberdade", "Consolação", "República"), ("010", "011", "013", "015")),
    },
    not_covered=("Parelheiros", "Perus", "Cidade Tiradentes"),
    store="Rua Domingos de Morais, 1200, Vila Mariana",
    hours="segunda a sexta, das 8h às 18h, e sábado, das 8h às 12h",
)

RECIFE = City(
    company="Veloz Fibra",
    city="Recife",
    prices={"300": "89,90", "500": "109,90", "700": "139,90", "1 Giga": "189,90"},
    regions={
        "Zona Sul": (("Boa Viagem", "Pina", "Imbiribeira", "Ipsep", "Setúbal"), ("510", "511", "512")),
        "Zona Norte": (("Casa Amarela", "Casa Forte", "Espinheiro", "Graças", "Aflitos"), ("520", "521", "522")),
        "Zona Oeste": (("Madalena", "Torre", "Cordeiro", "Várzea", "Iputinga"), ("506", "507", "508")),
        "Centro": (("Boa Vista", "Santo Amaro", "São José", "Derby"), ("500", "501", "502")),
    },
    not_covered=("Ibura", "Jordão", "Nova Descoberta"),
    store="Av. Conselheiro Aguiar, 2500, Boa Viagem",
    hours="segunda a sábado, das 7h às 22h, e domingo, das 8h às 14h",
)


def _entry(category: str, title: str, answer: str, keywords: str = "", neighbourhoods: tuple[str, ...] = (),
           cep_prefixes: tuple[str, ...] = ()) -> dict:
    return {"category": category, "title": title, "answer": answer, "keywords": keywords.split(),
            "neighbourhoods": list(neighbourhoods), "cep_prefixes": list(cep_prefixes)}


def entries_for(city: City) -> list[dict]:
    """At least 30 entries, in Portuguese, as a Brazilian provider writes them."""
    p = city.prices
    plans = [
        _entry("planos", f"Plano {speed}{'' if 'Giga' in speed else ' Mega'}",
               f"O plano {speed}{'' if 'Giga' in speed else ' Mega'} de fibra óptica custa R$ {p[speed]} por mês, "
               f"com Wi-Fi incluso e instalação grátis.", f"valor preco quanto custa mensalidade {keywords}")
        for speed, keywords in (("300", "basico barato"), ("500", "intermediario"), ("700", "rapido"),
                                ("1 Giga", "giga 1000 mais rapido gamer"))
    ]
    listing = "; ".join(f"{s}{'' if 'Giga' in s else ' Mega'} por R$ {v}" for s, v in p.items())
    coverage = [
        _entry("cobertura", f"Cobertura na {region}",
               f"Atendemos na {region} de {city.city}: {', '.join(names)}.",
               "cobertura atende atendem chega bairro regiao disponivel", names, prefixes)
        for region, (names, prefixes) in city.regions.items()
    ]
    everywhere = ", ".join(region for region in city.regions)
    return [
        *plans,
        _entry("planos", "Quais são os planos", f"Nossos planos de fibra: {listing}. Todos com Wi-Fi e sem franquia.",
               "planos opcoes velocidades tabela precos valores lista"),
        _entry("planos", "Fidelidade do contrato", "O contrato tem fidelidade de 12 meses. Quem cancela antes paga "
               "uma multa proporcional aos meses que faltam.", "fidelidade multa contrato meses carencia"),
        _entry("planos", "Trocar de plano", "Para mudar de plano (upgrade ou downgrade) é só pedir aqui: a troca "
               "vale no próximo ciclo e não tem custo.", "trocar mudar upgrade downgrade aumentar velocidade"),
        *coverage,
        _entry("cobertura", "Onde vocês atendem", f"Atendemos {city.city} nas regiões: {everywhere}. Para saber "
               f"se chegamos no seu endereço, me diga o bairro ou o CEP.", "cobertura area cidade regioes"),
        _entry("cobertura", "Bairros ainda sem cobertura", f"Ainda não chegamos em {', '.join(city.not_covered)}, "
               "mas estamos expandindo: podemos anotar seu interesse.", "expansao previsao chegar"),
        _entry("pagamento", "Onde pagar a fatura", "Você pode pagar a fatura por PIX, no app do seu banco com o "
               "código de barras, em qualquer casa lotérica ou agência bancária, e pelo nosso aplicativo.",
               "pagar pago pagamento onde loterica lotericas banco boleto pix aceita aceitam formas"),
        _entry("pagamento", "Pagamento por cartão", "Aceitamos cartão de crédito pelo nosso aplicativo e débito "
               "automático em conta (Itaú, Bradesco, Caixa, Banco do Brasil e Santander).",
               "cartao credito debito automatico conta aceita aceitam"),
        _entry("pagamento", "Mudar a data de vencimento", "Os vencimentos disponíveis são dia 5, 10, 15, 20 e 25. "
               "A troca pode ser feita uma vez a cada 6 meses, pedindo aqui.", "vencimento data dia trocar mudar"),
        _entry("pagamento", "Pagamento atrasado", "Depois do vencimento a fatura tem multa de 2% e juros de 1% ao "
               "mês. Com 15 dias de atraso o acesso é suspenso até o pagamento.",
               "atraso atrasada atrasado multa juros suspensao"),
        _entry("pagamento", "Nota fiscal", "A nota fiscal de cada mês chega no seu e-mail e também fica no "
               "aplicativo, em Financeiro.", "nota fiscal nf email comprovante"),
        _entry("horario", "Horário de atendimento", f"Nosso atendimento humano funciona {city.hours}. Aqui no "
               "WhatsApp eu respondo a qualquer hora.", "horario atendimento funcionamento abre fecha hora"),
        _entry("horario", "Suporte técnico de madrugada", "O suporte técnico por aqui funciona 24 horas para "
               "verificar sua conexão e abrir chamados; visitas técnicas são das 8h às 18h.",
               "madrugada noite 24 horas domingo feriado suporte"),
        _entry("horario", "Endereço da loja", f"Nossa loja fica na {city.store}, e abre {city.hours}.",
               "loja endereco escritorio presencial pessoalmente"),
        _entry("mudanca", "Mudança de endereço", "Para levar a internet para o novo endereço, me diga o CEP ou o "
               "bairro novo: se tivermos cobertura, agendamos a transferência. A taxa de mudança é R$ 50,00.",
               "mudanca mudar endereco casa transferir transferencia levar"),
        _entry("mudanca", "Prazo da mudança de endereço", "A transferência para o novo endereço é feita em até 5 "
               "dias úteis depois do pedido.", "prazo mudanca demora transferencia dias"),
        _entry("instalacao", "Prazo de instalação", "A instalação é feita em até 3 dias úteis depois da "
               "contratação, com horário agendado com você.", "prazo instalar instalacao demora tempo dias quando"),
        _entry("instalacao", "Taxa de instalação", "A instalação é grátis nos planos com fidelidade de 12 meses. "
               "Sem fidelidade, a taxa é R$ 150,00.", "taxa instalacao custo custa gratis gratuita"),
        _entry("instalacao", "Documentos para contratar", "Para contratar basta um documento com foto, o CPF e um "
               "comprovante de endereço no nome do titular.", "documentos contratar precisa comprovante"),
        _entry("instalacao", "Ponto adicional", "Um ponto adicional de Wi-Fi (roteador mesh) custa R$ 20,00 por "
               "mês, instalado na mesma visita.", "ponto adicional extra mesh repetidor"),
        _entry("faq", "Reiniciar o roteador", "Para reiniciar o roteador, tire-o da tomada, espere 30 segundos e "
               "ligue de novo. Espere 2 minutos até as luzes estabilizarem.", "reiniciar roteador modem desligar"),
        _entry("faq", "Trocar a senha do Wi-Fi", "A senha do Wi-Fi pode ser trocada no nosso aplicativo, em Meu "
               "Wi-Fi. Se preferir, um atendente troca para você.", "senha wifi trocar mudar rede nome"),
        _entry("faq", "Wi-Fi não alcança a casa toda", "Paredes e distância enfraquecem o Wi-Fi. Deixe o roteador "
               "num lugar alto e central; para casas grandes, o ponto adicional mesh resolve.",
               "alcance sinal fraco quarto longe parede"),
        _entry("faq", "Velocidade no Wi-Fi menor que a contratada", "No Wi-Fi a velocidade depende do aparelho e "
               "da distância. Faça o teste com cabo ou perto do roteador, na rede de 5G.",
               "velocidade teste speedtest menor contratada 5g"),
        _entry("faq", "IP fixo", "Oferecemos IP fixo por R$ 30,00 por mês, para planos a partir de 500 Mega.",
               "ip fixo publico servidor camera"),
        _entry("faq", "Franquia de dados", "Nossos planos não têm franquia: você navega à vontade, sem limite de "
               "dados.", "franquia limite dados ilimitado"),
        _entry("faq", "Aplicativo", f"O aplicativo da {city.company} está na Play Store e na App Store: nele você "
               "vê faturas, troca a senha do Wi-Fi e acompanha chamados.", "aplicativo app baixar celular"),
        _entry("faq", "Roteador é comodato", "O roteador é nosso, em comodato: se der defeito trocamos sem custo. "
               "No cancelamento ele deve ser devolvido.", "roteador comodato devolver defeito queimou"),
        _entry("faq", "Visita técnica tem custo", "A visita técnica é grátis quando o problema é na nossa rede ou "
               "no nosso equipamento; por mau uso, custa R$ 60,00.", "visita tecnica custo cobrada tecnico"),
    ]


def seed(conn: Connection, tenant_id, city: City) -> int:
    """The city's entries into a tenant that has none (an edited or emptied-on-purpose base is not refilled
    while it has a row); returns how many were written."""
    if conn.scalar(select(func.count()).select_from(knowledge_entries)
                   .where(knowledge_entries.c.tenant_id == tenant_id)):
        return 0
    rows = [{"tenant_id": tenant_id, **entry} for entry in entries_for(city)]
    conn.execute(insert(knowledge_entries), rows)
    return len(rows)
