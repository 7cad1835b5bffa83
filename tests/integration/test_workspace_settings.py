"""Configurações do atendimento (dash_app/pages/workspace_settings.py, issue #18) through the real Dash app and
Flask sessions, talking over HTTP to a real API server on real PostgreSQL and Redis: an admin keeps the teams and
their members, the labels, the quick replies (with the preview of their variables) and the first-response target;
every action says it worked or why the API refused it; a manager reads and is refused changes; an agent never
gets in; another tenant's admin sees only their own."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from niochat.settings import Settings
from niochat.tables import quick_replies, teams
from tests.support.basics import TEST_SECRET
from tests.support.dash_calls import call, logged_in, post_callback
from tests.support.desk import Desk, make_desk
from tests.support.factories import clear_login_limits


@pytest.fixture(scope="module")
def app(api, urls, tmp_path_factory):
    from dash_app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("dash"), secret_key=TEST_SECRET, _env_file=None,
                        workspace_api_url=str(api.base_url).rstrip("/"))
    return create_app(settings, urls)


@pytest.fixture(autouse=True)
def no_login_limits(redis_url):
    clear_login_limits(redis_url)
    yield
    clear_login_limits(redis_url)


def as_(app, desk: Desk, who: str):
    return logged_in(app, f"{who}@{desk.rows.slug}.test")


def act(client, app, section: str, button: str, **fields) -> tuple[str, str]:
    """Press `button` with the form's `fields` (component id without "cfg-" -> value): (kind, text) of the
    feedback, kind "ok" or "error"."""
    values = {f"cfg-{name.replace('_', '-')}.value": value for name, value in fields.items()}
    result = call(client, app, f"cfg-{section}-feedback.children", {f"{button}.n_clicks": 1, **values},
                  trigger=f"{button}.n_clicks")
    props = result[f"cfg-{section}-feedback"]["children"]["props"]
    return props["id"].rsplit("-", 1)[-1], props["children"]


def shown(client, app, output: str, values: dict | None = None) -> dict:
    return call(client, app, output, values or {})


def text_of(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False)


def page(client, app) -> str:
    """The page's layout as Dash's page container renders it for this session."""
    return text_of(call(client, app, "_pages_content.children", {
        "_pages_location.pathname": "/atendimento/configuracoes", "_pages_location.search": ""},
        trigger="_pages_location.pathname"))


def options(result: dict, component: str) -> dict[str, str]:
    return {option["label"]: option["value"] for option in result[component]["options"]}


# --- who gets in --------------------------------------------------------------------------------------------


def test_agents_are_refused_and_managers_read_only(app, desk):
    agent = as_(app, desk, "agent")
    assert agent.get("/atendimento/configuracoes").headers["Location"] == "/atendimento"
    assert "nav-settings" not in agent.get("/_dash-layout").get_data(as_text=True)
    for output in ("cfg-teams-list.children", "cfg-labels-list.children", "cfg-replies-list.children",
                   "cfg-target-current.children"):
        assert post_callback(agent, app, output, {}).status_code == 403, output
    refused = post_callback(agent, app, "cfg-labels-feedback.children", {"cfg-label-create.n_clicks": 1,
                                                                         "cfg-label-name.value": "Invasora"},
                            trigger="cfg-label-create.n_clicks")
    assert refused.status_code == 403
    assert "Invasora" not in {label["name"] for label in desk.get("admin", "/labels").json()}

    admin = as_(app, desk, "admin")
    assert "nav-settings" in admin.get("/_dash-layout").get_data(as_text=True)
    assert admin.get("/atendimento/configuracoes").status_code == 200
    layout = page(admin, app)
    for part in ("Configurações do atendimento", "Equipes", "Etiquetas", "Respostas rápidas",
                 "Meta de primeira resposta", "cfg-reply-preview"):
        assert part in layout, part
    assert "cfg-read-only" not in layout

    manager = as_(app, desk, "manager")
    assert "nav-settings" in manager.get("/_dash-layout").get_data(as_text=True)
    assert "cfg-read-only" in page(manager, app)
    listed = shown(manager, app, "cfg-labels-list.children")
    assert "Financeiro" in text_of(listed)  # full_tenant's label: managers read
    kind, said = act(manager, app, "labels", "cfg-label-create", label_name="Urgente", label_color="#d1495b")
    assert kind == "error" and "somente administradores" in said  # the API's 403, in Portuguese
    target = shown(manager, app, "cfg-target-current.children")
    assert "Meta atual: 15 min." in text_of(target)
    kind, said = act(manager, app, "target", "cfg-target-save", target_minutes=20)
    assert kind == "error" and "somente administradores" in said


# --- Equipes ------------------------------------------------------------------------------------------------


def test_admins_create_rename_staff_and_delete_teams(app, desk, engine):
    admin = as_(app, desk, "admin")
    assert act(admin, app, "teams", "cfg-team-create", team_name="Vendas", team_slug="vendas") == (
        "ok", "Equipe “Vendas” criada.")
    kind, said = act(admin, app, "teams", "cfg-team-create", team_name="Outra", team_slug="vendas")
    assert kind == "error" and said == "Já existe uma equipe com o identificador “vendas”."
    kind, said = act(admin, app, "teams", "cfg-team-create", team_name="X", team_slug="Vendas Novas")
    assert kind == "error" and "o identificador tem de 2 a 63 letras minúsculas" in said
    assert act(admin, app, "teams", "cfg-team-create", team_name="Sem identificador")[0] == "error"

    listed = shown(admin, app, "cfg-teams-list.children")
    vendas = options(listed, "cfg-team-pick")["Vendas (vendas)"]
    people = options(listed, "cfg-member-user")
    assert people["Agent2 (atendente)"] == str(desk.people["agent2"])
    assert options(listed, "cfg-reply-team")["Vendas"] == vendas
    assert call(admin, app, "cfg-team-name.value", {"cfg-team-pick.value": vendas,
                                                    "cfg-teams-data.data": listed["cfg-teams-data"]["data"]},
                trigger="cfg-team-pick.value")["cfg-team-name"]["value"] == "Vendas"

    assert act(admin, app, "teams", "cfg-team-rename", team_pick=vendas, team_name="Vendas e planos") == (
        "ok", "Equipe renomeada para “Vendas e planos”.")
    agent2 = str(desk.people["agent2"])
    assert act(admin, app, "teams", "cfg-member-add", team_pick=vendas, member_user=agent2) == (
        "ok", "Agent2 está na equipe “Vendas e planos”.")
    user = next(u for u in desk.get("admin", "/users").json() if u["id"] == agent2)
    assert set(user["team_ids"]) == {str(desk.other_team_id), vendas}  # the other team kept
    rows = shown(admin, app, "cfg-teams-list.children")["cfg-teams-list"]["children"]
    assert "Vendas e planos" in text_of(rows) and "Agent2" in text_of(rows)
    assert act(admin, app, "teams", "cfg-member-add", team_pick=vendas, member_user=agent2)[0] == "ok"  # again
    assert act(admin, app, "teams", "cfg-member-remove", team_pick=vendas, member_user=agent2) == (
        "ok", "Agent2 não está mais na equipe “Vendas e planos”.")
    user = next(u for u in desk.get("admin", "/users").json() if u["id"] == agent2)
    assert user["team_ids"] == [str(desk.other_team_id)]

    # suporte has had conversations (full_tenant's): kept, with the reason
    kind, said = act(admin, app, "teams", "cfg-team-delete", team_pick=str(desk.team_id))
    assert kind == "error" and "pode ser renomeada, mas não excluída" in said
    assert act(admin, app, "teams", "cfg-team-delete", team_pick=vendas)[0] == "ok"
    with engine.connect() as conn:
        assert conn.scalar(select(teams.c.id).where(teams.c.id == vendas)) is None
        assert conn.scalar(select(teams.c.id).where(teams.c.id == desk.team_id)) is not None
    kind, said = act(admin, app, "teams", "cfg-team-rename", team_pick=vendas, team_name="Fantasma")
    assert kind == "error" and said.startswith("Equipe não encontrada")


# --- Etiquetas ----------------------------------------------------------------------------------------------


def test_admins_keep_the_labels(app, desk):
    admin = as_(app, desk, "admin")
    assert act(admin, app, "labels", "cfg-label-create", label_name="Urgente", label_color="#D1495B") == (
        "ok", "Etiqueta “Urgente” criada.")
    kind, said = act(admin, app, "labels", "cfg-label-create", label_name="urgente")
    assert kind == "error" and said == "Já existe uma etiqueta chamada “urgente”."
    kind, said = act(admin, app, "labels", "cfg-label-create", label_name="Azul", label_color="azul")
    assert kind == "error" and 'a cor é "#rrggbb"' in said

    listed = shown(admin, app, "cfg-labels-list.children")
    assert "#d1495b" in text_of(listed["cfg-labels-list"])
    urgent = options(listed, "cfg-label-pick")["Urgente"]
    filled = call(admin, app, "cfg-label-name.value", {"cfg-label-pick.value": urgent,
                                                       "cfg-labels-data.data": listed["cfg-labels-data"]["data"]},
                  trigger="cfg-label-pick.value")
    assert (filled["cfg-label-name"]["value"], filled["cfg-label-color"]["value"]) == ("Urgente", "#d1495b")
    assert act(admin, app, "labels", "cfg-label-save", label_pick=urgent, label_name="Muito urgente",
               label_color="#e11d48") == ("ok", "Etiqueta “Muito urgente” salva.")
    saved = next(label for label in desk.get("admin", "/labels").json() if label["id"] == urgent)
    assert (saved["name"], saved["color"]) == ("Muito urgente", "#e11d48")
    assert act(admin, app, "labels", "cfg-label-delete", label_pick=urgent)[0] == "ok"
    assert urgent not in {label["id"] for label in desk.get("admin", "/labels").json()}
    assert act(admin, app, "labels", "cfg-label-save", label_name="Sem escolher") == (
        "error", "Escolha a etiqueta primeiro.")


# --- Respostas rápidas --------------------------------------------------------------------------------------


def test_admins_keep_the_quick_replies_and_see_them_filled_in(app, desk, engine):
    admin = as_(app, desk, "admin")
    text = "Olá {primeiro_nome}! Sou {agente}; seu protocolo é {protocolo}."
    preview = call(admin, app, "cfg-reply-preview.children", {"cfg-reply-text.value": text})
    assert "Olá Maria! Sou Admin; seu protocolo é 2024001234." in text_of(preview)
    unknown = text_of(call(admin, app, "cfg-reply-preview.children", {"cfg-reply-text.value": "Oi {cpf}"}))
    assert "Variável desconhecida: {cpf}" in unknown

    assert act(admin, app, "replies", "cfg-reply-create", reply_shortcut="/protocolo", reply_text=text,
               reply_team=str(desk.other_team_id), reply_media="https://arquivos.example/guia.pdf") == (
        "ok", "Resposta rápida /protocolo criada.")
    kind, said = act(admin, app, "replies", "cfg-reply-create", reply_shortcut="protocolo", reply_text="outra")
    assert kind == "error" and said == "O atalho /protocolo já existe; escolha outro."
    kind, said = act(admin, app, "replies", "cfg-reply-create", reply_shortcut="cpf", reply_text="Seu CPF: {cpf}")
    assert kind == "error" and "variável desconhecida {cpf}" in said
    kind, said = act(admin, app, "replies", "cfg-reply-create", reply_shortcut="video", reply_text="Veja",
                     reply_media="https://arquivos.example/video.mp4")
    assert kind == "error" and "a mídia deve ser um arquivo terminado em .jpg" in said

    teams_data = shown(admin, app, "cfg-teams-list.children")["cfg-teams-data"]["data"]
    listed = call(admin, app, "cfg-replies-list.children", {"cfg-teams-data.data": teams_data})
    table = text_of(listed["cfg-replies-list"])
    assert "/protocolo" in table and "Financeiro" in table and "guia.pdf" in table
    assert "/segunda-via" in table and "Todas as equipes" in table  # full_tenant's, for everyone
    reply_id = options(listed, "cfg-reply-pick")["/protocolo"]
    filled = call(admin, app, "cfg-reply-text.value", {"cfg-reply-pick.value": reply_id,
                                                       "cfg-replies-data.data": listed["cfg-replies-data"]["data"]},
                  trigger="cfg-reply-pick.value")
    assert filled["cfg-reply-team"]["value"] == str(desk.other_team_id)
    assert filled["cfg-reply-media"]["value"] == "https://arquivos.example/guia.pdf"

    assert act(admin, app, "replies", "cfg-reply-save", reply_pick=reply_id, reply_shortcut="meu-protocolo",
               reply_text="Seu protocolo: {protocolo}.", reply_team=None, reply_media="") == (
        "ok", "Resposta rápida /meu-protocolo salva.")
    with engine.connect() as conn:
        row = conn.execute(select(quick_replies).where(quick_replies.c.id == reply_id)).one()
    assert (row.shortcut, row.text, row.team_id, row.media_url) == ("meu-protocolo", "Seu protocolo: {protocolo}.",
                                                                    None, None)
    assert act(admin, app, "replies", "cfg-reply-delete", reply_pick=reply_id) == ("ok", "Resposta rápida excluída.")
    kind, said = act(admin, app, "replies", "cfg-reply-delete", reply_pick=reply_id)
    assert kind == "error" and said.startswith("Resposta rápida não encontrada")


# --- Meta de primeira resposta ------------------------------------------------------------------------------


def test_admins_set_the_first_response_target_within_the_apis_limits(app, desk):
    admin = as_(app, desk, "admin")
    current = shown(admin, app, "cfg-target-current.children")
    assert current["cfg-target-minutes"]["value"] == 15
    for wrong in (0, 1441, 2.5, None):
        kind, said = act(admin, app, "target", "cfg-target-save", target_minutes=wrong)
        assert kind == "error" and said == "A meta é um número inteiro de 1 a 1440 minutos.", wrong
    assert act(admin, app, "target", "cfg-target-save", target_minutes=30) == (
        "ok", "Meta de primeira resposta: 30 min.")
    assert desk.get("admin", "/settings").json()["first_response_target_minutes"] == 30
    assert shown(admin, app, "cfg-target-current.children")["cfg-target-minutes"]["value"] == 30


# --- tenants ------------------------------------------------------------------------------------------------


def test_another_tenants_admin_sees_and_touches_only_their_own(app, desk, api, engine):
    admin = as_(app, desk, "admin")
    assert act(admin, app, "teams", "cfg-team-create", team_name="Só de A", team_slug="so-de-a")[0] == "ok"
    assert act(admin, app, "labels", "cfg-label-create", label_name="Etiqueta de A")[0] == "ok"
    assert act(admin, app, "replies", "cfg-reply-create", reply_shortcut="so-de-a", reply_text="Texto de A")[0] == "ok"
    a_label = next(label["id"] for label in desk.get("admin", "/labels").json() if label["name"] == "Etiqueta de A")

    other = make_desk(api, engine)
    b_admin = as_(app, other, "admin")
    teams_shown = shown(b_admin, app, "cfg-teams-list.children")
    everything_b_sees = text_of(teams_shown) + text_of(shown(b_admin, app, "cfg-labels-list.children")) + text_of(
        call(b_admin, app, "cfg-replies-list.children", {"cfg-teams-data.data": teams_shown["cfg-teams-data"]["data"]}))
    for of_a in ("Só de A", "so-de-a", "Etiqueta de A", "Texto de A", str(desk.team_id), a_label,
                 *map(str, desk.people.values())):  # B's people have the same names: only the ids tell
        assert of_a not in everything_b_sees, of_a
    assert set(options(teams_shown, "cfg-member-user").values()) == {str(v) for v in other.people.values()}

    kind, said = act(b_admin, app, "teams", "cfg-team-rename", team_pick=str(desk.team_id), team_name="Invasor")
    assert kind == "error" and said.startswith("Equipe não encontrada")
    kind, said = act(b_admin, app, "labels", "cfg-label-delete", label_pick=a_label)
    assert kind == "error" and said.startswith("Etiqueta não encontrada")
    kind, said = act(b_admin, app, "teams", "cfg-member-add", team_pick=str(other.team_id),
                     member_user=str(desk.people["agent2"]))
    assert kind == "error" and said == "Usuário não encontrado."
    assert a_label in {label["id"] for label in desk.get("admin", "/labels").json()}
    with engine.connect() as conn:
        assert conn.scalar(select(teams.c.name).where(teams.c.id == desk.team_id)) == "Suporte"
