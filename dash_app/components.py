"""Building blocks shared by the pages: KPI cards, tables with CSV download, empty states."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dash import dcc, html

from dash_app import theme

PIPELINE_HINT = "Rode `niochat pipeline run` para atualizar os indicadores."


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fmt: Callable[[object], str] = lambda value: "—" if value is None else str(value)


def empty_state(title: str, hint: str = PIPELINE_HINT, component_id: str | None = None) -> html.Div:
    props = {"id": component_id} if component_id else {}
    return html.Div([html.Strong(title), html.Br(), dcc.Markdown(hint, className="hint")],
                    className="empty-state", **props)


def kpi_card(label: str, value: str, change: str | None = None, tone: str = "neutral",
             help_text: str = "") -> html.Div:
    return html.Div([
        html.Div(label, className="kpi-label"),
        html.Div(value, className="kpi-value"),
        html.Div(change or "sem período anterior", className=f"kpi-change {tone}"),
    ], className="kpi-card", title=help_text)


def table_block(table_id: str, title: str) -> html.Div:
    """A titled table area filled by a callback, with its CSV download button."""
    return html.Div([
        html.Div([
            html.H3(title),
            html.Button("Baixar CSV", id=f"{table_id}-csv-button", n_clicks=0, className="csv-button"),
        ], className="table-head"),
        dcc.Loading(html.Div(id=f"{table_id}-table"), type="dot"),
        dcc.Download(id=f"{table_id}-csv"),
    ], className="panel table-panel")


def render_table(rows: Sequence[dict], columns: Sequence[Column], empty: html.Div) -> html.Div | html.Table:
    if not rows:
        return empty
    return html.Table([
        html.Thead(html.Tr([html.Th(column.label) for column in columns])),
        html.Tbody([html.Tr([html.Td(column.fmt(row.get(column.key))) for column in columns]) for row in rows]),
    ], className="data-table")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A cell a spreadsheet would run as a formula (a customer's comment "=HYPERLINK(...)") starts with ' instead."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Sequence[dict], columns: Sequence[Column]) -> str:
    """Semicolon-separated with a BOM: what spreadsheet software set to Portuguese opens as columns. Cells that
    would start a formula are neutralized (CSV injection: customers write the comments)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow([safe_cell(column.label) for column in columns])
    for row in rows:
        writer.writerow([safe_cell(column.fmt(row.get(column.key))) for column in columns])
    return buffer.getvalue()


def graph(graph_id: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=graph_id, config=theme.GRAPH_CONFIG, className="graph"), type="dot")
