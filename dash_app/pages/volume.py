"""Volume: messages and conversations per day and per hour, the weekday x hour heatmap, and conversations per
label (the agents' labels, counted on the day each conversation started)."""

from __future__ import annotations

from dash import Input, Output, html

from dash_app import theme
from dash_app.auth import require_tenant
from dash_app.components import Column, graph, table_block
from dash_app.deps import Deps, TableSpec, parse_period
from dash_app.pages.overview import _no_data

PATH, NAME, ORDER = "/volume", "Volume", 1
TITLE = "Volume de atendimento"


def _hourly(deps: Deps, tenant: str, start, end) -> list[dict]:
    rows = deps.marts.hourly_volume(tenant, start, end)
    return [{**row, "weekday": theme.WEEKDAYS[row["day_of_week"] - 1], "hour": f"{row['hour_of_day']:02d}h"}
            for row in rows]


TABLES = [
    TableSpec("volume-daily", "Volume por dia",
              [Column("activity_date", "Dia", theme.day),
               Column("conversations_started", "Conversas", theme.number),
               Column("inbound_messages", "Mensagens recebidas", theme.number),
               Column("outbound_messages", "Mensagens enviadas", theme.number),
               Column("conversations_handed_off", "Transferidas", theme.number)],
              lambda deps, tenant, start, end: deps.marts.daily_kpis(tenant, start, end),
              "Nenhuma mensagem no período.", filename="volume-por-dia"),
    TableSpec("volume-hourly", "Volume por dia da semana e hora",
              [Column("weekday", "Dia da semana"), Column("hour", "Hora"),
               Column("conversations", "Conversas", theme.number),
               Column("inbound", "Mensagens recebidas", theme.number),
               Column("outbound", "Mensagens enviadas", theme.number),
               Column("handoffs", "Transferências", theme.number)],
              _hourly, "Nenhuma mensagem no período.", filename="volume-por-hora"),
    TableSpec("volume-labels", "Conversas por etiqueta",
              [Column("label_name", "Etiqueta"), Column("conversations", "Conversas", theme.number)],
              lambda deps, tenant, start, end: deps.marts.labels(tenant, start, end),
              "Nenhuma conversa com etiqueta no período.",
              "As etiquetas que os atendentes põem nas conversas aparecem aqui.", filename="conversas-por-etiqueta"),
]


def layout(**_):
    return html.Div([
        html.H2(TITLE),
        html.P("Quando os clientes escrevem: por dia, por hora e por dia da semana (horário do provedor).",
               className="muted"),
        graph("volume-daily-graph"),
        html.Div([graph("volume-hour-graph"), graph("volume-heatmap")], className="grid-2"),
        table_block("volume-daily", "Volume por dia"),
        table_block("volume-hourly", "Volume por dia da semana e hora"),
        html.Div([graph("volume-labels-graph"), table_block("volume-labels", "Conversas por etiqueta")],
                 className="grid-2"),
    ])


def register(app, deps: Deps) -> None:
    @app.callback(Output("volume-daily-graph", "figure"), Output("volume-hour-graph", "figure"),
                  Output("volume-heatmap", "figure"), Input("periodo", "data"))
    def figures(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        daily = deps.marts.daily_kpis(tenant, start, end)
        hourly = deps.marts.hourly_volume(tenant, start, end)

        days = [row["activity_date"] for row in daily]
        per_day = theme.date_axis(theme.figure("Mensagens por dia", yaxis_title="mensagens", barmode="stack"))
        per_day.add_bar(x=days, y=[row["inbound_messages"] for row in daily], name="Recebidas",
                        hovertemplate="%{x|%d/%m}: %{y} recebidas<extra></extra>")
        per_day.add_bar(x=days, y=[row["outbound_messages"] for row in daily], name="Enviadas",
                        hovertemplate="%{x|%d/%m}: %{y} enviadas<extra></extra>")

        by_hour = [0] * 24
        grid = [[0] * 24 for _ in range(7)]
        for row in hourly:
            by_hour[row["hour_of_day"]] += row["inbound"] or 0
            grid[row["day_of_week"] - 1][row["hour_of_day"]] += row["inbound"] or 0
        hours = [f"{hour:02d}h" for hour in range(24)]
        per_hour = theme.figure("Mensagens recebidas por hora do dia", yaxis_title="mensagens")
        per_hour.add_bar(x=hours, y=by_hour, name="Recebidas", marker_color=theme.ACCENT,
                         hovertemplate="%{x}: %{y} mensagens<extra></extra>")
        heatmap = theme.figure("Mensagens recebidas: dia da semana × hora")
        heatmap.add_heatmap(x=hours, y=theme.WEEKDAYS, z=grid, colorscale="Teal", xgap=1, ygap=1,
                            hovertemplate="%{y} %{x}: %{z} mensagens<extra></extra>",
                            colorbar=dict(title="msgs"))
        heatmap.update_yaxes(autorange="reversed", showgrid=False)
        heatmap.update_xaxes(showgrid=False)
        theme.integer_axis(per_day, [(r["inbound_messages"] or 0) + (r["outbound_messages"] or 0) for r in daily])
        theme.integer_axis(per_hour, by_hour)
        if not daily:
            _no_data(per_day)
        if not hourly:
            _no_data(per_hour)
            _no_data(heatmap)
        return per_day, per_hour, heatmap

    @app.callback(Output("volume-labels-graph", "figure"), Input("periodo", "data"))
    def labels(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        rows = deps.marts.labels(tenant, start, end)
        fig = theme.figure("Conversas por etiqueta", showlegend=False, xaxis_title="conversas",
                           margin=dict(l=170, r=16, t=48, b=40))
        # each bar in the label's own colour, as agents see it in the workspace
        fig.add_bar(y=[row["label_name"] for row in rows], x=[row["conversations"] for row in rows],
                    orientation="h", marker_color=[row["label_color"] for row in rows],
                    hovertemplate="%{y}: %{x} conversas<extra></extra>")
        fig.update_yaxes(autorange="reversed", automargin=True, ticksuffix="  ")  # names up to 50 characters
        theme.integer_axis(fig, [row["conversations"] for row in rows], axis="x")
        if not rows:
            _no_data(fig)
        return fig
