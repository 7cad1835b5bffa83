"""Visão geral: the headline KPIs with their change against the previous period, and the daily trend."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Input, Output, html

from dash_app import theme
from dash_app.auth import require_tenant
from dash_app.components import Column, empty_state, graph, kpi_card, table_block
from dash_app.deps import Deps, TableSpec, parse_period
from niochat import kpis

PATH, NAME, ORDER = "/", "Visão geral", 0
TITLE = "Visão geral"


def _daily(deps: Deps, tenant: str, start, end) -> list[dict]:
    return deps.marts.daily_kpis(tenant, start, end)


TABLES = [TableSpec(
    "overview-daily", "Indicadores por dia",
    [Column("activity_date", "Dia", theme.day),
     Column("conversations_started", "Conversas", theme.number),
     Column("conversations_closed", "Encerradas", theme.number),
     Column("ai_resolution_rate_pct", "Resolvidas pela IA", theme.percent),
     Column("handoff_rate_pct", "Transferidas", theme.percent),
     Column("bot_first_response_seconds_avg", "1ª resposta do bot", theme.duration),
     Column("human_first_response_seconds_avg", "1ª resposta humana", theme.duration),
     Column("resolution_seconds_avg", "Tempo de resolução", theme.duration),
     Column("csat_score_pct", "CSAT (4–5)", theme.percent),
     Column("csat_average", "CSAT médio", lambda v: theme.number(v, 2))],
    _daily, "Nenhum indicador no período.", filename="indicadores-por-dia",
)]


def layout(**_):
    return html.Div([
        html.H2(TITLE),
        html.P("Como o atendimento foi no período escolhido, comparado ao período anterior de mesma duração.",
               className="muted"),
        html.Div(id="overview-kpis", className="kpi-grid"),
        html.Div([graph("overview-volume-graph"), graph("overview-rates-graph")], className="grid-2"),
        table_block("overview-daily", "Indicadores por dia"),
    ])


# (label, the period's column (agg_tenant_daily_kpis' name, divided by niochat/kpis.py), formatter, higher is
# better, help)
METRICS = [
    ("Conversas", "conversations_started", theme.number, True, "Conversas iniciadas no período."),
    ("Resolução pela IA", "ai_resolution_rate_pct", theme.percent, True,
     "Encerradas sem nenhuma mensagem de atendente ÷ encerradas."),
    ("1ª resposta do bot", "bot_first_response_seconds_avg", theme.duration, False,
     "Média do tempo até a primeira resposta do bot."),
    ("1ª resposta humana", "human_first_response_seconds_avg", theme.duration, False,
     "Média do tempo da transferência até a primeira resposta de um atendente."),
    ("Tempo de resolução", "resolution_seconds_avg", theme.duration, False,
     "Média do tempo da abertura ao encerramento."),
    ("CSAT", "csat_score_pct", theme.percent, True, "Respostas 4 ou 5 ÷ respostas da pesquisa de satisfação."),
]


def _change(current, previous, fmt, higher_is_better: bool, is_percent: bool) -> tuple[str, str]:
    if current is None or previous is None:
        return "sem dados no período anterior", "neutral"
    delta = current - previous
    if not delta:
        return "= período anterior", "neutral"
    arrow = "▲" if delta > 0 else "▼"
    tone = "good" if (delta > 0) == higher_is_better else "bad"
    if is_percent:
        text = f"{arrow} {theme.number(abs(delta), 1)} p.p. vs. período anterior"
    elif fmt is theme.duration:
        text = f"{arrow} {theme.duration(abs(delta))} vs. período anterior"
    elif (change := kpis.change_pct(current, previous)) is not None:
        text = f"{arrow} {theme.number(abs(change), 1)}% vs. período anterior"
    else:
        text = f"{arrow} {theme.number(abs(delta))} vs. período anterior"
    return text, tone


def register(app, deps: Deps) -> None:
    @app.callback(Output("overview-kpis", "children"), Input("periodo", "data"))
    def kpis(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        totals = deps.marts.period_totals(tenant, start, end)
        current, previous = totals.get("current"), totals.get("previous")
        if not current:
            return empty_state("Ainda não há conversas neste período.",
                               "Escolha outro período ou rode `niochat pipeline run` para atualizar os indicadores.")
        cards = []
        for label, column, fmt, higher, help_text in METRICS:
            value = current[column]
            before = previous[column] if previous else None
            change, tone = _change(value, before, fmt, higher, fmt is theme.percent)
            cards.append(kpi_card(label, fmt(value), change, tone, help_text))
        return cards

    @app.callback(Output("overview-volume-graph", "figure"), Output("overview-rates-graph", "figure"),
                  Input("periodo", "data"))
    def trend(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        rows = deps.marts.daily_kpis(tenant, start, end)
        days = [row["activity_date"] for row in rows]
        volume = theme.date_axis(theme.figure("Conversas por dia", yaxis_title="conversas"))
        volume.add_bar(x=days, y=[row["conversations_started"] for row in rows], name="Iniciadas",
                       hovertemplate="%{x|%d/%m}: %{y} conversas<extra></extra>")
        volume.add_scatter(x=days, y=[row["conversations_handed_off"] for row in rows], name="Transferidas",
                           mode="lines+markers", hovertemplate="%{x|%d/%m}: %{y} transferidas<extra></extra>")
        theme.integer_axis(volume, [row["conversations_started"] for row in rows])
        rates = theme.date_axis(theme.figure("Resolução pela IA e CSAT (%)", yaxis_title="%"))
        rates.update_yaxes(range=[0, 105], ticksuffix="%")
        for key, label, color in (("ai_resolution_rate_pct", "Resolução pela IA", theme.PRIMARY),
                                  ("csat_score_pct", "CSAT (4–5)", theme.SECONDARY)):
            rates.add_scatter(x=days, y=[theme.plain(row[key]) for row in rows], name=label, mode="lines+markers",
                              connectgaps=True, line=dict(color=color),
                              hovertemplate="%{x|%d/%m}: %{y:.1f}%<extra>" + label + "</extra>")
        if not rows:
            for fig in (volume, rates):
                _no_data(fig)
        return volume, rates


def _no_data(fig: go.Figure) -> None:
    fig.add_annotation(text="Sem dados no período", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(size=14, color=theme.MUTED))
