"""The workspace's inbox (issue #18, "The inbox"): per-user read marks and unread counts, one API query per view
paged by the API's offset in the order the inbox shows, the toolbar's search opening conversations, and the label
filter and chips; through the real API over HTTP and the real Dash app's callbacks, on real PostgreSQL and Redis."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from niochat.settings import Settings
from niochat.tables import contacts, conversation_labels, conversations, labels, messages
from tests.support.basics import TEST_SECRET
from tests.support.desk import Desk, add_conversation
from tests.support.factories import clear_login_limits
from tests.support.workspace_calls import call, logged_in


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


def say(engine, desk: Desk, conversation_id, text: str, sender: str = "customer", **values) -> uuid.UUID:
    direction = "inbound" if sender == "customer" else "outbound"
    with engine.begin() as conn:
        return conn.execute(insert(messages).values(
            tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
            direction=direction, sender_kind=sender, status="processed", text=text, **values,
        ).returning(messages.c.id)).scalar_one()


def many_waiting(engine, desk: Desk, count: int) -> list[str]:
    """`count` waiting conversations of the suporte queue, handed off a minute apart (oldest first)."""
    start = datetime.now(UTC) - timedelta(days=1)
    with engine.begin() as conn:
        people = conn.execute(insert(contacts).returning(contacts.c.id), [
            {"tenant_id": desk.tenant_id, "phone": f"55219{secrets.randbelow(10**8):08d}", "name": f"Fila {i:03d}"}
            for i in range(count)]).scalars().all()
        rows = conn.execute(insert(conversations).returning(conversations.c.id, conversations.c.handoff_at), [
            {"tenant_id": desk.tenant_id, "channel_id": desk.channel_id, "contact_id": person, "status": "waiting",
             "team_id": desk.team_id, "handoff_at": start + timedelta(minutes=i), "last_message_at": start}
            for i, person in enumerate(people)]).all()
    return [str(row.id) for row in sorted(rows, key=lambda row: row.handoff_at)]


def inbox(client, app, view: str, **values) -> dict:
    return call(client, app, "ws-list.children", {"ws-view.value": view, **{
        (key if "." in key else f"ws-{key}.value"): value for key, value in values.items()}})


def listed(result: dict) -> list[str]:
    return [child["props"]["data-conversation"] for child in result["ws-list"]["children"]
            if "data-conversation" in child["props"]]


def text_of(component) -> str:
    return json.dumps(component, ensure_ascii=False)


def unread_of(desk: Desk, who: str, conversation_id) -> int:
    answer = desk.get(who, "/conversations", params={"contact_id": str(contact_of(desk, conversation_id))})
    return [row for row in answer.json()["items"] if row["id"] == str(conversation_id)][0]["unread"]


def contact_of(desk: Desk, conversation_id) -> str:
    return desk.get("admin", f"/conversations/{conversation_id}").json()["contact"]["id"]


# --- read marks and unread counts (API) ---------------------------------------------------------------------


def test_unread_counts_are_each_users_and_a_read_mark_clears_them(desk, engine):
    conv = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    for text in ("oi", "minha internet caiu", "alguém aí?"):
        say(engine, desk, conv, text)
    say(engine, desk, conv, "Já vou ver", sender="agent")  # the agent's own words are never unread
    assert unread_of(desk, "agent", conv) == 3
    assert desk.get("agent", f"/conversations/{conv}").json()["unread"] == 3

    assert desk.post("agent", f"/conversations/{conv}/read").status_code == 204
    assert unread_of(desk, "agent", conv) == 0
    assert unread_of(desk, "manager", conv) == 3  # the manager has read nothing yet
    say(engine, desk, conv, "voltou!")
    assert unread_of(desk, "agent", conv) == 1 and unread_of(desk, "manager", conv) == 4
    assert desk.post("agent", f"/conversations/{conv}/read").status_code == 204
    assert desk.post("agent", f"/conversations/{conv}/read").status_code == 204  # again: still fine
    assert unread_of(desk, "agent", conv) == 0


def test_only_a_conversation_one_may_see_can_be_marked_read(desk, engine):
    theirs = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro")
    refused = desk.post("agent", f"/conversations/{theirs}/read")
    assert refused.status_code == 404 and refused.json()["detail"] == "conversation not found"
    assert desk.post("agent", f"/conversations/{uuid.uuid4()}/read").status_code == 404
    assert desk.post("manager", f"/conversations/{theirs}/read").status_code == 204


def test_the_unread_count_stops_at_its_cap(desk, engine):
    conv = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    with engine.begin() as conn:
        conn.execute(insert(messages), [
            {"tenant_id": desk.tenant_id, "conversation_id": conv, "channel_id": desk.channel_id,
             "direction": "inbound", "sender_kind": "customer", "status": "processed", "text": f"msg {i}"}
            for i in range(105)])
    assert unread_of(desk, "agent", conv) == 100


# --- one query per view, paged (API) ------------------------------------------------------------------------


def test_the_list_takes_several_statuses_and_teams_in_the_inboxs_order(desk, engine):
    now = datetime.now(UTC)
    old_wait = add_conversation(engine, desk, "waiting", team="suporte", handoff_at=now - timedelta(minutes=30),
                                last_message_at=now - timedelta(minutes=1))
    new_wait = add_conversation(engine, desk, "waiting", team="financeiro", handoff_at=now - timedelta(minutes=5),
                                last_message_at=now - timedelta(minutes=20))
    recent = add_conversation(engine, desk, "open", assignee="agent", team="suporte", last_message_at=now)
    older = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro",
                             last_message_at=now - timedelta(hours=2))
    add_conversation(engine, desk, "bot", last_message_at=now)  # not asked for
    params = [("status", "waiting"), ("status", "open"), ("team_id", str(desk.team_id)),
              ("team_id", str(desk.other_team_id)), ("order", "queue")]
    answer = desk.get("manager", "/conversations", params=params).json()
    expected = [str(old_wait), str(new_wait), str(recent), str(older)]
    assert [row["id"] for row in answer["items"]] == expected and answer["total"] == 4
    pages = [desk.get("manager", "/conversations", params=[*params, ("limit", "3"), ("offset", str(offset))]).json()
             for offset in (0, 3)]
    assert [row["id"] for page in pages for row in page["items"]] == expected
    assert {page["total"] for page in pages} == {4}
    one_team = desk.get("manager", "/conversations", params=[("status", "open"), ("team_id", str(desk.team_id))])
    assert [row["id"] for row in one_team.json()["items"]] == [str(recent)]  # a single value, as before


def test_a_view_pages_through_its_rows_and_counts_them_all(app, desk, engine):
    queue = many_waiting(engine, desk, 105)
    agent = logged_in(app, desk, "agent")
    first = inbox(agent, app, "aguardando")
    assert listed(first) == queue[:100]
    options = {o["value"]: o["label"] for o in first["ws-view"]["options"]}
    assert options["aguardando"] == "Aguardando atendimento (105)" and options["equipes"] == "Minhas equipes (105)"
    assert first["ws-pager"]["style"] is None and first["ws-page-info"]["children"] == "1–100 de 105"
    assert first["ws-page-prev"]["disabled"] is True and first["ws-page-next"]["disabled"] is False

    offset = call(agent, app, "ws-offset.data", {"ws-page-next.n_clicks": 1, "ws-offset.data": 0},
                  trigger="ws-page-next.n_clicks")
    assert offset["ws-offset"]["data"] == 100
    second = inbox(agent, app, "aguardando", **{"ws-offset.data": 100})
    assert listed(second) == queue[100:]
    assert second["ws-page-info"]["children"] == "101–105 de 105" and second["ws-page-next"]["disabled"] is True
    # the team view pages over the union of its statuses and teams the same way
    teams = inbox(agent, app, "equipes", **{"ws-offset.data": 100})
    assert listed(teams) == queue[100:]
    # past the end (the queue shrank meanwhile): its last page
    assert listed(inbox(agent, app, "aguardando", **{"ws-offset.data": 300})) == queue[100:]
    # another view, or a filter, starts over at the first page
    back = call(agent, app, "ws-offset.data", {"ws-view.value": "minhas", "ws-offset.data": 100},
                trigger="ws-view.value")
    assert back["ws-offset"]["data"] == 0


# --- the inbox's rows: unread badges and labels -------------------------------------------------------------


def test_rows_show_unread_badges_and_opening_marks_read(app, desk, engine):
    conv = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Gina Leitura",
                            last_message_at=datetime.now(UTC))
    say(engine, desk, conv, "oi")
    say(engine, desk, conv, "tem alguém?")
    agent = logged_in(app, desk, "agent")
    row = [r for r in inbox(agent, app, "minhas")["ws-list"]["children"]
           if r["props"].get("data-conversation") == str(conv)][0]
    assert '"unread-badge"' in text_of(row) and "2 mensagens não lidas" in text_of(row)
    # open: the row shows no badge at once, and the API records the read
    selected = inbox(agent, app, "minhas", **{"ws-selected.data": str(conv)})
    assert "unread-badge" not in text_of(selected["ws-list"])
    assert call(agent, app, "ws-read.data", {"ws-selected.data": str(conv)}, trigger="ws-selected.data")
    assert unread_of(desk, "agent", conv) == 0
    assert "unread-badge" not in text_of(inbox(agent, app, "minhas")["ws-list"])
    # a new message while it is open is read too; an event about another conversation marks nothing
    say(engine, desk, conv, "obrigada")
    other = {"type": "message.created", "conversation_id": str(uuid.uuid4())}
    assert call(agent, app, "ws-read.data", {"ws-selected.data": str(conv), "ws-event.data": other},
                trigger="ws-event.data") == {}
    assert unread_of(desk, "agent", conv) == 1
    mine = {"type": "message.created", "conversation_id": str(conv)}
    call(agent, app, "ws-read.data", {"ws-selected.data": str(conv), "ws-event.data": mine}, trigger="ws-event.data")
    assert unread_of(desk, "agent", conv) == 0


def test_the_label_filter_and_each_rows_labels(app, desk, engine):
    with engine.begin() as conn:
        urgent = conn.execute(insert(labels).values(tenant_id=desk.tenant_id, name="Urgente", color="#dc2626")
                              .returning(labels.c.id)).scalar_one()
    tagged = add_conversation(engine, desk, "waiting", team="suporte", handoff_at=datetime.now(UTC))
    plain = add_conversation(engine, desk, "waiting", team="suporte", handoff_at=datetime.now(UTC))
    with engine.begin() as conn:
        conn.execute(insert(conversation_labels).values(tenant_id=desk.tenant_id, conversation_id=tagged,
                                                        label_id=urgent))
    agent = logged_in(app, desk, "agent")
    options = call(agent, app, "ws-label.options", {"ws-live-config.data": {}})
    assert {"label": "Urgente", "value": str(urgent)} in options["ws-label"]["options"]
    everything = inbox(agent, app, "aguardando")
    assert {str(tagged), str(plain)} <= set(listed(everything))
    row = [r for r in everything["ws-list"]["children"] if r["props"].get("data-conversation") == str(tagged)][0]
    assert "label-chip" in text_of(row) and "Urgente" in text_of(row) and "#dc2626" in text_of(row)
    assert listed(inbox(agent, app, "aguardando", label=str(urgent))) == [str(tagged)]
    counts = {o["value"]: o["label"] for o in inbox(agent, app, "aguardando", label=str(urgent))["ws-view"]["options"]}
    assert counts["aguardando"] == "Aguardando atendimento (1)"


# --- search --------------------------------------------------------------------------------------------------


def test_search_lists_hits_that_open_their_conversation_and_clearing_returns_to_the_view(app, desk, engine):
    mine = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Helena Boleto")
    say(engine, desk, mine, "Preciso da segunda via do boleto atrasado, por favor")
    theirs = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro", name="Igor Outro")
    say(engine, desk, theirs, "O boleto não chegou")
    (hit,) = desk.get("agent", "/search", params={"q": "atrasado"}).json()["items"]  # the API: who and what state
    assert hit["contact"]["name"] == "Helena Boleto" and hit["status"] == "open"
    agent = logged_in(app, desk, "agent")

    found = inbox(agent, app, "aguardando", search="boletos")  # the stemmer: boletos finds boleto
    assert listed(found) == [str(mine)]  # agent2's conversation is not this agent's to find
    body = text_of(found["ws-list"])
    assert "Helena Boleto" in body and "Igor Outro" not in body and "O boleto não chegou" not in body
    assert "Em atendimento" in body and '"type": "Mark"' in body and "boleto" in body
    assert "1 resultado para" in body
    assert found["ws-pager"]["style"] == {"display": "none"}
    hit = [r for r in found["ws-list"]["children"] if r["props"].get("data-conversation")][0]
    assert "inbox-row" in hit["props"]["className"]  # assets/workspace.js opens it like a row (sets ws-selected)

    nothing = inbox(agent, app, "aguardando", search="xilofone")
    assert listed(nothing) == [] and "Nenhum resultado para “xilofone”" in text_of(nothing["ws-list"])
    back = inbox(agent, app, "minhas", search="  ")
    assert listed(back) == [str(mine)]  # an empty box: the view again
    supervisor = logged_in(app, desk, "manager")
    assert set(listed(inbox(supervisor, app, "todas", search="boleto"))) == {str(mine), str(theirs)}
