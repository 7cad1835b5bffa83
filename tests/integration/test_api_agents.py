"""The agents' REST API and live WebSocket over real HTTP, on real PostgreSQL and Redis.

Each test builds its own tenant (a "desk"): an agent of team suporte, an agent of team financeiro, a manager
and an admin, with conversations in every status; tokens are issued directly (no login rate limits).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import redis
from sqlalchemy import delete, insert, select, update
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from api.app import create_app
from api.whatsapp.clients import WEBHOOK_EVENTS_UAZAPI
from niochat import accounts
from niochat.channel_keys import key_hash
from niochat.tables import (
    ai_configs,
    channels,
    conversations,
    messages,
    sgp_configs,
    tenants,
    users,
)
from niochat.vocabulary import ROLES
from sandbox.whatsapp import create_app as create_whatsapp_sandbox
from tests.support.desk import (
    KEYRING,
    Desk,
    _ws_url,
    add_conversation,
    api_settings,
    audit_rows,
    ids_of,
    next_event,
    open_live,
    row_of,
    token_for,
)
from tests.support.factories import PASSWORD, full_tenant
from tests.support.servers import free_port, serving


@pytest.fixture(scope="module")
def queue(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()



# --- conversations: reading -------------------------------------------------------------------------------


def test_agents_see_their_own_and_their_teams_queue_managers_see_everything(desk, engine):
    closed_mine = desk.rows.ids["conversations"][0]  # full_tenant: closed, assigned to agent, team suporte
    mine = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    team_queue = add_conversation(engine, desk, "waiting", team="suporte")
    other_queue = add_conversation(engine, desk, "waiting", team="financeiro")
    general_queue = add_conversation(engine, desk, "waiting")
    with_bot = add_conversation(engine, desk, "bot")
    others = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro")
    everything = {closed_mine, mine, team_queue, other_queue, general_queue, with_bot, others}

    visible_to_agent = {str(i) for i in (closed_mine, mine, team_queue, general_queue)}
    assert ids_of(desk.get("agent", "/conversations")) == visible_to_agent
    assert ids_of(desk.get("agent2", "/conversations")) == {str(i) for i in (other_queue, general_queue, others)}
    for who in ("manager", "admin"):
        assert ids_of(desk.get(who, "/conversations")) == {str(i) for i in everything}

    assert desk.get("agent", f"/conversations/{mine}").json()["contact"]["name"] == "Cliente"
    for hidden in (with_bot, other_queue, others):
        assert desk.get("agent", f"/conversations/{hidden}").status_code == 404
        assert desk.get("agent", f"/conversations/{hidden}/messages").status_code == 404
        assert desk.get("manager", f"/conversations/{hidden}").status_code == 200
    assert desk.get("agent", "/conversations/not-a-uuid").status_code == 422
    assert desk.get("agent", f"/conversations/{uuid.uuid4()}").status_code == 404
    assert desk.api.get("/api/v1/conversations").status_code == 401


def test_conversation_filters_order_and_pages(desk, engine):
    now = datetime.now(UTC)
    old = add_conversation(engine, desk, "open", assignee="agent", team="suporte",
                        created_at=datetime(2025, 3, 10, 15, tzinfo=UTC), last_message_at=now - timedelta(hours=3))
    recent = add_conversation(engine, desk, "waiting", team="financeiro", name="Maria",
                           created_at=datetime(2025, 3, 12, 15, tzinfo=UTC), last_message_at=now - timedelta(minutes=1))
    middle = add_conversation(engine, desk, "open", assignee="agent2",
                           created_at=datetime(2025, 3, 11, 15, tzinfo=UTC), last_message_at=now - timedelta(hours=1))

    def listed(**params) -> list[str]:
        response = desk.get("manager", "/conversations", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed(created_from="2025-03-10", created_to="2025-03-12") == [str(recent), str(middle), str(old)]
    assert listed(status="open", created_from="2025-03-10", created_to="2025-03-12") == [str(middle), str(old)]
    assert listed(assignee_id=str(desk.people["agent2"])) == [str(middle)]
    assert listed(team_id=str(desk.other_team_id)) == [str(recent)]
    contact = row_of(engine, conversations, recent).contact_id
    assert listed(contact_id=str(contact)) == [str(recent)]
    assert listed(created_from="2025-03-11", created_to="2025-03-11") == [str(middle)]
    page = desk.get("manager", "/conversations", params={"created_from": "2025-03-10", "created_to": "2025-03-12",
                                                         "limit": 2, "offset": 1}).json()
    assert page["total"] == 3 and page["limit"] == 2 and [i["id"] for i in page["items"]] == [str(middle), str(old)]
    for bad in ({"limit": 201}, {"limit": 0}, {"offset": -1}, {"status": "lost"}, {"assignee_id": "nope"},
                {"created_from": "yesterday"}, {"created_from": "2025-03-12", "created_to": "2025-03-10"}):
        assert desk.get("manager", "/conversations", params=bad).status_code == 422, bad


def test_messages_come_oldest_first(desk, engine):
    conversation_id = add_conversation(engine, desk, "open", assignee="agent")
    base = datetime(2025, 5, 1, 12, tzinfo=UTC)
    with engine.begin() as conn:
        for minute, text in ((2, "terceira"), (0, "primeira"), (1, "segunda")):
            conn.execute(insert(messages).values(
                tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
                direction="inbound", sender_kind="customer", text=text, status="processed",
                created_at=base + timedelta(minutes=minute),
            ))
    body = desk.get("agent", f"/conversations/{conversation_id}/messages").json()
    assert [m["text"] for m in body["items"]] == ["primeira", "segunda", "terceira"] and body["total"] == 3
    assert [m["text"] for m in desk.get("agent", f"/conversations/{conversation_id}/messages",
                                        params={"limit": 1, "offset": 1}).json()["items"]] == ["segunda"]


# --- conversations: actions -------------------------------------------------------------------------------


def test_reply_queues_an_agent_message_and_takes_the_conversation(desk, engine, queue):
    conversation_id = add_conversation(engine, desk, "waiting", team="suporte")
    response = desk.post("agent", f"/conversations/{conversation_id}/reply", {"text": "  Olá, sou o Agente!  "})
    assert response.status_code == 201, response.text
    message = response.json()
    stored = row_of(engine, messages, uuid.UUID(message["id"]))
    assert (stored.direction, stored.sender_kind, stored.status, stored.text) == (
        "outbound", "agent", "queued", "Olá, sou o Agente!")
    assert stored.sender_user_id == desk.people["agent"] and stored.conversation_id == conversation_id
    conversation = row_of(engine, conversations, conversation_id)
    assert conversation.status == "open" and conversation.assignee_id == desk.people["agent"]
    assert conversation.first_human_reply_at is not None and conversation.last_message_at is not None
    assert queue.exists(f"arq:job:send:{message['id']}"), "the send job is enqueued after commit"
    reply_audit = audit_rows(engine, desk, "conversation.reply")
    assert [(a.actor_user_id, a.entity_id) for a in reply_audit] == [(desk.people["agent"], str(conversation_id))]
    assert reply_audit[0].details["message_id"] == message["id"]
    assert len(audit_rows(engine, desk, "conversation.assign")) == 1

    # A second reply keeps the assignment and writes no second assign entry.
    second = desk.post("agent", f"/conversations/{conversation_id}/reply", {"text": "Pode me passar o CPF?"})
    assert second.status_code == 201
    assert len(audit_rows(engine, desk, "conversation.assign")) == 1
    # A manager answering someone else's conversation does not take it over.
    assert desk.post("manager", f"/conversations/{conversation_id}/reply", {"text": "Supervisão"}).status_code == 201
    assert row_of(engine, conversations, conversation_id).assignee_id == desk.people["agent"]

    assert desk.post("agent", f"/conversations/{conversation_id}/reply", {"text": "   "}).status_code == 422
    assert desk.post("agent", f"/conversations/{conversation_id}/reply", {}).status_code == 422
    assert desk.post("agent2", f"/conversations/{conversation_id}/reply", {"text": "oi"}).status_code == 404
    closed = desk.rows.ids["conversations"][0]
    refused = desk.post("agent", f"/conversations/{closed}/reply", {"text": "oi"})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]


def test_reply_to_a_bot_conversation_hands_it_to_the_manager(desk, engine):
    conversation_id = add_conversation(engine, desk, "bot")
    assert desk.post("manager", f"/conversations/{conversation_id}/reply", {"text": "Assumo daqui"}).status_code == 201
    conversation = row_of(engine, conversations, conversation_id)
    assert (conversation.status, conversation.assignee_id) == ("open", desk.people["manager"])
    assert conversation.handoff_at is not None


def test_assign_rules(desk, engine):
    waiting = add_conversation(engine, desk, "waiting", team="suporte")
    refused = desk.post("agent", f"/conversations/{waiting}/assign", {"user_id": str(desk.people["agent2"])})
    assert refused.status_code == 403 and "themselves" in refused.json()["detail"]
    taken = desk.post("agent", f"/conversations/{waiting}/assign", {"user_id": str(desk.people["agent"])})
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "open" and taken.json()["assignee_id"] == str(desk.people["agent"])
    assert taken.json()["assignee_name"] == "Agente"

    moved = desk.post("manager", f"/conversations/{waiting}/assign", {"user_id": str(desk.people["agent2"])})
    assert moved.status_code == 200 and moved.json()["assignee_id"] == str(desk.people["agent2"])
    assert desk.post("manager", f"/conversations/{waiting}/assign", {"user_id": str(uuid.uuid4())}).status_code == 404
    assert desk.post("manager", f"/conversations/{waiting}/assign", {"user_id": "x"}).status_code == 422
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == desk.people["agent2"]).values(is_active=False))
    disabled = desk.post("manager", f"/conversations/{waiting}/assign", {"user_id": str(desk.people["agent2"])})
    assert disabled.status_code == 409 and disabled.json()["detail"] == "that user is disabled"

    not_visible = add_conversation(engine, desk, "waiting", team="financeiro")
    assert desk.post("agent", f"/conversations/{not_visible}/assign",
                     {"user_id": str(desk.people["agent"])}).status_code == 404
    closed = desk.rows.ids["conversations"][0]
    assert desk.post("manager", f"/conversations/{closed}/assign",
                     {"user_id": str(desk.people["agent"])}).status_code == 409
    entries = audit_rows(engine, desk, "conversation.assign")
    assert [a.details["assignee_id"] for a in entries] == [str(desk.people["agent"]), str(desk.people["agent2"])]
    assert entries[1].actor_user_id == desk.people["manager"]


def test_transfer_to_a_team_queue_or_to_an_agent(desk, engine, queue):
    conversation_id = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    moved = desk.post("agent", f"/conversations/{conversation_id}/transfer",
                      {"team_id": str(desk.other_team_id), "reason": "boleto"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["status"], body["team_id"], body["assignee_id"], body["team_name"]) == (
        "waiting", str(desk.other_team_id), None, "Financeiro")
    with engine.connect() as conn:
        notice = conn.execute(select(messages).where(messages.c.conversation_id == conversation_id)).one()
    assert (notice.direction, notice.sender_kind, notice.status) == ("outbound", "bot", "queued")
    assert "fila" in notice.text or "atendimento" in notice.text
    assert queue.exists(f"arq:job:send:{notice.id}")
    # The agent left the financeiro queue's conversation behind: it is no longer theirs to see.
    assert desk.get("agent", f"/conversations/{conversation_id}").status_code == 404

    direct = desk.post("agent2", f"/conversations/{conversation_id}/transfer",
                       {"user_id": str(desk.people["agent"]), "reason": "é de suporte"})
    assert direct.status_code == 200, direct.text
    assert (direct.json()["status"], direct.json()["assignee_id"]) == ("open", str(desk.people["agent"]))
    general = desk.post("agent", f"/conversations/{conversation_id}/transfer", {})
    assert general.status_code == 200 and general.json()["team_id"] is None and general.json()["status"] == "waiting"

    both = {"team_id": str(desk.team_id), "user_id": str(desk.people["agent"])}
    assert desk.post("manager", f"/conversations/{conversation_id}/transfer", both).status_code == 422
    unknown = desk.post("manager", f"/conversations/{conversation_id}/transfer", {"team_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "team not found"
    assert desk.post("manager", f"/conversations/{conversation_id}/transfer",
                     {"user_id": str(uuid.uuid4())}).status_code == 404
    closed = desk.rows.ids["conversations"][0]
    assert desk.post("manager", f"/conversations/{closed}/transfer", {"team_id": str(desk.team_id)}).status_code == 409

    transfers = audit_rows(engine, desk, "conversation.transfer")
    assert [a.details.get("reason") for a in transfers] == ["boleto", "é de suporte", "transfer"]
    assert transfers[0].details["team_id"] == str(desk.other_team_id)


def test_close_and_reopen(desk, engine):
    conversation_id = add_conversation(engine, desk, "open", assignee="agent")
    closed = desk.post("agent", f"/conversations/{conversation_id}/close", {"reason": "resolvido"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closed_by"], closed.json()["close_reason"]) == (
        "closed", "agent", "resolvido")
    again = desk.post("agent", f"/conversations/{conversation_id}/close")
    assert again.status_code == 409 and again.json()["detail"] == "conversation is already closed"

    reopened = desk.post("manager", f"/conversations/{conversation_id}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["assignee_id"]) == ("open", str(desk.people["manager"]))
    assert reopened.json()["closed_at"] is None
    assert desk.post("manager", f"/conversations/{conversation_id}/reopen").status_code == 409
    assert desk.post("manager", f"/conversations/{conversation_id}/close").status_code == 200  # no body: no reason

    # The contact wrote again meanwhile: a new conversation is active, so the old one cannot come back.
    contact_id = row_of(engine, conversations, conversation_id).contact_id
    add_conversation(engine, desk, "bot", contact_id=contact_id)
    blocked = desk.post("manager", f"/conversations/{conversation_id}/reopen")
    assert blocked.status_code == 409 and "another active conversation" in blocked.json()["detail"]
    assert row_of(engine, conversations, conversation_id).status == "closed"

    assert [a.details.get("reason") for a in audit_rows(engine, desk, "conversation.close")] == ["resolvido", None]
    assert [a.actor_user_id for a in audit_rows(engine, desk, "conversation.reopen")] == [desk.people["manager"]]


# --- contacts, teams, users --------------------------------------------------------------------------------


def test_contacts_search_and_get(desk, engine):
    # as a manager: an agent sees fewer contacts (tests/integration/test_agent_scope.py)
    maria = add_conversation(engine, desk, "bot", phone="5521988887777", name="Maria da Silva")
    add_conversation(engine, desk, "bot", phone="5521911112222", name="João_Souza")
    maria_contact = str(row_of(engine, conversations, maria).contact_id)

    def found(q: str) -> list[str | None]:
        response = desk.get("manager", "/contacts", params={"q": q})
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json()["items"])

    assert found("maria") == ["Maria da Silva"]
    assert found("8888 7777") == ["Maria da Silva"]
    assert found("+55 21") == ["João_Souza", "Maria da Silva"]
    assert found("_") == ["João_Souza"]  # LIKE wildcards are taken literally
    assert found("%") == []
    everyone = desk.get("manager", "/contacts", params={"limit": 2}).json()
    assert everyone["total"] == 3 and len(everyone["items"]) == 2
    one = desk.get("manager", f"/contacts/{maria_contact}")
    assert one.status_code == 200 and one.json()["phone"] == "5521988887777"
    assert set(one.json()) >= {"document_masked", "sgp_customer_id"} and "document_encrypted" not in one.json()
    assert desk.get("manager", f"/contacts/{uuid.uuid4()}").status_code == 404
    assert desk.get("manager", "/contacts/123").status_code == 422


def test_teams_are_listed_for_everyone_and_created_by_admins(desk, engine):
    listed = desk.get("agent", "/teams").json()
    assert {t["slug"]: t["member_ids"] for t in listed} == {
        "suporte": [str(desk.people["agent"])], "financeiro": [str(desk.people["agent2"])]}
    created = desk.post("admin", "/teams", {"slug": "comercial", "name": "Comercial"})
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "comercial" and created.json()["member_ids"] == []
    assert desk.post("admin", "/teams", {"slug": "comercial", "name": "Outra"}).status_code == 409
    assert desk.post("admin", "/teams", {"slug": "Not A Slug", "name": "x"}).status_code == 422
    denied = desk.post("manager", "/teams", {"slug": "vendas", "name": "Vendas"})
    assert denied.status_code == 403 and "admin" in denied.json()["detail"]
    assert [a.details["slug"] for a in audit_rows(engine, desk, "team.create")] == ["comercial"]


def test_teams_are_renamed_staffed_and_deleted_by_admins(desk, engine):
    def send(who, method, path, body=None):
        return desk.api.request(method, f"/api/v1{path}", headers=desk.headers(who), json=body)

    team = desk.post("admin", "/teams", {"slug": "vendas", "name": "Vendas"}).json()
    renamed = desk.patch("admin", f"/teams/{team['id']}", {"name": "Vendas e planos"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Vendas e planos"
    assert renamed.json()["slug"] == "vendas"  # the brain hands over by it: it stays
    assert desk.patch("admin", f"/teams/{team['id']}", {"slug": "outra", "name": "X"}).status_code == 422
    assert desk.patch("admin", f"/teams/{team['id']}", {"name": " "}).status_code == 422
    agent2 = str(desk.people["agent2"])
    path = f"/teams/{team['id']}/members/{agent2}"
    for _ in range(2):  # putting someone in twice changes nothing the second time
        added = send("admin", "PUT", path)
        assert added.status_code == 200 and added.json()["member_ids"] == [agent2]
    assert send("admin", "PUT", f"/teams/{team['id']}/members/{uuid.uuid4()}").json()["detail"] == "user not found"
    assert send("admin", "PUT", f"/teams/{uuid.uuid4()}/members/{agent2}").json()["detail"] == "team not found"
    for who in ("manager", "agent"):
        assert send(who, "DELETE", path).status_code == 403
        assert desk.patch(who, f"/teams/{team['id']}", {"name": "Meu"}).status_code == 403
        assert send(who, "DELETE", f"/teams/{team['id']}").status_code == 403
    mine = next(u for u in desk.get("admin", "/users").json() if u["id"] == agent2)
    assert sorted(mine["team_ids"]) == sorted([str(desk.other_team_id), team["id"]])
    assert send("admin", "DELETE", path).json()["member_ids"] == []
    assert len(audit_rows(engine, desk, "team.member_add")) == 1
    assert len(audit_rows(engine, desk, "team.member_remove")) == 1

    in_use = send("admin", "DELETE", f"/teams/{desk.team_id}")  # suporte has had a conversation
    assert in_use.status_code == 409 and "rename it instead" in in_use.json()["detail"]
    assert send("admin", "DELETE", f"/teams/{team['id']}").status_code == 204
    assert send("admin", "DELETE", f"/teams/{team['id']}").status_code == 404
    assert team["id"] not in {t["id"] for t in desk.get("agent", "/teams").json()}
    assert [a.details["slug"] for a in audit_rows(engine, desk, "team.delete")] == ["vendas"]


def test_users_are_created_and_changed_by_admins(desk, engine):
    assert desk.get("agent", "/users").status_code == 403
    listed = {u["email"]: u for u in desk.get("manager", "/users").json()}
    assert listed[f"agent@{desk.rows.slug}.test"]["team_ids"] == [str(desk.team_id)]
    assert all("password" not in key for user in listed.values() for key in user)

    email = f"Nova@{desk.rows.slug}.test"
    body = {"email": email, "name": "Nova", "password": "senha-forte-1", "role": "agent",
            "team_ids": [str(desk.team_id), str(desk.other_team_id)]}
    created = desk.post("admin", "/users", body)
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["email"] == email.lower() and new["is_active"] and sorted(new["team_ids"]) == sorted(body["team_ids"])
    assert desk.post("admin", "/users", {**body, "email": email.upper()}).status_code == 409
    assert desk.post("admin", "/users", {**body, "email": "x" + email, "role": "owner"}).status_code == 422
    assert desk.post("admin", "/users", {**body, "email": "x" + email, "password": "short"}).status_code == 422
    assert desk.post("admin", "/users", {**body, "email": "not-an-email"}).status_code == 422
    unknown_team = {**body, "email": "y" + email, "team_ids": [str(uuid.uuid4())]}
    assert desk.post("admin", "/users", unknown_team).status_code == 404
    assert desk.post("admin", "/users", {**body, "email": "z" + email, "role": "superadmin"}).status_code == 403
    assert desk.post("manager", "/users", {**body, "email": "w" + email}).status_code == 403

    changed = desk.patch("admin", f"/users/{new['id']}", {"name": "Nova Gerente", "role": "manager",
                                                            "team_ids": [str(desk.other_team_id)]})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["role"], changed.json()["team_ids"]) == (
        "Nova Gerente", "manager", [str(desk.other_team_id)])
    assert desk.patch("admin", f"/users/{new['id']}", {"role": "chief"}).status_code == 422
    assert desk.patch("admin", f"/users/{new['id']}", {"name": None}).status_code == 422
    assert desk.patch("admin", f"/users/{uuid.uuid4()}", {"name": "x"}).status_code == 404
    assert desk.patch("manager", f"/users/{new['id']}", {"name": "x"}).status_code == 403
    assert desk.patch("admin", f"/users/{desk.people['admin']}", {"role": "agent"}).status_code == 409
    assert desk.patch("admin", f"/users/{desk.people['admin']}", {"is_active": False}).status_code == 409

    created_audit = audit_rows(engine, desk, "user.create")
    assert [(a.entity_id, a.details["role"]) for a in created_audit] == [(new["id"], "agent")]
    assert "senha-forte-1" not in json.dumps(created_audit[0].details)
    (update_audit,) = audit_rows(engine, desk, "user.update")
    assert update_audit.details["changed"] == "name,role,team_ids" and update_audit.details["role"] == "manager"


def test_a_disabled_users_token_stops_working_and_a_new_password_logs_in(desk, engine):
    assert desk.get("agent2", "/conversations").status_code == 200
    disabled = desk.patch("admin", f"/users/{desk.people['agent2']}", {"is_active": False})
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert desk.get("agent2", "/conversations").status_code == 401
    assert desk.get("agent2", "/auth/me").status_code == 401
    assert desk.patch("admin", f"/users/{desk.people['agent2']}", {"is_active": True}).status_code == 200
    assert desk.get("agent2", "/auth/me").status_code == 401  # enabled again, but the old token stays dead

    assert desk.patch("admin", f"/users/{desk.people['agent2']}", {"password": "outra-senha-9"}).status_code == 200
    login = desk.api.post("/api/v1/auth/token", data={"username": f"agent2@{desk.rows.slug}.test",
                                                       "password": "outra-senha-9"})
    assert login.status_code == 200, login.text
    assert audit_rows(engine, desk, "user.update")[-1].details["changed"] == "password"
    desk.tokens["agent2"] = login.json()["access_token"]  # for the tests after this one
    assert desk.get("agent2", "/auth/me").status_code == 200


# --- channels ------------------------------------------------------------------------------------------------


def test_channels_show_a_hint_of_their_webhook_url_and_never_the_key_or_the_token(desk, engine):
    assert desk.get("agent", "/channels").status_code == 403
    response = desk.get("manager", "/channels")
    assert response.status_code == 200, response.text
    (channel,) = response.json()
    key = desk.rows.ids["webhook_key"][0]
    assert channel["webhook_url_hint"] == f"http://127.0.0.1:8000/webhooks/uazapi/…{key[-4:]}"
    assert "webhook_url" not in channel and key not in response.text and key[:12] not in response.text
    assert channel["id"] == str(desk.channel_id) and channel["provider"] == "uazapi"
    assert not any("token" in name for name in channel)
    assert f"tok-{desk.rows.slug}" not in response.text


def _sandbox_instance(sandbox: str, provider: str, name: str, token: str, **extra) -> None:
    response = httpx.post(f"{sandbox}/sandbox/instances",
                          json={"provider": provider, "instance": name, "token": token, **extra})
    response.raise_for_status()


def _channels_named(engine, desk: Desk, instance: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(channels).where(channels.c.tenant_id == desk.tenant_id,
                                                   channels.c.instance == instance)).all()


def test_admins_add_channels_checked_with_the_provider_and_the_webhook_is_registered(desk, engine):
    with serving(create_whatsapp_sandbox()) as sandbox:
        _sandbox_instance(sandbox, "uazapi", "vendas", "segredo-uazapi")
        _sandbox_instance(sandbox, "evolution", "evo-1", "tok-instancia-evo")
        body = {"provider": "uazapi", "name": "Vendas", "base_url": sandbox + "/", "instance": "vendas",
                "token": "segredo-uazapi"}
        assert desk.post("manager", "/channels", body).status_code == 403
        created = desk.post("admin", "/channels", body)
        assert created.status_code == 201, created.text
        channel = created.json()
        assert channel["webhook_registered"] is True and channel["webhook_error"] is None
        assert channel["key_kind"] == "instance" and "segredo-uazapi" not in created.text
        (hook,) = httpx.get(f"{sandbox}/webhook", headers={"token": "segredo-uazapi"}).json()
        assert hook["url"] == channel["webhook_url"] and hook["events"] == WEBHOOK_EVENTS_UAZAPI
        assert hook["addUrlEvents"] is False and hook["excludeMessages"] == []

        # Evolution with the server's global key: the instance's own token is fetched with it and kept for webhooks
        global_key = httpx.get(f"{sandbox}/sandbox/config").json()["evolution_api_key"]
        evolution = desk.post("admin", "/channels", {**body, "provider": "evolution", "instance": "evo-1",
                                                     "token": global_key})
        assert evolution.status_code == 201, evolution.text
        assert evolution.json()["webhook_registered"] is True and evolution.json()["key_kind"] == "global"
        assert evolution.json()["connection_status"] == "connected"
        found = httpx.get(f"{sandbox}/webhook/find/evo-1", headers={"apikey": global_key}).json()
        assert found["url"] == evolution.json()["webhook_url"] and found["webhookByEvents"] is False
        assert desk.post("admin", "/channels", body).status_code == 409

    stored = row_of(engine, channels, uuid.UUID(channel["id"]))
    assert stored.token_encrypted != "segredo-uazapi" and KEYRING.decrypt(stored.token_encrypted) == "segredo-uazapi"
    assert stored.webhook_token_encrypted is None
    assert stored.base_url == sandbox and channel["webhook_url"].startswith("http://127.0.0.1:8000/webhooks/uazapi/")
    key = channel["webhook_url"].rsplit("/", 1)[1]
    assert stored.webhook_key_sha256 == key_hash(key) and stored.webhook_key_hint == key[-4:]
    evo = row_of(engine, channels, uuid.UUID(evolution.json()["id"]))
    assert KEYRING.decrypt(evo.token_encrypted) == global_key
    assert KEYRING.decrypt(evo.webhook_token_encrypted) == "tok-instancia-evo"
    assert {c["id"] for c in desk.get("manager", "/channels").json()} >= {channel["id"], evolution.json()["id"]}

    for bad in ({"provider": "telegram"}, {"base_url": "ftp://x"}, {"token": ""}, {"instance": ""}):
        assert desk.post("admin", "/channels", {**body, **bad}).status_code == 422, bad
    registered = [a.details["registered"] for a in audit_rows(engine, desk, "channel.webhook_register")]
    assert registered == [True, True]
    assert [a.details["key_kind"] for a in audit_rows(engine, desk, "channel.create")] == ["instance", "global"]


@pytest.mark.parametrize(("provider", "instance", "key", "words"), [
    ("evolution", "evo-a", "chave-errada", ["refused the apikey for instance 'evo-a'", "global key",
                                            "token of instance 'evo-a'"]),
    ("evolution", "evo-b", "tok-evo-a", ["refused the apikey for instance 'evo-b'"]),  # another instance's token
    ("evolution", "nao-existe", "GLOBAL", ["has no instance named 'nao-existe'"]),
    ("uazapi", "uaz-a", "token-errado", ["Uazapi", "refused the token", "instance's own token"]),
    ("evolution", "evo-a", "GLOBAL", ["cannot reach"]),  # base URL where nothing listens
])
def test_a_channel_the_provider_refuses_is_a_422_that_says_why_and_nothing_is_created(
        desk, engine, provider, instance, key, words):
    with serving(create_whatsapp_sandbox(evolution_api_key="chave-global-do-servidor")) as sandbox:
        _sandbox_instance(sandbox, "evolution", "evo-a", "tok-evo-a")
        _sandbox_instance(sandbox, "evolution", "evo-b", "tok-evo-b")
        _sandbox_instance(sandbox, "uazapi", "uaz-a", "tok-uaz-a")
        base_url = f"http://127.0.0.1:{free_port()}" if words == ["cannot reach"] else sandbox
        body = {"provider": provider, "base_url": base_url, "instance": instance,
                "token": "chave-global-do-servidor" if key == "GLOBAL" else key}
        refused = desk.post("admin", "/channels", body)
        hooks = httpx.get(f"{sandbox}/sandbox/instances").json()
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert isinstance(detail, str) and all(word in detail for word in words), detail
    assert "Nothing was created" in detail and body["token"] not in detail
    assert _channels_named(engine, desk, instance) == []
    assert all(not hook["webhooks"] for hook in hooks)  # and no webhook was registered anywhere


# --- settings ------------------------------------------------------------------------------------------------


def test_settings_round_trip_with_write_only_secrets(desk, engine):
    assert desk.get("manager", "/settings").status_code == 403
    initial = desk.get("admin", "/settings").json()
    assert initial["timezone"] == "America/Sao_Paulo" and initial["business_hours"]["sun"] == []
    assert initial["ai"]["api_key_set"] is False and initial["sgp"]["token_set"] is True
    assert "token" not in initial["sgp"] and "api_key" not in initial["ai"]

    hours = {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "sat": [["09:00", "13:00"]]}
    patch = {
        "persona": {"company": "Fibra Boa", "agent_name": "Lia", "emojis": False},
        "business_hours": hours,
        "reopen_window_minutes": 30,
        "timezone": "America/Manaus",
        "ai": {"api_key": "sk-super-secreta", "model": "gpt-4o-mini", "temperature": 0.5},
        "sgp": {"token": "sgp-token-novo", "app": "meuapp"},
    }
    response = desk.patch("admin", "/settings", patch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "sk-super-secreta" not in response.text and "sgp-token-novo" not in response.text
    assert body["persona"] == patch["persona"] and body["reopen_window_minutes"] == 30
    assert body["business_hours"]["mon"] == hours["mon"] and body["business_hours"]["tue"] == []
    assert body["ai"]["api_key_set"] is True and body["ai"]["model"] == "gpt-4o-mini"
    assert body["ai"]["base_url"] == "http://127.0.0.1:9000/v1"  # untouched fields stay
    assert body["sgp"]["app"] == "meuapp" and body["timezone"] == "America/Manaus"
    assert desk.get("admin", "/settings").json() == body

    with engine.connect() as conn:
        tenant = conn.execute(select(tenants).where(tenants.c.id == desk.tenant_id)).one()
        ai = conn.execute(select(ai_configs).where(ai_configs.c.tenant_id == desk.tenant_id)).one()
        sgp = conn.execute(select(sgp_configs).where(sgp_configs.c.tenant_id == desk.tenant_id)).one()
    assert tenant.settings["persona"]["company"] == "Fibra Boa" and tenant.timezone == "America/Manaus"
    assert ai.api_key_encrypted != "sk-super-secreta" and KEYRING.decrypt(ai.api_key_encrypted) == "sk-super-secreta"
    assert KEYRING.decrypt(sgp.token_encrypted) == "sgp-token-novo"

    (entry,) = audit_rows(engine, desk, "settings.update")
    assert set(entry.details["changed"].split(",")) == {
        "persona.company", "persona.agent_name", "persona.emojis", "business_hours", "reopen_window_minutes",
        "timezone", "ai.api_key", "ai.model", "ai.temperature", "sgp.token", "sgp.app"}
    assert "secreta" not in json.dumps(entry.details) and "sgp-token-novo" not in json.dumps(entry.details)

    removed = desk.patch("admin", "/settings", {"ai": {"api_key": None}, "persona": {"company": None}})
    assert removed.json()["ai"]["api_key_set"] is False and removed.json()["persona"]["agent_name"] == "Lia"
    assert removed.json()["persona"]["company"] is None
    assert desk.patch("admin", "/settings", {"business_hours": None}).json()["business_hours"]["sat"] == [
        ["08:00", "12:00"]]  # back to the default week

    for bad in ({"business_hours": {"mon": [["18:00", "08:00"]]}}, {"business_hours": {"mon": [["8:00", "12:00"]]}},
                {"business_hours": {"mon": [["08:00", "24:00"]]}}, {"business_hours": {"mon": [["08:00"]]}},
                {"business_hours": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}},
                {"business_hours": {"someday": []}}, {"timezone": "Mars/Olympus"}, {"reopen_window_minutes": -1},
                {"ai": {"base_url": "not a url"}}, {"ai": {"temperature": 9}}, {"sgp": {"token": None}},
                {"unknown": 1}):
        assert desk.patch("admin", "/settings", bad).status_code == 422, bad


def test_settings_create_the_model_config_when_missing(desk, engine):
    with engine.begin() as conn:
        conn.execute(delete(ai_configs).where(ai_configs.c.tenant_id == desk.tenant_id))
    assert desk.get("admin", "/settings").json()["ai"] is None
    incomplete = desk.patch("admin", "/settings", {"ai": {"api_key": "sk-1"}})
    assert incomplete.status_code == 422 and "ai.base_url" in incomplete.json()["detail"]
    created = desk.patch("admin", "/settings", {"ai": {"base_url": "https://api.example.com/v1", "model": "m"}})
    assert created.status_code == 200, created.text
    assert created.json()["ai"] == {"base_url": "https://api.example.com/v1", "model": "m", "api_key_set": False,
                                    "timeout_seconds": 8.0, "temperature": pytest.approx(0.2), "is_active": True,
                                    "transcription_model": "whisper-1"}
    assert created.json()["phone_handback_minutes"] == 30
    # voice notes off, and the bot back 10 minutes after a phone attendant goes quiet
    changed = desk.patch("admin", "/settings", {"ai": {"transcription_model": None}, "phone_handback_minutes": 10})
    assert changed.status_code == 200, changed.text
    assert changed.json()["ai"]["transcription_model"] is None and changed.json()["phone_handback_minutes"] == 10


def test_sgp_occurrence_types_are_an_operators_setting_checked_against_the_sgps_list(desk, engine):
    from sandbox.sgp import create_app as create_sgp

    with serving(create_sgp()) as sgp_url:
        assert desk.get("admin", "/settings").json()["sgp"]["occurrence_types"] is None
        connected = desk.patch("admin", "/settings", {"sgp": {"base_url": sgp_url, "app": "niochat",
                                                              "token": "sandbox-token"}})
        assert connected.status_code == 200, connected.text
        seen = desk.get("admin", "/settings/sgp/occurrence-types").json()
        assert {t["id"] for t in seen["types"]} >= {1, 101, 102, 103, 105}
        assert {kind: (m["type_id"], m["source"]) for kind, m in seen["mapping"].items()} == {
            "sem_conexao": (101, "name"), "lentidao": (102, "name"), "quedas": (103, "name"), "outros": (105, "name")}

        changed = desk.patch("admin", "/settings", {"sgp": {"occurrence_types": {"sem_conexao": 1, "outros": 107}}})
        assert changed.json()["sgp"]["occurrence_types"] == {"sem_conexao": 1, "outros": 107}
        with engine.connect() as conn:
            stored = conn.execute(select(sgp_configs.c.occurrence_types)
                                  .where(sgp_configs.c.tenant_id == desk.tenant_id)).scalar_one()
        assert stored == {"sem_conexao": 1, "outros": 107}
        mapping = desk.get("admin", "/settings/sgp/occurrence-types").json()["mapping"]
        assert mapping["sem_conexao"]["type_id"] is None and "inativo" in mapping["sem_conexao"]["error"]
        assert (mapping["outros"]["type_id"], mapping["outros"]["source"]) == (107, "setting")
        assert mapping["lentidao"]["source"] == "name"
        assert audit_rows(engine, desk, "settings.update")[-1].details["changed"] == "sgp.occurrence_types"

        for bad in ({"sem_conexao": 0}, {"sem conexão": 101}, {"lentidao": "x"}):
            assert desk.patch("admin", "/settings", {"sgp": {"occurrence_types": bad}}).status_code == 422, bad
        assert desk.get("manager", "/settings/sgp/occurrence-types").status_code == 403
        removed = desk.patch("admin", "/settings", {"sgp": {"occurrence_types": None}})
        assert removed.json()["sgp"]["occurrence_types"] is None  # back to the names of the SGP's list
    moved = desk.patch("admin", "/settings", {"sgp": {"base_url": f"http://127.0.0.1:{free_port()}", "token": "t",
                                                      "timeout_seconds": 1}})
    assert moved.status_code == 200, moved.text
    unreachable = desk.get("admin", "/settings/sgp/occurrence-types")
    assert unreachable.status_code == 502 and "could not be read" in unreachable.json()["detail"]


# --- audit ---------------------------------------------------------------------------------------------------


def test_audit_lists_actions_newest_first_with_filters(desk, engine):
    first = add_conversation(engine, desk, "open", assignee="agent")
    second = add_conversation(engine, desk, "open", assignee="agent2")
    assert desk.post("agent", f"/conversations/{first}/close", {"reason": "ok"}).status_code == 200
    assert desk.post("manager", f"/conversations/{second}/close").status_code == 200
    assert desk.get("agent", "/audit").status_code == 403

    closes = desk.get("manager", "/audit", params={"action": "conversation.close"}).json()
    assert [e["entity_id"] for e in closes["items"]] == [str(second), str(first)] and closes["total"] == 2
    assert closes["items"][1]["actor_name"] == "Agente" and closes["items"][1]["details"]["reason"] == "ok"
    by_agent = desk.get("admin", "/audit", params={"actor_user_id": str(desk.people["agent"])}).json()
    assert [e["action"] for e in by_agent["items"]] == ["conversation.close"]
    about = desk.get("admin", "/audit", params={"entity_type": "conversation", "entity_id": str(first)}).json()
    assert [e["action"] for e in about["items"]] == ["conversation.close"]
    today = date.today()
    window = {"created_from": str(today - timedelta(days=1)), "created_to": str(today + timedelta(days=1))}
    assert desk.get("admin", "/audit", params=window).json()["total"] >= 3  # the two closes and full_tenant's entry
    assert desk.get("admin", "/audit", params={"created_to": "2000-01-01"}).json()["total"] == 0
    page = desk.get("admin", "/audit", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["total"] >= 3


def test_live_events_reach_websockets_on_every_api_process(desk, engine, tmp_path_factory, urls, api):
    other = full_tenant_desk(api, engine)
    conversation_id = add_conversation(engine, desk, "waiting", team="suporte")
    with serving(create_app(api_settings(tmp_path_factory), urls)) as server1, \
            serving(create_app(api_settings(tmp_path_factory), urls)) as server2:
        with open_live(server1, desk.tokens["agent"]) as ws, open_live(server1, other.tokens["manager"]) as other_ws:
            assert json.loads(ws.recv(timeout=10)) == {"type": "ready", "tenant_id": str(desk.tenant_id)}
            assert json.loads(other_ws.recv(timeout=10))["type"] == "ready"
            with httpx.Client(base_url=server2, timeout=20) as client2:
                reply = client2.post(f"/api/v1/conversations/{conversation_id}/reply", json={"text": "Oi!"},
                                     headers=desk.headers("agent"))
                assert reply.status_code == 201, reply.text
            created = next_event(ws, "message.created")
            assert created["conversation_id"] == str(conversation_id) and created["message_id"] == reply.json()["id"]
            updated = next_event(ws, "conversation.updated")
            assert (updated["action"], updated["status"], updated["assignee_id"]) == (
                "reply", "open", str(desk.people["agent"]))
            assert "Oi!" not in json.dumps(updated) + json.dumps(created)
            with pytest.raises(TimeoutError):  # the other tenant hears nothing of it
                other_ws.recv(timeout=1.5)

        for token in ("garbage", token_for(uuid.uuid4(), desk.tenant_id)):
            with open_live(server1, token) as refused:
                with pytest.raises(ConnectionClosed) as closed:
                    refused.recv(timeout=10)
                assert closed.value.rcvd.code == 4401


def test_websocket_token_comes_in_the_first_frame_or_the_subprotocol_never_the_url(desk, api, monkeypatch):
    base = str(api.base_url).rstrip("/")
    with open_live(base, desk.tokens["agent"]) as ws:
        assert ws.subprotocol == "niochat.bearer"
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
    with ws_connect(_ws_url(base)) as ws:  # no subprotocol: the first frame carries it
        ws.send(json.dumps({"type": "auth", "token": desk.tokens["agent"]}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "ready", "tenant_id": str(desk.tenant_id)}
    with ws_connect(_ws_url(base) + f"?token={desk.tokens['agent']}") as ws:  # the old way: refused
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4401 and "URL" in closed.value.rcvd.reason
    monkeypatch.setattr("api.routes.ws.AUTH_SECONDS", 0.5)
    with ws_connect(_ws_url(base)) as silent:  # says nothing: closed, not kept waiting
        with pytest.raises(ConnectionClosed) as closed:
            silent.recv(timeout=10)
        assert closed.value.rcvd.code == 4401


def test_an_open_websocket_closes_once_its_user_is_disabled(desk, engine, api, monkeypatch):
    monkeypatch.setattr("api.routes.ws.REAUTH_SECONDS", 0.3)
    with open_live(str(api.base_url).rstrip("/"), desk.tokens["agent2"]) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == desk.people["agent2"]).values(is_active=False))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4401


def full_tenant_desk(api, engine) -> Desk:
    """A second, unrelated tenant with a manager."""
    with engine.begin() as conn:
        rows = full_tenant(conn)
        manager = accounts.create_user(conn, rows.slug, f"manager@{rows.slug}.test", "Gerente", PASSWORD, "manager")
    desk = Desk(api, rows, rows.ids["channels"][0], rows.ids["teams"][0], rows.ids["teams"][0],
                {"agent": rows.ids["users"][0], "manager": manager})
    desk.tokens = {who: token_for(user_id, rows.tenant_id) for who, user_id in desk.people.items()}
    return desk


def test_the_api_role_names_match_the_tables():
    from api.schemas.users import Role

    assert set(Role.__args__) == set(ROLES)


def test_a_secret_does_not_follow_its_url_to_another_host(desk, engine):
    """Moving the SGP or the model to another address needs its secret again: the stored one was given for the
    old host and is never sent to the new one."""
    with engine.connect() as conn:
        before = conn.execute(select(sgp_configs).where(sgp_configs.c.tenant_id == desk.tenant_id)).one()
    moved = desk.patch("admin", "/settings", {"sgp": {"base_url": "https://sgp.outro-host.com.br"}})
    assert moved.status_code == 422 and "sgp.token" in moved.json()["detail"], moved.text
    moved = desk.patch("admin", "/settings", {"ai": {"base_url": "https://api.outro-host.com/v1"}})
    assert moved.status_code == 422 and "ai.api_key" in moved.json()["detail"], moved.text
    with engine.connect() as conn:
        after = conn.execute(select(sgp_configs).where(sgp_configs.c.tenant_id == desk.tenant_id)).one()
    assert after.base_url == before.base_url  # nothing changed

    same = desk.patch("admin", "/settings", {"sgp": {"base_url": before.base_url + "/"}})  # the same address
    assert same.status_code == 200, same.text
    both = desk.patch("admin", "/settings", {"sgp": {"base_url": "https://sgp.outro-host.com.br",
                                                     "token": "token-do-novo-host"}})
    assert both.status_code == 200 and both.json()["sgp"]["base_url"] == "https://sgp.outro-host.com.br"
    with engine.connect() as conn:
        row = conn.execute(select(sgp_configs).where(sgp_configs.c.tenant_id == desk.tenant_id)).one()
    assert KEYRING.decrypt(row.token_encrypted) == "token-do-novo-host"
    cleared = desk.patch("admin", "/settings", {"ai": {"base_url": "https://api.outro-host.com/v1", "api_key": None}})
    assert cleared.status_code == 200 and cleared.json()["ai"]["api_key_set"] is False
