"""Atendentes: per agent (the conversation's assignee, any role): name, conversations, human first-response
time, CSAT, from the `agg_agent_daily_kpis` mart (definitions in its YAML). Names come from the `dim_users` mart;
an assignee not synced yet shows by a short id."""

from __future__ import annotations

from collections import Counter

from dash import Input, Output, html

from dash_app import theme
from dash_app.auth import require_tenant
from dash_app.components import Column, graph, table_block
from dash_app.deps import Deps, TableSpec, parse_period
from dash_app.pages.overview import _no_data

PATH, NAME, ORDER = "/atendentes", "Atendentes", 4
TITLE = "Atendentes"


ROLES = {"agent": "Atendente", "manager": "Gestor(a)", "admin": "Administrador(a)", "superadmin": "Suporte NioChat"}


def agent_label(agent_id, name: str | None = None, active: bool | None = True) -> str:
    """The agent's name (two agents may share one: the short id tells them apart only when the name is missing)."""
    if not agent_id:
        return "—"
    label = name.strip() if name and name.strip() else f"Atendente {str(agent_id)[:8]}"
    return label if active is not False else f"{label} (inativo)"


def _agents(deps: Deps, tenant: str, start, end) -> list[dict]:
    rows = [{**row, "agent": agent_label(row["agent_user_id"], row["agent_name"], row["agent_active"]),
             "role": ROLES.get(row["agent_role"], row["agent_role"] or "—")}
            for row in deps.marts.agents(tenant, start, end)]
    labels = Counter(row["agent"] for row in rows)
    for row in rows:  # namesakes would share one bar in the charts
        if labels[row["agent"]] > 1:
            row["agent"] = f"{row['agent']} · {str(row['agent_user_id'])[:4]}"
    return rows


TABLES = [TableSpec(
    "agents", "Desempenho por atendente",
    [Column("agent", "Atendente"), Column("role", "Perfil"), Column("team_names", "Equipes"),
     Column("conversations_handled", "Conversas", theme.number),
     Column("conversations_closed", "Encerradas", theme.number), Column("agent_messages", "Mensagens", theme.number),
     Column("human_first_response_seconds_avg", "1ª resposta (da transferência)", theme.duration),
     Column("csat_responses", "Respostas CSAT", theme.number),
     Column("csat_score_pct", "CSAT (4–5)", theme.percent),
     Column("csat_average", "CSAT médio", lambda v: theme.number(v, 2))],
    _agents, "Nenhuma conversa com atendentes no período.",
    "Só aparecem conversas atribuídas a um atendente. Rode `niochat pipeline run` para atualizar os indicadores.",
    filename="atendentes",
)]


def layout(**_):
    return html.Div([
        html.H2(TITLE),
        html.P("Conversas atribuídas a cada atendente no período, tempo da transferência até a primeira resposta "
               "e a satisfação dos clientes atendidos.", className="muted"),
        html.Div([graph("agents-conversations-graph"), graph("agents-response-graph")], className="grid-2"),
        table_block("agents", "Desempenho por atendente"),
    ])


def register(app, deps: Deps) -> None:
    @app.callback(Output("agents-conversations-graph", "figure"), Output("agents-response-graph", "figure"),
                  Input("periodo", "data"))
    def figures(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        rows = _agents(deps, tenant, start, end)
        labels = [row["agent"] for row in rows]
        conversations = theme.figure("Conversas por atendente", showlegend=False, xaxis_title="conversas",
                                     margin=dict(l=150, r=16, t=48, b=40))
        handled = [row["conversations_handled"] for row in rows]
        conversations.add_bar(y=labels, x=handled, orientation="h",
                              marker_color=theme.PRIMARY, hovertemplate="%{y}: %{x} conversas<extra></extra>")
        conversations.update_yaxes(autorange="reversed")
        theme.integer_axis(conversations, handled, axis="x")
        response = theme.figure("1ª resposta humana, da transferência (minutos)", showlegend=False,
                                xaxis_title="minutos", margin=dict(l=150, r=16, t=48, b=40))
        minutes = [theme.minutes(row["human_first_response_seconds_avg"]) or 0 for row in rows]
        response.add_bar(y=labels, x=minutes, orientation="h", marker_color=theme.SECONDARY,
                         text=[theme.duration(row["human_first_response_seconds_avg"]) for row in rows],
                         textposition="auto", hovertemplate="%{y}: %{x:.1f} min<extra></extra>")
        response.update_yaxes(autorange="reversed")
        if not rows:
            _no_data(conversations)
            _no_data(response)
        return conversations, response
