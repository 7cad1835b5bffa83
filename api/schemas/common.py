"""Shapes every resource shares: a page of results."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int = Field(description="How many rows match the filters (all pages)")
    limit: int
    offset: int


class ValidationIssue(BaseModel):
    """One invalid field, as FastAPI reports request validation errors."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer of the API: a sentence, or (422 on invalid input) the list of invalid fields."""

    detail: str | list[ValidationIssue]
