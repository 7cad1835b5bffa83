"""IA & SGP: what customers asked the bot for (intents), what the tools did (invoices, tickets, unlocks...), why
conversations went to humans, SGP errors."""

from __future__ import annotations

from collections import defaultdict

from dash import Input, Output, html

from dash_app import theme
from dash_app.auth import require_tenant
from dash_app.components import Column, graph, table_block
from dash_app.deps import Deps, TableSpec, parse_period
from dash_app.pages.overview import _no_data

PATH, NAME, ORDER = "/ia-sgp", "IA & SGP", 3
TITLE = "IA e integração com o SGP"
CATEGORIES = {"invoice": "Fatura / 2ª via", "ticket": "Chamado", "unlock": "Desbloqueio de confiança",
              "connection": "Status da conexão", "identify": "Identificação do cliente",
              "handoff": "Transferência", "close": "Encerramento", "knowledge": "Base de conhecimento",
              "sales": "Cobertura e contratação", "other": "Outras"}

# fct_messages.intent: the NLU's intents plus the brains' own (api/brain/turn.py); tests keep the two in step.
INTENTS = {"second_copy": "2ª via da fatura", "connection_down": "Internet sem conexão",
           "trust_unlock": "Desbloqueio de confiança", "open_ticket": "Abrir chamado",
           "human": "Falar com atendente", "sales": "Contratar / comercial", "cancel": "Cancelamento",
           "greeting": "Saudação", "thanks_bye": "Agradecimento / despedida", "yes": "Sim", "no": "Não",
           "identify": "Identificação (CPF/CNPJ, contrato)", "not_understood": "Não entendida",
           "payment_notice": "Aviso de pagamento / comprovante", "billing_issue": "Cobrança / negociação",
           "knowledge": "Dúvida respondida pela base de conhecimento"}
# Turns that are part of any conversation rather than a request: listed after the requests, left out of the chart.
SMALL_TALK = frozenset({"greeting", "thanks_bye", "yes", "no", "identify"})
# conversations.handoff_reason codes (niochat.vocabulary.HANDOFF_REASONS); a model brain's or an agent's own words
# are shown as they are.
HANDOFF_REASONS = {"customer_request": "Cliente pediu um atendente", "identity_unverified": "Identidade não confirmada",
                   "not_understood": "O bot não entendeu", "contract_cancelled": "Contrato cancelado",
                   "cancel": "Pedido de cancelamento", "sales": "Assunto comercial",
                   "payment_receipt": "Comprovante de pagamento", "customer_media": "Foto, vídeo ou documento",
                   "agent_on_phone": "Atendente respondeu pelo celular",
                   "agent_took": "Atendente assumiu a conversa", "billing_issue": "Cobrança / negociação",
                   "ticket_type_unknown": "Tipo de chamado do SGP não configurado",
                   "sales_lead": "Novo cliente (lead comercial)",
                   "knowledge_no_match": "Dúvida fora da base de conhecimento"}
# tool_calls.outcome (niochat.vocabulary.TOOL_OUTCOMES)
OUTCOMES = {"found": "cliente encontrado", "several_contracts": "vários contratos", "not_found": "não encontrado",
            "phone_mismatch": "telefone não é o do cadastro", "document_not_typed": "documento não digitado",
            "invalid_document": "documento inválido", "ok": "ok", "unknown_contract": "contrato desconhecido",
            "sent": "enviada", "nothing_open": "nada em aberto", "online": "online", "offline": "offline",
            "opened": "aberto", "already_open": "já estava aberto", "granted": "concedido", "refused": "recusado",
            "transferred": "transferida", "closed": "encerrada", "sgp_not_configured": "SGP não configurado",
            "sgp_unavailable": "SGP indisponível", "sgp_auth_error": "SGP recusou o acesso",
            "sgp_error": "erro do SGP", "maintenance": "em manutenção",
            "ticket_type_unknown": "tipo de chamado não configurado no SGP",
            "verified": "titularidade confirmada", "mismatch": "dado de confirmação não confere",
            "too_many_attempts": "tentativas de confirmação esgotadas", "locked": "confirmação bloqueada",
            "factor_unavailable": "SGP sem dado para confirmar", "not_requested": "confirmação não pedida",
            "answer_not_typed": "resposta não digitada", "suspended": "contrato suspenso",
            "not_blocked": "contrato não bloqueado", "answered": "respondida pela base",
            "no_match": "sem resposta na base", "covered": "com cobertura", "not_covered": "sem cobertura",
            "no_place": "local não identificado", "no_coverage_data": "base sem bairros atendidos",
            "lead_created": "lead criado", "interest_registered": "interesse registrado",
            # follow-ups: a re-check scheduled and what it found; the promise reminder sent or skipped
            "scheduled": "agendado", "back_online": "conexão voltou", "still_offline": "ainda offline",
            "skipped_outside_window": "não enviado (fora da janela de 24 h)",
            "skipped_with_agent": "não enviado (conversa com atendente)",
            "skipped_too_soon": "não agendado (véspera já passou)"}


def _category(value) -> str:
    return CATEGORIES.get(value, value or "—")


def intent_label(value) -> str:
    return INTENTS.get(value, value or "—")


NO_REASON = "sem motivo registrado"


def reason_label(value) -> str:
    return HANDOFF_REASONS.get(value, value or "—")


def outcome_label(value) -> str:
    return OUTCOMES.get(value, value or "—")


def requests_first(rows: list[dict]) -> list[dict]:
    """The marts' busiest-first order, with the small-talk turns after every request."""
    return sorted(rows, key=lambda row: row["intent"] in SMALL_TALK)


def _intents(deps: Deps, tenant: str, start, end) -> list[dict]:
    return requests_first(deps.marts.intents(tenant, start, end))


def _handoff_reasons(deps: Deps, tenant: str, start, end) -> list[dict]:
    """Busiest first; a handoff without a recorded reason is named as such, in its place among the others."""
    rows = [{"reason": row["handoff_reason"] or NO_REASON, "conversations": row["handoffs"]}
            for row in deps.marts.handoff_reasons(tenant, start, end)]
    return sorted(rows, key=lambda row: (-row["conversations"], row["reason"]))


TABLES = [
    TableSpec("ai-intents", "O que os clientes pediram",
              [Column("intent", "Intenção", intent_label), Column("conversations", "Conversas", theme.number),
               Column("inbound_messages", "Mensagens", theme.number),
               Column("ai_resolution_rate_pct", "Resolvidas pela IA", theme.percent),
               Column("handoff_rate_pct", "Transferidas", theme.percent)],
              _intents, "Nenhuma intenção registrada no período.",
              "As intenções vêm das mensagens respondidas pelo bot. "
              "Rode `niochat pipeline run` para atualizar os indicadores.", filename="intencoes"),
    TableSpec("ai-tools", "Resultados das ferramentas",
              [Column("tool_category", "Categoria", _category), Column("tool", "Ferramenta"),
               Column("outcome", "Resultado", outcome_label), Column("tool_calls", "Chamadas", theme.number),
               Column("successful_calls", "Com sucesso", theme.number),
               Column("failed_calls", "Erros", theme.number),
               Column("latency_ms_avg", "Latência média (ms)", theme.number)],
              lambda deps, tenant, start, end: deps.marts.tool_outcomes(tenant, start, end),
              "Nenhuma ferramenta foi usada no período.", filename="ferramentas"),
    TableSpec("ai-handoffs", "Motivos de transferência para humanos",
              [Column("reason", "Motivo", reason_label), Column("conversations", "Conversas", theme.number)],
              _handoff_reasons, "Nenhuma conversa foi transferida no período.",
              filename="motivos-de-transferencia"),
    TableSpec("ai-sgp-errors", "Erros do SGP mais recentes",
              [Column("created_at_local", "Quando", theme.day_time), Column("tool", "Ferramenta"),
               Column("outcome", "Resultado", outcome_label), Column("error", "Erro"),
               Column("latency_ms", "Latência (ms)", theme.number)],
              lambda deps, tenant, start, end: deps.marts.sgp_errors(tenant, start, end),
              "Nenhum erro do SGP no período. 🎉",
              "Erros aparecem quando o sistema de gestão não responde ou recusa a chamada. "
              "Rode `niochat pipeline run` para atualizar os indicadores.", filename="erros-sgp"),
]


def layout(**_):
    return html.Div([
        html.H2(TITLE),
        html.P("O que os clientes pediram ao bot, o que o atendimento automático resolveu, o que foi para humanos "
               "e como o SGP respondeu.", className="muted"),
        graph("ai-intents-graph"),
        html.Div([graph("ai-outcomes-graph"), graph("ai-handoff-graph")], className="grid-2"),
        graph("ai-daily-graph"),
        table_block("ai-intents", "O que os clientes pediram"),
        table_block("ai-tools", "Resultados das ferramentas"),
        table_block("ai-handoffs", "Motivos de transferência para humanos"),
        table_block("ai-sgp-errors", "Erros do SGP mais recentes"),
    ])


def register(app, deps: Deps) -> None:
    @app.callback(Output("ai-intents-graph", "figure"), Input("periodo", "data"))
    def intents(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        rows = [row for row in _intents(deps, tenant, start, end) if row["intent"] not in SMALL_TALK]
        fig = theme.figure("O que os clientes pediram (conversas)", showlegend=False, xaxis_title="conversas",
                           margin=dict(l=230, r=16, t=48, b=40))
        fig.add_bar(y=[intent_label(row["intent"]) for row in rows], x=[row["conversations"] for row in rows],
                    orientation="h", marker_color=theme.PRIMARY,
                    customdata=[[theme.percent(row["ai_resolution_rate_pct"]), theme.percent(row["handoff_rate_pct"])]
                                for row in rows],
                    hovertemplate="%{y}: %{x} conversas<br>resolvidas pela IA: %{customdata[0]}"
                                  "<br>transferidas: %{customdata[1]}<extra></extra>")
        fig.update_yaxes(autorange="reversed")
        theme.integer_axis(fig, [row["conversations"] for row in rows], axis="x")
        if not rows:
            _no_data(fig)
        return fig

    @app.callback(Output("ai-outcomes-graph", "figure"), Output("ai-handoff-graph", "figure"),
                  Output("ai-daily-graph", "figure"), Input("periodo", "data"))
    def figures(period):
        tenant = require_tenant()
        start, end = parse_period(period)
        per_category: dict[str, dict[str, int]] = defaultdict(lambda: {"ok": 0, "no": 0, "error": 0})
        for row in deps.marts.tool_outcomes(tenant, start, end):
            bucket = per_category[row["tool_category"]]
            bucket["ok"] += row["successful_calls"]
            bucket["error"] += row["failed_calls"]
            bucket["no"] += row["calls_without_effect"]
        names = sorted(per_category, key=lambda c: -sum(per_category[c].values()))
        labels = [_category(name) for name in names]
        outcomes = theme.figure("Resultados das ferramentas", barmode="stack", xaxis_title="chamadas",
                                margin=dict(l=170, r=16, t=60, b=40))
        for key, label, color in (("ok", "Sucesso", theme.PRIMARY), ("no", "Sem efeito", theme.MUTED),
                                  ("error", "Erro", theme.DANGER)):
            outcomes.add_bar(y=labels, x=[per_category[n][key] for n in names], name=label, orientation="h",
                             marker_color=color, hovertemplate="%{y}: %{x}<extra>" + label + "</extra>")
        outcomes.update_yaxes(autorange="reversed")

        reasons = _handoff_reasons(deps, tenant, start, end)
        handoff = theme.figure("Motivos de transferência", showlegend=True,
                               legend=dict(orientation="v", x=1.02, y=0.5, xanchor="left", yanchor="middle"))
        handoff.add_pie(labels=[reason_label(row["reason"]) for row in reasons],
                        values=[row["conversations"] for row in reasons],
                        hole=0.5, textinfo="percent", sort=True,
                        hovertemplate="%{label}: %{value} conversas<extra></extra>")

        daily = deps.marts.daily_kpis(tenant, start, end)
        days = [row["activity_date"] for row in daily]
        per_day = theme.date_axis(theme.figure("Resultados por dia", yaxis_title="chamadas"))
        for key, label in (("invoices_sent", "Faturas enviadas"), ("tickets_opened", "Chamados abertos"),
                           ("unlocks_granted", "Desbloqueios"), ("sgp_errors", "Erros do SGP")):
            per_day.add_scatter(x=days, y=[row[key] for row in daily], name=label, mode="lines+markers",
                                hovertemplate="%{x|%d/%m}: %{y}<extra>" + label + "</extra>",
                                line=dict(color=theme.DANGER) if key == "sgp_errors" else None)
        theme.integer_axis(outcomes, [sum(per_category[n].values()) for n in names], axis="x")
        theme.integer_axis(per_day, [row[k] for row in daily for k in ("invoices_sent", "tickets_opened",
                                                                      "unlocks_granted", "sgp_errors")])
        if not names:
            _no_data(outcomes)
        if not reasons:
            _no_data(handoff)
        if not daily:
            _no_data(per_day)
        return outcomes, handoff, per_day
