"""The agents' workspace (dash_app/pages/workspace.py, issue #18) through the real Dash app and Flask sessions,
talking over HTTP to a real API server on real PostgreSQL and Redis: the inbox's views and counts for an agent
and a supervisor, the first-response clock, the conversation's history, the actions (the take's race, replies,
notes, transfer, hand-back, close, reopen), an agent never seeing another team's conversation nor another
tenant's, and a token the API no longer takes sending the user back to login."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from niochat.settings import Settings
from niochat.tables import (
    contacts,
    conversation_notes,
    conversations,
    csat_requests,
    messages,
    tenants,
)
from tests.support.basics import TEST_SECRET
from tests.support.dashboard import form_token
from tests.support.desk import Desk, make_desk
from tests.support.factories import PASSWORD, clear_login_limits
from tests.support.workspace_calls import call


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



def email_of(desk: Desk, who: str) -> str:
    return f"agent@{desk.rows.slug}.test" if who == "agent" else f"{who}@{desk.rows.slug}.test"


def logged_in(app, desk: Desk, who: str):
    client = app.server.test_client()
    token = form_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email_of(desk, who), "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.landing = response.headers["Location"]
    return client


def inbox(client, app, view: str, **filters) -> dict:
    return call(client, app, "ws-list.children", {"ws-view.value": view, **{f"ws-{k}.value": v
                                                                            for k, v in filters.items()}})


def counts(result: dict) -> dict[str, str]:
    return {option["value"]: option["label"] for option in result["ws-view"]["options"]}


def listed(result: dict) -> list[str]:
    children = result["ws-list"]["children"]
    return [child["props"]["data-conversation"] for child in children if "data-conversation" in child["props"]]


def conversation(engine, desk: Desk, status: str, *, name: str, assignee: str | None = None,
                 team: str | None = None, handoff_minutes_ago: float | None = None, **values) -> str:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        contact_id = conn.execute(insert(contacts).values(
            tenant_id=desk.tenant_id, phone=f"55119{secrets.randbelow(10**8):08d}", name=name,
        ).returning(contacts.c.id)).scalar_one()
        if handoff_minutes_ago is not None:
            values["handoff_at"] = now - timedelta(minutes=handoff_minutes_ago)
        team_id = {"suporte": desk.team_id, "financeiro": desk.other_team_id, None: None}[team]
        return str(conn.execute(insert(conversations).values(
            tenant_id=desk.tenant_id, channel_id=desk.channel_id, contact_id=contact_id, status=status,
            assignee_id=desk.people[assignee] if assignee else None, team_id=team_id,
            **{"last_message_at": now, "last_inbound_at": now, **values},
        ).returning(conversations.c.id)).scalar_one())


def message(engine, desk: Desk, conversation_id: str, **values) -> uuid.UUID:
    defaults = {"direction": "inbound", "sender_kind": "customer", "status": "processed"}
    with engine.begin() as conn:
        return conn.execute(insert(messages).values(
            tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
            **{**defaults, **values}).returning(messages.c.id)).scalar_one()


# --- login and the way in -----------------------------------------------------------------------------------


def test_agents_land_on_the_workspace_and_the_dashboards_refuse_them(app, desk):
    agent = logged_in(app, desk, "agent")
    assert agent.landing == "/atendimento"
    assert agent.get("/").headers["Location"] == "/atendimento"
    assert agent.get("/csat").status_code == 302
    layout = agent.get("/_dash-layout").get_data(as_text=True)
    assert "nav-workspace" in layout and "nav-overview" not in layout
    overview = [key for key in app.callback_map if "overview-kpis" in key][0]
    spec = app.callback_map[overview]
    refused = agent.post("/_dash-update-component", json={
        "output": overview, "outputs": [], "inputs": [{**i, "value": None} for i in spec["inputs"]],
        "state": [], "changedPropIds": []})
    assert refused.status_code == 403
    manager = logged_in(app, desk, "manager")
    assert manager.landing == "/"
    assert "nav-workspace" in manager.get("/_dash-layout").get_data(as_text=True)
    with manager.session_transaction() as session:  # the cookie carries a random id, never the API token
        assert set(session) <= {"uid", "tid", "ver", "_permanent", "csrf", "sid"}
        assert len(session["sid"]) >= 24


def test_the_live_socket_gets_the_token_from_a_same_origin_route(app, desk, api):
    assert app.server.test_client().get("/atendimento/live-token").status_code == 401
    agent = logged_in(app, desk, "agent")
    answer = agent.get("/atendimento/live-token")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["url"] == "ws" + str(api.base_url).rstrip("/").removeprefix("http") + "/api/v1/ws"
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["email"] == email_of(desk, "agent")


# --- the inbox ----------------------------------------------------------------------------------------------


def test_inbox_views_count_what_each_person_may_see(app, desk, engine, api):
    late = conversation(engine, desk, "waiting", name="Ana Suporte", team="suporte", handoff_minutes_ago=40)
    general = conversation(engine, desk, "waiting", name="Bia Geral", handoff_minutes_ago=8)
    finance = conversation(engine, desk, "waiting", name="Caio Financeiro", team="financeiro", handoff_minutes_ago=1)
    mine = conversation(engine, desk, "open", name="Davi Meu", assignee="agent", team="suporte",
                        handoff_minutes_ago=2)
    theirs = conversation(engine, desk, "open", name="Eva Deles", assignee="agent2", team="financeiro")
    bot = conversation(engine, desk, "bot", name="Fabio Robo")
    message(engine, desk, general, text="minha internet caiu desde ontem")
    with engine.begin() as conn:  # the tenant's first-response target: 10 minutes
        conn.execute(update(tenants).where(tenants.c.id == desk.tenant_id)
                     .values(settings={"first_response_target_minutes": 10}))
    other = make_desk(api, engine)  # another tenant's queue never shows
    conversation(engine, other, "waiting", name="Outro Tenant Zeca", handoff_minutes_ago=5)

    agent = logged_in(app, desk, "agent")
    waiting = inbox(agent, app, "aguardando")
    assert listed(waiting) == [late, general]  # oldest first; financeiro's queue is not this agent's
    labels = counts(waiting)
    assert labels == {"aguardando": "Aguardando atendimento (2)", "minhas": "Minhas (1)",
                      "equipes": "Minhas equipes (2)"}  # no "todas" for an agent
    body = json.dumps(waiting)
    assert "Caio Financeiro" not in body and "Outro Tenant Zeca" not in body and "Eva Deles" not in body
    rows = {row["props"]["data-conversation"]: row["props"] for row in waiting["ws-list"]["children"]}
    assert rows[late]["data-sla"] == "late" and rows[general]["data-sla"] == "near"  # 40 and 8 of 10 minutes
    assert "Cliente: minha internet caiu desde ontem" in json.dumps(rows[general])
    assert "meta 10 min" in json.dumps(rows[late])
    assert listed(inbox(agent, app, "minhas")) == [mine]
    assert set(listed(inbox(agent, app, "equipes"))) == {late, mine}

    supervisor = logged_in(app, desk, "manager")
    everything = inbox(supervisor, app, "todas")
    assert set(listed(everything)) == {late, general, finance, mine, theirs, bot}
    assert counts(everything)["todas"] == "Todas (6)"
    assert "Outro Tenant Zeca" not in json.dumps(everything)
    assert set(listed(inbox(supervisor, app, "todas", status="waiting"))) == {late, general, finance}
    assert set(listed(inbox(supervisor, app, "todas", team=str(desk.other_team_id)))) == {finance, theirs}
    assert listed(inbox(supervisor, app, "todas", channel=str(uuid.uuid4()))) == []

    options = call(agent, app, "ws-team.options", {"ws-live-config.data": {}})
    assert {o["value"] for o in options["ws-channel"]["options"]} == {str(desk.channel_id)}
    assert {o["value"] for o in options["ws-team"]["options"]} == {str(desk.team_id), str(desk.other_team_id)}
    assert options["ws-assign-user"]["options"] == []  # agents assign no one but themselves (the take)


def test_new_waiting_conversations_are_announced_once(app, desk, engine):
    agent = logged_in(app, desk, "agent")
    first = inbox(agent, app, "aguardando")
    assert "ws-notify" not in first or first["ws-notify"]["data"] is None  # the first look announces nothing
    known = first["ws-known-waiting"]["data"]
    arrived = conversation(engine, desk, "waiting", name="Nova Chegada", handoff_minutes_ago=0)
    again = call(agent, app, "ws-list.children", {"ws-view.value": "aguardando", "ws-known-waiting.data": known,
                                                  "ws-event.data": {"type": "conversation.updated"}})
    assert again["ws-notify"]["data"] == {"count": 1, "ids": [arrived]}


# --- a conversation ---------------------------------------------------------------------------------------


def test_the_history_tells_who_said_what_and_how_it_was_delivered(app, desk, engine):
    conv = conversation(engine, desk, "open", name="Gil Historia", assignee="agent", team="suporte")
    start = datetime.now(UTC) - timedelta(minutes=30)
    at = iter(start + timedelta(minutes=n) for n in range(20))
    message(engine, desk, conv, text="oi, preciso de ajuda", created_at=next(at))
    message(engine, desk, conv, direction="outbound", sender_kind="bot", text="Olá! Sou a Nia.", status="read",
            created_at=next(at))
    message(engine, desk, conv, content_type="image", media_url="https://media.example/foto.jpg",
            media_mime="image/jpeg", text="comprovante", created_at=next(at))
    message(engine, desk, conv, content_type="audio", media_url="https://media.example/voz.ogg",
            media_mime="audio/ogg", transcript="minha internet caiu", created_at=next(at))
    message(engine, desk, conv, content_type="document", media_url="https://media.example/boleto.pdf",
            media_file_name="boleto.pdf", created_at=next(at))
    message(engine, desk, conv, content_type="image", media_url="javascript:alert(1)", created_at=next(at))
    message(engine, desk, conv, direction="outbound", sender_kind="system", text="Conversa transferida",
            status="sent", created_at=next(at))
    message(engine, desk, conv, direction="outbound", sender_kind="agent", sender_user_id=desk.people["agent"],
            text="Já verifico", status="delivered", created_at=next(at))
    message(engine, desk, conv, direction="outbound", sender_kind="agent", sender_user_id=desk.people["agent"],
            text="Está aí?", status="failed", error="number_not_on_whatsapp", created_at=next(at))
    with engine.begin() as conn:
        conn.execute(insert(conversation_notes).values(tenant_id=desk.tenant_id, conversation_id=conv,
                                                       author_user_id=desk.people["agent"],
                                                       text="cliente pediu retorno amanhã", created_at=next(at)))
    agent = logged_in(app, desk, "agent")
    shown = call(agent, app, "ws-timeline.children", {"ws-selected.data": conv})
    items = shown["ws-timeline"]["children"]
    kinds = [item["props"]["data-kind"] for item in items]
    assert kinds == ["customer", "bot", "customer", "customer", "customer", "customer", "system", "agent", "agent",
                     "note"]
    text = json.dumps(items, ensure_ascii=False)
    assert '"src": "https://media.example/foto.jpg"' in text and "comprovante" in text
    assert '"controls": true' in text and "Transcrição: " in text and "minha internet caiu" in text
    assert '"href": "https://media.example/boleto.pdf"' in text and "boleto.pdf" in text
    assert "javascript:" not in text
    assert ">lida<" not in text and '"lida"' in text and '"entregue"' in text
    assert '"falhou: o número não tem WhatsApp"' in text
    assert "Nota interna" in text and "nunca é enviada" in text and "cliente pediu retorno amanhã" in text
    assert "Você" in text
    header = json.dumps(shown["ws-conv-header"], ensure_ascii=False)
    assert "Gil Historia" in header and "Em atendimento" in header
    assert shown["ws-actions"]["style"] == {}
    assert shown["ws-take"]["style"] == {"display": "none"}  # held already
    assert shown["ws-reopen"]["style"] == {"display": "none"}


def test_an_agent_never_opens_another_teams_or_tenants_conversation(app, desk, engine, api):
    finance = conversation(engine, desk, "waiting", name="Hugo Financeiro", team="financeiro", handoff_minutes_ago=3)
    message(engine, desk, finance, text="segredo do financeiro")
    other = make_desk(api, engine)
    foreign = conversation(engine, other, "open", name="Iris Outro", assignee="agent")
    message(engine, other, foreign, text="segredo do outro provedor")
    agent = logged_in(app, desk, "agent")
    for hidden in (finance, foreign):
        shown = json.dumps(call(agent, app, "ws-timeline.children", {"ws-selected.data": hidden}),
                           ensure_ascii=False)
        assert "Conversa não encontrada" in shown and "segredo" not in shown and "Hugo" not in shown
        acted = call(agent, app, "ws-feedback.children", {"ws-selected.data": hidden, "ws-take.n_clicks": 1},
                     trigger="ws-take.n_clicks")
        assert "Conversa não encontrada" in json.dumps(acted, ensure_ascii=False)
    with engine.connect() as conn:
        assert conn.scalar(select(conversations.c.status).where(conversations.c.id == finance)) == "waiting"
    supervisor = logged_in(app, desk, "manager")  # the same tenant's supervisor sees it; the other tenant's never
    assert "segredo do financeiro" in json.dumps(call(supervisor, app, "ws-timeline.children",
                                                      {"ws-selected.data": finance}), ensure_ascii=False)
    assert "segredo do outro" not in json.dumps(call(supervisor, app, "ws-timeline.children",
                                                     {"ws-selected.data": foreign}), ensure_ascii=False)


# --- actions --------------------------------------------------------------------------------------------------


def act(client, app, button: str, selected: str, **state) -> str:
    values = {"ws-selected.data": selected, f"ws-{button}.n_clicks": 1, "ws-done.data": 0,
              **{f"ws-{k.replace('_', '-')}.value": v for k, v in state.items()}}
    result = call(client, app, "ws-feedback.children", values, trigger=f"ws-{button}.n_clicks")
    return json.dumps(result.get("ws-feedback", {}), ensure_ascii=False)


def test_of_two_agents_taking_at_once_the_loser_is_told_who_has_it(app, desk, engine):
    queue = conversation(engine, desk, "waiting", name="Joana Fila", handoff_minutes_ago=4)  # both see the queue
    first, second = logged_in(app, desk, "agent"), logged_in(app, desk, "agent2")
    assert "Conversa assumida." in act(first, app, "take", queue)
    lost = act(second, app, "take", queue)
    assert "Esta conversa já está com Agente." in lost and '"role": "alert"' in lost
    with engine.connect() as conn:
        assert conn.scalar(select(conversations.c.assignee_id).where(conversations.c.id == queue)) == \
            desk.people["agent"]
    assert queue not in listed(inbox(second, app, "aguardando"))
    assert listed(inbox(first, app, "minhas")) == [queue]


def test_replies_go_to_the_customer_and_notes_stay_inside(app, desk, engine):
    conv = conversation(engine, desk, "waiting", name="Karla Resposta", team="suporte", handoff_minutes_ago=2)
    agent = logged_in(app, desk, "agent")
    assert "Escreva o texto" in act(agent, app, "send-reply", conv, composer="   ")
    assert "Resposta enviada" in act(agent, app, "send-reply", conv, composer="Olá Karla, aqui é o Agente.")
    assert "não foi enviada ao cliente" in act(agent, app, "send-note", conv, composer="ligar às 15h")
    with engine.connect() as conn:
        sent = conn.execute(select(messages.c.sender_kind, messages.c.sender_user_id, messages.c.text)
                            .where(messages.c.conversation_id == conv)).all()
        notes = conn.execute(select(conversation_notes.c.text).where(conversation_notes.c.conversation_id == conv)
                             ).scalars().all()
        row = conn.execute(select(conversations).where(conversations.c.id == conv)).one()
    assert [(m.sender_kind, m.text) for m in sent] == [("agent", "Olá Karla, aqui é o Agente.")]
    assert notes == ["ligar às 15h"]
    assert row.status == "open" and row.assignee_id == desk.people["agent"]  # replying took it


def test_transfer_hand_back_close_and_reopen(app, desk, engine):
    conv = conversation(engine, desk, "open", name="Lia Acoes", assignee="agent", team="suporte")
    message(engine, desk, conv, text="oi", created_at=datetime.now(UTC) - timedelta(minutes=5))
    supervisor = logged_in(app, desk, "manager")
    assert "Escolha a equipe" in act(supervisor, app, "transfer", conv)
    assert "Conversa transferida." in act(supervisor, app, "transfer", conv, transfer_team=str(desk.other_team_id),
                                          transfer_note="segunda via do boleto")
    with engine.connect() as conn:
        row = conn.execute(select(conversations).where(conversations.c.id == conv)).one()
    assert row.status == "waiting" and row.team_id == desk.other_team_id and row.assignee_id is None
    assert "Conversa atribuída." in act(supervisor, app, "assign", conv, assign_user=str(desk.people["agent2"]))
    assert "Conversa devolvida ao robô." in act(supervisor, app, "handback", conv)
    assert "encerrada" in act(supervisor, app, "close", conv)
    assert "já está encerrada" in act(supervisor, app, "close", conv)  # the API's 409, in Portuguese
    with engine.connect() as conn:
        assert conn.scalar(select(conversations.c.status).where(conversations.c.id == conv)) == "closed"
        assert conn.scalar(select(csat_requests.c.id).where(csat_requests.c.conversation_id == conv)) is not None
    assert "Conversa reaberta." in act(supervisor, app, "reopen", conv)
    agent = logged_in(app, desk, "agent")
    assert "Atendentes só podem atribuir" in act(agent, app, "assign", conv, assign_user=str(desk.people["agent2"]))


def test_a_token_the_api_no_longer_takes_sends_the_user_back_to_login(app, desk, engine):
    agent = logged_in(app, desk, "agent")
    assert listed(inbox(agent, app, "aguardando")) == []
    with agent.session_transaction() as session:
        sid = session["sid"]
    # a token past its time, or of an older password: the API answers 401
    app.niochat.tokens.redis.set(f"niochat:dash:api-token:{sid}", app.niochat.tokens.keyring.encrypt("expired.x.y"))
    result = inbox(agent, app, "aguardando")
    relogin = result["ws-list-error"]["children"]
    assert relogin["type"] == "Location" and relogin["props"]["href"] == "/login"
    assert agent.get("/_dash-layout").status_code == 401  # the session is over
    assert app.niochat.tokens.get(sid) is None


def test_a_manager_without_an_api_token_is_told_so(app, desk, urls, tmp_path):
    from dash_app import create_app

    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None,
                        workspace_api_url="http://127.0.0.1:9")  # nothing listens there
    offline = create_app(settings, urls)
    manager = logged_in(offline, desk, "manager")  # the dashboards do not need the API
    assert manager.landing == "/"
    said = json.dumps(inbox(manager, offline, "aguardando"), ensure_ascii=False)
    assert "não está conectado à API" in said
    client = offline.server.test_client()
    token = form_token(client.get("/login").get_data(as_text=True))
    refused = client.post("/login", data={"email": email_of(desk, "agent"), "password": PASSWORD,
                                          "csrf_token": token})
    assert refused.status_code == 503 and "Sem conexão com a API" in refused.get_data(as_text=True)


# --- what the API added for the inbox ----------------------------------------------------------------------


def test_the_list_filters_by_channel_orders_a_queue_and_previews_the_last_message(desk, engine):
    newer = conversation(engine, desk, "waiting", name="Nina Nova", handoff_minutes_ago=2)
    now = datetime.now(UTC)
    older = conversation(engine, desk, "waiting", name="Otto Antigo", handoff_minutes_ago=30,
                         last_message_at=now - timedelta(minutes=20))
    message(engine, desk, older, text="primeira", created_at=now - timedelta(minutes=31))
    message(engine, desk, older, direction="outbound", sender_kind="bot", status="sent", text="x" * 500,
            created_at=now - timedelta(minutes=30))
    message(engine, desk, newer, content_type="image", media_url="https://media.example/a.jpg", text=None,
            created_at=now - timedelta(minutes=2))
    queue = desk.get("manager", "/conversations", params={"status": "waiting", "order": "waiting"}).json()
    assert [item["id"] for item in queue["items"]] == [older, newer]
    by_activity = desk.get("manager", "/conversations", params={"status": "waiting"}).json()
    assert [item["id"] for item in by_activity["items"]] == [newer, older]  # the default: newest activity first
    last = {item["id"]: item["last_message"] for item in queue["items"]}
    assert last[older]["sender_kind"] == "bot" and last[older]["text"] == "x" * 200  # a preview, not the text
    assert last[newer] == {"sender_kind": "customer", "content_type": "image", "text": None,
                           "created_at": last[newer]["created_at"]}
    assert desk.get("manager", f"/conversations/{older}").json()["last_message"]["sender_kind"] == "bot"
    assert desk.get("manager", "/conversations", params={"channel_id": str(uuid.uuid4())}).json()["total"] == 0
    assert desk.get("manager", "/conversations", params={"channel_id": str(desk.channel_id), "status": "waiting"}
                    ).json()["total"] == 2
    assert desk.get("manager", "/conversations", params={"order": "sideways"}).status_code == 422
