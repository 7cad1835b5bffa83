"""The inbox's pages: the API's offset and total, one page of rows at a time (the counts stay the totals)."""

from __future__ import annotations

PAGE = 100


def moved(trigger: str | None, offset: int | None) -> int:
    """The offset after a click on the page buttons; any other change (view, filters, search) starts over."""
    offset = offset or 0
    if trigger == "ws-page-next":
        return offset + PAGE
    if trigger == "ws-page-prev":
        return max(0, offset - PAGE)
    return 0


def clamped(offset: int | None, total: int) -> int:
    """Within the rows there are now (a list that shrank while the agent was on a later page shows its last)."""
    offset = max(0, offset or 0)
    if offset >= total > 0:
        return (total - 1) // PAGE * PAGE
    return offset


def summary(offset: int, shown: int, total: int) -> str:
    if total <= PAGE:
        return ""
    return f"{offset + 1}–{offset + shown} de {total}"
