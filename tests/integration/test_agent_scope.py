"""Agents see only the contacts and live events of the conversations they may see (issue #19).

The rule is the conversations' one (api.routes.conversation_queries.visible_to): assigned to the agent, closed
ones they held last included, or waiting in one of their teams' queues or the general queue. Over real HTTP and
a real WebSocket, with the desk of tests/support/desk.py: `agent` in team suporte, `agent2` in financeiro, a
manager and an admin.
"""

from __future__ import annotations

import json
import secrets
import uuid

import httpx
import redis

from api.engine.live import events_channel
from niochat.tables import conversations
from tests.support.desk import Desk, add_conversation, ids_of, open_live, row_of


def _contact_of(engine, conversation_id: uuid.UUID) -> str:
    return str(row_of(engine, conversations, conversation_id).contact_id)


def _get_routes(api: httpx.Client) -> list[str]:
    paths = api.get("/openapi.json").json()["paths"]
    return sorted(path for path, operations in paths.items() if "get" in operations and path.startswith("/api/v1"))


def test_an_agent_sees_only_the_contacts_of_conversations_they_may_see(desk, engine, api):
    # No digits in the names: a search's digits also match phones (a random phone holding "123" would match)
    tag = desk.rows.slug.translate(str.maketrans("0123456789", "ghijklmnop"))

    def person(label: str, status: str, **values) -> tuple[uuid.UUID, str, str]:
        phone = f"55219{secrets.randbelow(10**8):08d}"
        name = f"Escopo {label} {tag}"
        return add_conversation(engine, desk, status, phone=phone, name=name, **values), phone, name

    visible = {
        "mine": person("mine", "open", assignee="agent", team="suporte"),
        "mine_closed": person("mine_closed", "closed", assignee="agent"),  # handled and closed: still theirs
        "team_queue": person("team_queue", "waiting", team="suporte"),
        "general_queue": person("general_queue", "waiting"),
    }
    hidden = {
        "with_bot": person("with_bot", "bot"),
        "other_queue": person("other_queue", "waiting", team="financeiro"),
        "others": person("others", "open", assignee="agent2", team="financeiro"),
        "others_closed": person("others_closed", "closed", assignee="agent2"),
        "transferred": person("transferred", "open", assignee="agent", team="suporte"),
    }
    # one contact, two conversations: a closed one of agent2's and a new one waiting in suporte
    shared_first, shared_phone, shared_name = person("shared", "closed", assignee="agent2")
    shared = add_conversation(engine, desk, "waiting", team="suporte",
                           contact_id=uuid.UUID(_contact_of(engine, shared_first)))
    visible["shared"] = (shared, shared_phone, shared_name)

    transferred = hidden["transferred"][0]
    assert desk.get("agent", f"/contacts/{_contact_of(engine, transferred)}").status_code == 200
    moved = desk.post("agent", f"/conversations/{transferred}/transfer", {"team_id": str(desk.other_team_id)})
    assert moved.status_code == 200, moved.text

    def contact_ids(group: dict) -> set[str]:
        return {_contact_of(engine, conversation_id) for conversation_id, _, _ in group.values()}

    factory_contact = _contact_of(engine, desk.rows.ids["conversations"][0])  # closed, assigned to agent
    listed = desk.get("agent", "/contacts", params={"limit": 200})
    assert ids_of(listed) == contact_ids(visible) | {factory_contact}
    assert listed.json()["total"] == len(visible) + 1
    searched = desk.get("agent", "/contacts", params={"q": "Escopo"})
    assert ids_of(searched) == contact_ids(visible) and searched.json()["total"] == len(visible)
    for _, phone, name in hidden.values():
        assert ids_of(desk.get("agent", "/contacts", params={"q": name})) == set()
        assert ids_of(desk.get("agent", "/contacts", params={"q": phone[-8:]})) == set()
    for contact_id in contact_ids(hidden):
        assert desk.get("agent", f"/contacts/{contact_id}").status_code == 404  # as if it did not exist
        assert desk.get("manager", f"/contacts/{contact_id}").status_code == 200
    for contact_id in contact_ids(visible):
        assert desk.get("agent", f"/contacts/{contact_id}").status_code == 200

    # agent2 sees the other side, and the general queue too
    assert ids_of(desk.get("agent2", "/contacts", params={"q": "Escopo"})) == contact_ids(
        {key: hidden[key] for key in ("other_queue", "others", "others_closed", "transferred")}
    ) | contact_ids({"general_queue": visible["general_queue"], "shared": visible["shared"]})
    for who in ("manager", "admin"):
        assert ids_of(desk.get(who, "/contacts", params={"q": "Escopo", "limit": 200})) == (
            contact_ids(visible) | contact_ids(hidden))

    # nothing under /api/v1 shows the agent a hidden customer's phone or name, embedded or not
    hidden_conversations = {str(conversation_id) for conversation_id, _, _ in hidden.values()} | {str(shared_first)}
    hidden_texts = {text for _, phone, name in hidden.values() for text in (phone, name)}
    fill = {"contact_id": contact_ids(hidden) | contact_ids(visible),
            "conversation_id": hidden_conversations | {str(c) for c, _, _ in visible.values()}}
    seen: set[str] = set()
    for path in _get_routes(api):
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        for url in ([path.format(**{names[0]: value}) for value in fill[names[0]]] if names else [path]):
            response = desk.get("agent", url.removeprefix("/api/v1"), params={"limit": 200})
            assert response.status_code in (200, 403, 404), f"GET {url}: {response.status_code}"
            leaked = {text for text in hidden_texts if text in response.text}
            assert not leaked, f"GET {url} shows the agent {leaked}"
            seen |= {text for _, phone, name in visible.values() for text in (phone, name) if text in response.text}
    assert seen == {text for _, phone, name in visible.values() for text in (phone, name)}  # the sweep can see


# --- live events -----------------------------------------------------------------------------------------------


def _until(ws, conversation_id: uuid.UUID, of_type: str = "conversation.updated", timeout: float = 10) -> list[dict]:
    """Every event the socket receives up to and including the first `of_type` about `conversation_id`."""
    events = []
    while True:
        event = json.loads(ws.recv(timeout=timeout))
        events.append(event)
        if event["type"] == of_type and event.get("conversation_id") == str(conversation_id):
            return events


def _about(events: list[dict], conversation_id: uuid.UUID) -> list[tuple]:
    return [(event["type"], event.get("action")) for event in events
            if event.get("conversation_id") == str(conversation_id)]


def _sentinel(desk: Desk, ws, who: str, own: uuid.UUID) -> list[dict]:
    """What reached `who`'s socket before an event of their own conversation (pub/sub keeps the order)."""
    assert desk.post(who, f"/conversations/{own}/reply", {"text": "ainda aqui"}).status_code == 201
    return _until(ws, own)


def test_an_agents_socket_gets_only_the_events_of_conversations_they_may_see(desk, engine, api, redis_url):
    base = str(api.base_url).rstrip("/")
    chat = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro")
    agents_own = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    agent2s_own = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro")
    with open_live(base, desk.tokens["agent"]) as agent, open_live(base, desk.tokens["agent2"]) as agent2, \
            open_live(base, desk.tokens["manager"]) as manager:
        for ws in (agent, agent2, manager):
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"

        # agent2's conversation: agent2 and the manager hear of it, the agent of team suporte does not
        assert desk.post("agent2", f"/conversations/{chat}/reply", {"text": "Oi"}).status_code == 201
        assert _about(_until(agent2, chat), chat) == [("message.created", None), ("conversation.updated", "reply")]
        assert _about(_until(manager, chat), chat)[-1] == ("conversation.updated", "reply")
        assert _about(_sentinel(desk, agent, "agent", agents_own), chat) == []

        # queued for suporte: it reaches the agent; agent2 is told once it is gone, then hears nothing more
        assert desk.post("manager", f"/conversations/{chat}/transfer",
                         {"team_id": str(desk.team_id)}).status_code == 200
        queued = _until(agent, chat)[-1]
        assert (queued["action"], queued["status"], queued["team_id"]) == ("transfer", "waiting", str(desk.team_id))
        assert _about(_until(manager, chat), chat)[-1] == ("conversation.updated", "transfer")
        assert _about(_sentinel(desk, agent2, "agent2", agent2s_own), chat) == [("conversation.hidden", None)]

        # the agent takes it, then hands it to agent2: the agent gets the notice and nothing after it
        assert desk.post("agent", f"/conversations/{chat}/reply", {"text": "Assumo"}).status_code == 201
        assert _about(_until(agent, chat), chat) == [("message.created", None), ("conversation.updated", "reply")]
        assert _about(_sentinel(desk, agent2, "agent2", agent2s_own), chat) == []
        assert desk.post("agent", f"/conversations/{chat}/transfer",
                         {"user_id": str(desk.people["agent2"])}).status_code == 200
        back = _until(agent2, chat)[-1]
        assert (back["action"], back["assignee_id"]) == ("transfer", str(desk.people["agent2"]))
        assert desk.post("agent2", f"/conversations/{chat}/reply", {"text": "Voltei"}).status_code == 201
        assert _about(_sentinel(desk, agent, "agent", agents_own), chat) == [("conversation.hidden", None)]

        # an event naming no conversation reaches managers only
        with redis.Redis.from_url(redis_url) as client:
            client.publish(events_channel(desk.tenant_id), json.dumps({"type": "tenant.notice"}))
        assert _until_type(manager, "tenant.notice")
        assert [event["type"] for event in _sentinel(desk, agent, "agent", agents_own)
                if "conversation_id" not in event] == []


def _until_type(ws, of_type: str, timeout: float = 10) -> list[dict]:
    events = []
    while True:
        events.append(json.loads(ws.recv(timeout=timeout)))
        if events[-1]["type"] == of_type:
            return events
