"""The provider's knowledge base: entries the bots answer from, word for word (api/brain/knowledge.py)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.settings import refuse_nulls

Category = Literal["planos", "cobertura", "pagamento", "horario", "mudanca", "instalacao", "faq"]
CEP_PREFIX = re.compile(r"^\d{1,8}$")
ANSWER_HELP = "What the bot says, word for word: prices, deadlines and places exactly as the customer may read them"


def _words(values: list[str] | None, most: int, longest: int, what: str) -> list[str] | None:
    if values is None:
        return None
    cleaned = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(cleaned) > most:
        raise ValueError(f"no máximo {most} {what}")
    if any(len(v) > longest for v in cleaned):
        raise ValueError(f"cada item de {what} tem no máximo {longest} caracteres")
    return cleaned


def _prefixes(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    cleaned = list(dict.fromkeys(v.replace("-", "").strip() for v in values if v and v.strip()))
    if len(cleaned) > 200:
        raise ValueError("no máximo 200 prefixos de CEP")
    if bad := [v for v in cleaned if not CEP_PREFIX.match(v)]:
        raise ValueError(f"prefixo de CEP inválido: {bad[0]} (de 1 a 8 dígitos, por exemplo 04101 ou 04101000)")
    return cleaned


class KnowledgeOut(BaseModel):
    id: uuid.UUID
    category: Category
    title: str
    answer: str
    keywords: list[str]
    neighbourhoods: list[str] = Field(description="cobertura: the neighbourhoods covered")
    cep_prefixes: list[str] = Field(description="cobertura: CEP prefixes covered (1 to 8 digits)")
    is_active: bool
    created_at: datetime
    updated_at: datetime


class _Checked(BaseModel):
    @field_validator("keywords", check_fields=False)
    @classmethod
    def valid_keywords(cls, value: list[str] | None) -> list[str] | None:
        return _words(value, 30, 40, "palavras-chave")

    @field_validator("neighbourhoods", check_fields=False)
    @classmethod
    def valid_neighbourhoods(cls, value: list[str] | None) -> list[str] | None:
        return _words(value, 200, 80, "bairros")

    @field_validator("cep_prefixes", check_fields=False)
    @classmethod
    def valid_prefixes(cls, value: list[str] | None) -> list[str] | None:
        return _prefixes(value)


class KnowledgeCreate(_Checked):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: Category
    title: str = Field(min_length=1, max_length=200, description="The question or the entry's name",
                       examples=["Plano 300 Mega"])
    answer: str = Field(min_length=1, max_length=2000, description=ANSWER_HELP)
    keywords: list[str] = Field(default_factory=list, description="Other words customers use for it")
    neighbourhoods: list[str] = Field(default_factory=list)
    cep_prefixes: list[str] = Field(default_factory=list)
    is_active: bool = True


class KnowledgePatch(_Checked):
    """Only the keys given change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: Category | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    answer: str | None = Field(None, min_length=1, max_length=2000, description=ANSWER_HELP)
    keywords: list[str] | None = None
    neighbourhoods: list[str] | None = None
    cep_prefixes: list[str] | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def no_nulls(self) -> KnowledgePatch:
        return refuse_nulls(self)


class KnowledgeMatch(BaseModel):
    entry_id: uuid.UUID
    category: Category
    title: str
    answer: str
    score: float = Field(description="BM25 score of the entry for the question")
    share: float = Field(description="Share of the question's words the entry holds")


class KnowledgeSearch(BaseModel):
    question: str
    matches: list[KnowledgeMatch] = Field(description="Best first; empty: the bots say they do not know")
