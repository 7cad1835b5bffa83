"""One look for every figure, and Brazilian Portuguese number, time and date formats."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import plotly.graph_objects as go
import plotly.io as pio

PRIMARY = "#0b7a75"
SECONDARY = "#f2a541"
ACCENT = "#3d5a80"
DANGER = "#d1495b"
MUTED = "#8d99ae"
COLORWAY = [PRIMARY, SECONDARY, ACCENT, DANGER, "#6a994e", "#9c6644", MUTED]
RATING_COLORS = {1: "#d1495b", 2: "#ef8354", 3: "#f2c14e", 4: "#7bc67b", 5: "#2a9d8f"}
# Words, not emoji: not every browser/OS has a font with the survey's emoji.
RATING_LABELS = {1: "1 · Péssimo", 2: "2 · Ruim", 3: "3 · Regular", 4: "4 · Bom", 5: "5 · Ótimo"}
WEEKDAYS = ["Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom"]  # ISO 1..7
TEMPLATE_NAME = "niochat"

pio.templates[TEMPLATE_NAME] = go.layout.Template(
    layout=dict(
        font=dict(family="Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif", size=13, color="#1f2933"),
        colorway=COLORWAY,
        paper_bgcolor="white",
        plot_bgcolor="white",
        separators=",.",  # decimal comma, thousands dot
        margin=dict(l=48, r=16, t=48, b=40),
        title=dict(x=0, xanchor="left", font=dict(size=15)),
        hoverlabel=dict(font=dict(size=12)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
        xaxis=dict(gridcolor="#eef1f4", linecolor="#cbd2d9", zeroline=False),
        yaxis=dict(gridcolor="#eef1f4", linecolor="#cbd2d9", zeroline=False, rangemode="tozero"),
    )
)
GRAPH_CONFIG = {"displaylogo": False, "locale": "pt-BR",
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def figure(title: str, **layout) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE_NAME, title=title, **layout)
    return fig


def date_axis(fig: go.Figure) -> go.Figure:
    fig.update_xaxes(tickformat="%d/%m", hoverformat="%d/%m/%Y")
    return fig


def integer_axis(fig: go.Figure, values, axis: str = "y") -> go.Figure:
    """Counts get whole-number ticks (no 0,5 conversation)."""
    top = max([v for v in values if v is not None] or [0])
    if top <= 10:
        fig.update_layout(**{f"{axis}axis": dict(dtick=1, tickformat=",d")})
    else:
        fig.update_layout(**{f"{axis}axis": dict(tickformat=",d")})
    return fig


def _float(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def number(value, decimals: int = 0) -> str:
    value = _float(value)
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def percent(value, decimals: int = 1) -> str:
    return "—" if _float(value) is None else f"{number(value, decimals)}%"


def money(value) -> str:
    return "—" if _float(value) is None else f"R$ {number(value, 2)}"


def duration(seconds) -> str:
    """12 s, 3 min 05 s, 2 h 10 min, 3 d 4 h."""
    seconds = _float(seconds)
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def day(value: date | datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def day_time(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%d/%m/%Y %H:%M")


def minutes(seconds) -> float | None:
    """A duration in seconds as minutes, for an axis in minutes."""
    seconds = _float(seconds)
    return None if seconds is None else seconds / 60


def plain(value):
    """JSON/CSV-friendly value: Decimal -> float, dates ISO."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
