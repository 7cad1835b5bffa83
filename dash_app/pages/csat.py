"""CSAT: distribution of ratings, daily trend of score and average, latest comments with their rating."""

from __future__ import annotations

from dash import Input, Output, html

from dash_app import theme
from dash_app.auth import require_tenant
from dash_app.components import Column, graph, table_block
from dash_app.deps import Deps, TableSpec, parse_period
from dash_app.pages.overview import _no_data

PATH, NAME, ORDER = "/csat", "CSAT", 2
TITLE = "Satisfação dos clientes (CSAT)"

TABLES = [TableSpec(
    "csat-comments", "Comentários mais recentes",
    [Column("responded_at_local", "Quando", theme.day_time),
     Column("rating", "Nota", lambda v: theme.RATING_LABELS.get(v, "—")),
     Column("comment", "Comentário"),
     Column("sentiment", "Sentimento", lambda v: {"positive": "positivo", "negative": "negativo",
                                                  "neutral": "neutro"}.get(v, v or "—"))],
    lambda deps, tenant, start, end: deps.marts.csat_comments(tenant, start, end),
    "Nenhum comentário no período.",
    "Os comentários aparecem quando o cliente escreve algo além da nota. "
    "Rode `niochat pipeline run` para atualizar os indicadores.",
    filename="csat-comentarios",
)]


def layout(**_):
    return html.Div([
        html.H2(TITLE),
        html.P("Notas de 1 a 5 da pesquisa enviada após o encerramento; CSAT = % de notas 4 e 5.",
               className="muted"),
        html.Div([graph("csat-distribution-graph"), graph("csat-trend-graph")], className="grid-2"),
        table_block("csat-comments", "Comentários mais recentes"),
    ])


def register(app, deps: Deps) -> None:
    @app.callback(Output("csat-distribution-graph", "figure"), Output("csat-trend-graph", "figure"),
                  Input("periodo", "data"))
    def figures(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        ratings = deps.marts.csat_distribution(tenant, start, end)
        counts = [row["responses"] for row in ratings]
        total = sum(counts)
        distribution = theme.figure("Distribuição das notas", yaxis_title="respostas", showlegend=False)
        distribution.add_bar(
            x=[theme.RATING_LABELS[row["rating"]] for row in ratings], y=counts,
            marker_color=[theme.RATING_COLORS[row["rating"]] for row in ratings],
            text=[theme.percent(row["share_pct"], 0) if total else "" for row in ratings],
            textposition="outside", hovertemplate="nota %{x}: %{y} respostas<extra></extra>",
        )
        daily = [row for row in deps.marts.daily_kpis(tenant, start, end) if row["csat_responses"]]
        days = [row["activity_date"] for row in daily]
        trend = theme.date_axis(theme.figure("CSAT por dia", margin=dict(l=70, r=70, t=60, b=40),
                                             yaxis=dict(title="% notas 4–5", range=[0, 105],
                                                                         ticksuffix="%"),
                                             yaxis2=dict(title="média (1–5)", range=[1, 5.2], overlaying="y", dtick=1,
                                                         side="right", showgrid=False)))
        trend.add_scatter(x=days, y=[theme.plain(row["csat_score_pct"]) for row in daily], name="CSAT (4–5)",
                          mode="lines+markers", line=dict(color=theme.PRIMARY),
                          hovertemplate="%{x|%d/%m}: %{y:.1f}%<extra>CSAT</extra>")
        trend.add_scatter(x=days, y=[theme.plain(row["csat_average"]) for row in daily], name="Média",
                          mode="lines+markers", yaxis="y2", line=dict(color=theme.SECONDARY, dash="dot"),
                          hovertemplate="%{x|%d/%m}: %{y:.2f}<extra>média</extra>")
        theme.integer_axis(distribution, counts)
        if not total:
            _no_data(distribution)
        if not daily:
            _no_data(trend)
        return distribution, trend
