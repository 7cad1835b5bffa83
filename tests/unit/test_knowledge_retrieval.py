"""Retrieval from the knowledge base (api/brain/knowledge.py) on the demo's entries: accents and typos, the
threshold under which the bots say they don't know, coverage by neighbourhood and CEP."""

from __future__ import annotations

import uuid

import pytest

from api.brain.knowledge import Entry, Index, words
from niochat.knowledge_demo import RECIFE, SAO_PAULO, entries_for


def _index(city=SAO_PAULO) -> Index:
    return Index([Entry(uuid.uuid4(), e["category"], e["title"], e["answer"], tuple(e["keywords"]),
                        tuple(e["neighbourhoods"]), tuple(e["cep_prefixes"])) for e in entries_for(city)])


INDEX = _index()


def _best(question: str) -> str | None:
    found = INDEX.search(question)
    return found[0].entry.title if found else None


def test_each_demo_base_has_at_least_thirty_entries_of_every_category():
    for city in (SAO_PAULO, RECIFE):
        entries = entries_for(city)
        assert len(entries) >= 30
        assert {e["category"] for e in entries} == {"planos", "cobertura", "pagamento", "horario", "mudanca",
                                                    "instalacao", "faq"}


def test_words_are_folded_stemmed_and_without_stopwords():
    assert words("Quais são as INSTALAÇÕES dos planos?") == ["instalacao", "plano"]
    assert words("oi, bom dia! tudo bem?") == []


@pytest.mark.parametrize(("question", "title"), [
    ("qual o valor do plano de 300 mega", "Plano 300 Mega"),
    ("quanto custa o de 500 mega?", "Plano 500 Mega"),
    ("qual o preço do plano de 1 giga", "Plano 1 Giga"),
    ("horario de atendimento", "Horário de atendimento"),  # no accent
    ("que horas vcs abrem", "Horário de atendimento"),
    ("istalação demora quantos dias", "Prazo de instalação"),  # a typo
    ("qnto tempo pra instalar", "Prazo de instalação"),
    ("vou mudar de casa", "Mudança de endereço"),
    ("aceitam cartão?", "Pagamento por cartão"),
    ("onde eu pago", "Onde pagar a fatura"),
    ("fidelidadde do contrato", "Fidelidade do contrato"),  # a doubled letter
    ("vocês atendem no bairro Moema", "Cobertura na Zona Sul"),
])
def test_questions_find_their_entry(question, title):
    assert _best(question) == title


@pytest.mark.parametrize("question", [
    "oi", "bom dia", "vocês vendem celular?", "qual a capital da frança", "o cachorro comeu meu controle remoto",
    "quero falar com um atendente",
])
def test_below_the_threshold_nothing_is_answered(question):
    assert INDEX.search(question) == []


def test_a_known_category_lowers_the_bar_only_inside_it():
    question = "vou mudar de endereço, o que acontece com o contrato e com a conta?"
    assert INDEX.search(question) == []
    assert INDEX.search(question, category="mudanca")[0].entry.title == "Mudança de endereço"


@pytest.mark.parametrize(("place", "status", "region"), [
    ("Moema", "covered", "Cobertura na Zona Sul"),
    ("moro na vila mariana", "covered", "Cobertura na Zona Sul"),
    ("Pinheros", "covered", "Cobertura na Zona Oeste"),  # a typo
    ("04101-000", "covered", "Cobertura na Zona Sul"),
    ("meu cep é 03310000", "covered", "Cobertura na Zona Leste"),
    ("bairro Parelheiros", "not_covered", None),
    ("12345-678", "not_covered", None),
    ("sim", "no_place", None),
])
def test_coverage_by_neighbourhood_or_cep(place, status, region):
    found, entry = INDEX.coverage(place)
    assert (found, entry.title if entry else None) == (status, region)


def test_an_empty_base_answers_nothing():
    empty = Index([])
    assert empty.search("qual o valor do plano") == [] and empty.coverage("Moema") == ("no_coverage_data", None)
