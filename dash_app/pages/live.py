"""Ao vivo: conversations with the bot, waiting and with agents now, and messages per minute, from Redis."""

from __future__ import annotations

from datetime import datetime

from dash import Input, Output, dcc, html

from dash_app import theme
from dash_app.auth import require_tenant
from dash_app.components import empty_state, graph, kpi_card
from dash_app.deps import DEFAULT_TZ, Deps
from dash_app.live import read_live

PATH, NAME, ORDER = "/ao-vivo", "Ao vivo", 5
TITLE = "Ao vivo"
REFRESH_SECONDS = 5
WINDOW_MINUTES = 30
TABLES: list = []


def layout(**_):
    return html.Div([
        html.H2(TITLE),
        html.P(f"Atualizado a cada {REFRESH_SECONDS} segundos, direto dos contadores do atendimento (não depende "
               "do período escolhido).", className="muted"),
        dcc.Interval(id="live-interval", interval=REFRESH_SECONDS * 1000, n_intervals=0),
        html.Div(id="live-counters", className="kpi-grid"),
        html.Div(id="live-updated", className="muted small"),
        graph("live-minutes-graph"),
    ])


def register(app, deps: Deps) -> None:
    @app.callback(Output("live-counters", "children"), Output("live-minutes-graph", "figure"),
                  Output("live-updated", "children"), Input("live-interval", "n_intervals"))
    def refresh(_n):
        tenant = require_tenant()
        live = read_live(deps.redis, tenant, WINDOW_MINUTES)
        counters = live["counters"]
        times = [datetime.fromtimestamp(m * 60, DEFAULT_TZ).replace(tzinfo=None) for m in live["minutes"]]
        fig = theme.figure(f"Mensagens por minuto (últimos {WINDOW_MINUTES} min)", yaxis_title="mensagens",
                           barmode="group")
        fig.update_xaxes(tickformat="%H:%M", hoverformat="%d/%m %H:%M")
        fig.add_bar(x=times, y=live["inbound"], name="Recebidas",
                    hovertemplate="%{x|%H:%M}: %{y}<extra>recebidas</extra>")
        fig.add_bar(x=times, y=live["outbound"], name="Enviadas",
                    hovertemplate="%{x|%H:%M}: %{y}<extra>enviadas</extra>")
        theme.integer_axis(fig, live["inbound"] + live["outbound"])
        last5_in, last5_out = sum(live["inbound"][-5:]), sum(live["outbound"][-5:])
        if counters is None:
            cards = [empty_state("Sem contadores ao vivo no momento.",
                                 "O worker do NioChat (`niochat serve` ou `niochat worker`) atualiza estes números a "
                                 "cada poucos segundos; verifique se ele está rodando.", "live-empty")]
            updated = ""
        else:
            with_agents = counters["open"]
            cards = [
                kpi_card("Abertas agora", theme.number(counters["bot"] + counters["waiting"] + counters["open"]),
                         "bot + fila + atendentes"),
                kpi_card("Com o bot", theme.number(counters["bot"]), "atendimento automático"),
                kpi_card("Aguardando atendente", theme.number(counters["waiting"]), "na fila das equipes",
                         "bad" if counters["waiting"] else "good"),
                kpi_card("Com atendentes", theme.number(with_agents),
                         f"{theme.number(counters['assigned'])} atribuídas"),
                kpi_card("Mensagens (5 min)", theme.number(last5_in + last5_out),
                         f"{theme.number(last5_in)} recebidas · {theme.number(last5_out)} enviadas"),
            ]
            age = live["age_seconds"]
            updated = f"Contadores atualizados há {theme.duration(age)}." if age is not None else ""
        return cards, fig, updated
