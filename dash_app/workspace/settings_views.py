"""What the settings page shows of the API's answers: the teams with their members, the labels with their colour,
the quick replies with their scope, and a quick reply's text as an example customer would receive it."""

from __future__ import annotations

import re

from dash import html

ROLES = {"agent": "atendente", "manager": "gestor", "admin": "administrador", "superadmin": "superadmin"}
# The example customer of the preview; the agent is whoever looks.
EXAMPLE = {"primeiro_nome": "Maria", "nome": "Maria Silva", "protocolo": "2024001234"}
VARIABLE = re.compile(r"\{([a-z_]+)\}")  # as the API reads a quick reply's variables
VARIABLES_HELP = "Variáveis: {primeiro_nome}, {nome}, {protocolo}, {agente}."


def _table(head: list[str], rows: list[list], empty: str, table_id: str) -> html.Div | html.Table:
    if not rows:
        return html.Div(empty, className="empty-state", id=f"{table_id}-empty")
    return html.Table([html.Thead(html.Tr([html.Th(label) for label in head])),
                       html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows])],
                      className="data-table", id=table_id)


def user_label(user: dict) -> str:
    return f"{user['name']} ({ROLES.get(user['role'], user['role'])})"


def teams_table(teams: list[dict], users: dict[str, dict]) -> html.Div | html.Table:
    rows = []
    for team in teams:
        names = sorted(users[uid]["name"] if uid in users else "—" for uid in team["member_ids"])
        rows.append([html.Strong(team["name"]), html.Code(team["slug"]),
                     ", ".join(names) if names else html.Span("sem membros", className="muted")])
    return _table(["Equipe", "Identificador", "Membros"], rows, "Nenhuma equipe ainda: crie a primeira abaixo.",
                  "cfg-teams-table")


def swatch(color: str) -> html.Span:
    return html.Span(className="swatch", style={"background": color})


def labels_table(labels: list[dict]) -> html.Div | html.Table:
    rows = [[html.Span([swatch(label["color"]), label["name"]], className="label-chip"), html.Code(label["color"])]
            for label in labels]
    return _table(["Etiqueta", "Cor"], rows, "Nenhuma etiqueta ainda.", "cfg-labels-table")


def replies_table(replies: list[dict], team_names: dict[str, str]) -> html.Div | html.Table:
    rows = []
    for reply in replies:
        scope = team_names.get(reply["team_id"], "—") if reply["team_id"] else "Todas as equipes"
        media = html.A(reply["media_url"].rsplit("/", 1)[-1], href=reply["media_url"], target="_blank",
                       rel="noopener noreferrer") if reply["media_url"] else "—"
        rows.append([html.Code("/" + reply["shortcut"]), html.Span(reply["text"], className="reply-text"), scope,
                     media])
    return _table(["Atalho", "Texto", "Equipe", "Mídia"], rows, "Nenhuma resposta rápida ainda.",
                  "cfg-replies-table")


def preview(text: str | None, agent_name: str) -> html.Div:
    """The text with the example customer's values; an unknown variable is shown as the API will refuse it."""
    if not (text or "").strip():
        return html.Div("Escreva o texto para ver como o cliente o recebe.", className="muted")
    values = {**EXAMPLE, "agente": agent_name}
    unknown = sorted({name for name in VARIABLE.findall(text) if name not in values})
    filled = VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), text)
    parts = [html.Div("Como Maria Silva (protocolo 2024001234) recebe:", className="small muted"),
             html.Div(filled, className="msg-text", id="cfg-reply-preview-text")]
    if unknown:
        parts.append(html.Div("Variável desconhecida: " + ", ".join("{" + name + "}" for name in unknown)
                              + " — a API vai recusar. " + VARIABLES_HELP, className="error small"))
    return html.Div(parts, className="reply-preview")
