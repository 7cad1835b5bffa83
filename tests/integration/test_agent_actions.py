"""The agents' actions of the workspace over the REST API (issue #18): take (two at once, one wins), hand back to
the bot, internal notes that are never sent. With the desk of tests/support/desk.py: `agent` in suporte,
`agent2` in financeiro, a manager and an admin."""

from __future__ import annotations

import threading
import uuid

import httpx
from sqlalchemy import func, select

from niochat.tables import audit_log, conversation_notes, conversations, messages
from tests.support.desk import Desk, add_conversation, audit_rows, make_desk, row_of


def _at_once(desk: Desk, calls: list[tuple[str, str]]) -> list[httpx.Response]:
    """Each (who, path) posted from its own client, released together."""
    start, results = threading.Barrier(len(calls)), [None] * len(calls)

    def post(index: int, who: str, path: str) -> None:
        with httpx.Client(base_url=desk.api.base_url, timeout=20) as client:
            start.wait()
            results[index] = client.post(f"/api/v1{path}", headers=desk.headers(who))

    threads = [threading.Thread(target=post, args=(i, who, path)) for i, (who, path) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_agents_taking_at_once_exactly_one_wins_and_the_other_is_told_who(desk, engine):
    for _ in range(8):
        conversation_id = add_conversation(engine, desk, "waiting")  # the general queue: both may see it
        first, second = _at_once(desk, [("agent", f"/conversations/{conversation_id}/take"),
                                        ("agent2", f"/conversations/{conversation_id}/take")])
        codes = sorted([first.status_code, second.status_code])
        assert codes == [200, 409], (first.text, second.text)
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        holder = row_of(engine, conversations, conversation_id)
        assert holder.status == "open" and str(holder.assignee_id) == winner.json()["assignee_id"]
        name = "Agente" if holder.assignee_id == desk.people["agent"] else "Agent2"
        assert loser.json()["detail"] == f"Esta conversa já está com {name}."
        with engine.connect() as conn:
            takes = conn.scalar(select(func.count()).select_from(audit_log).where(
                audit_log.c.action == "conversation.take", audit_log.c.entity_id == str(conversation_id)))
        assert takes == 1


def test_take_is_only_for_what_nobody_holds_and_the_agent_may_see(desk, engine):
    with_bot = add_conversation(engine, desk, "bot")
    assert desk.post("agent", f"/conversations/{with_bot}/take").status_code == 404  # not in an agent's queues
    assert desk.post("manager", f"/conversations/{with_bot}/take").status_code == 200  # a supervisor may
    closed = desk.rows.ids["conversations"][0]
    refused = desk.post("agent", f"/conversations/{closed}/take")
    assert refused.status_code == 409 and "encerrada" in refused.json()["detail"]
    other_team = add_conversation(engine, desk, "waiting", team="financeiro")
    assert desk.post("agent", f"/conversations/{other_team}/take").status_code == 404
    held = add_conversation(engine, desk, "open", assignee="agent2")
    assert desk.post("manager", f"/conversations/{held}/take").status_code == 409  # take is not steal: assign is
    assert row_of(engine, conversations, held).assignee_id == desk.people["agent2"]
    assert desk.post("agent", f"/conversations/{uuid.uuid4()}/take").status_code == 404


def test_hand_back_gives_the_conversation_to_the_bot_without_closing_it(desk, engine):
    conversation_id = add_conversation(engine, desk, "waiting", team="suporte", handoff_reason="asked_for_human")
    assert desk.post("agent", f"/conversations/{conversation_id}/take").status_code == 200
    back = desk.post("agent", f"/conversations/{conversation_id}/handback")
    assert back.status_code == 200, back.text
    row = row_of(engine, conversations, conversation_id)
    assert (row.status, row.assignee_id, row.team_id, row.closed_at) == ("bot", None, None, None)
    assert [entry.details["reason"] for entry in audit_rows(engine, desk, "conversation.handback")] == ["agent"]
    with engine.connect() as conn:  # nothing is sent: the bot speaks when the customer writes again
        outbound = conn.scalar(select(func.count()).select_from(messages).where(
            messages.c.conversation_id == conversation_id, messages.c.direction == "outbound"))
    assert outbound == 0

    others = add_conversation(engine, desk, "open", assignee="agent2", team="suporte")
    assert desk.post("agent", f"/conversations/{others}/handback").status_code == 404  # not theirs to see
    assert desk.post("manager", f"/conversations/{others}/handback").status_code == 200
    closed = desk.rows.ids["conversations"][0]
    assert desk.post("manager", f"/conversations/{closed}/handback").status_code == 409


def test_internal_notes_are_kept_for_the_team_and_never_sent(desk, engine, redis_url):
    import redis

    conversation_id = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    text = "Cliente já ligou duas vezes; verificar a ONU antes de abrir chamado."
    created = desk.post("agent", f"/conversations/{conversation_id}/notes", {"text": f"  {text}  "})
    assert created.status_code == 201, created.text
    note = created.json()
    assert (note["text"], note["author_name"], note["author_user_id"]) == (text, "Agente", str(desk.people["agent"]))
    second = desk.post("manager", f"/conversations/{conversation_id}/notes", {"text": "Ok, acompanhando."})
    listed = desk.get("agent", f"/conversations/{conversation_id}/notes")
    assert [n["text"] for n in listed.json()] == [text, "Ok, acompanhando."] and second.status_code == 201

    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(conversation_notes).where(
            conversation_notes.c.conversation_id == conversation_id))
        as_message = conn.scalar(select(func.count()).select_from(messages).where(messages.c.text.contains("ONU")))
    assert (stored, as_message) == (2, 0), "a note is its own row, never a message"
    queue = redis.Redis.from_url(redis_url)
    try:
        assert not queue.exists(f"arq:job:send:{note['id']}")
    finally:
        queue.close()
    audited = audit_rows(engine, desk, "conversation.note")
    assert len(audited) == 2 and all(text not in str(entry.details) for entry in audited), "no note text in the audit"
    history = desk.get("agent", f"/conversations/{conversation_id}/messages").json()["items"]
    assert not [m for m in history if m["text"] and "ONU" in m["text"]]

    assert desk.get("agent2", f"/conversations/{conversation_id}/notes").status_code == 404  # not theirs to see
    assert desk.post("agent2", f"/conversations/{conversation_id}/notes", {"text": "x"}).status_code == 404
    assert desk.post("agent", f"/conversations/{conversation_id}/notes", {"text": "   "}).status_code == 422
    assert desk.post("agent", f"/conversations/{conversation_id}/notes", {"text": "x" * 4001}).status_code == 422


def test_another_tenants_notes_and_takes_are_out_of_reach(desk, api, engine):
    other = make_desk(api, engine)
    conversation_id = add_conversation(engine, desk, "waiting")
    desk.post("agent", f"/conversations/{conversation_id}/notes", {"text": "só nossa"})
    for who in ("admin", "manager", "agent"):
        assert other.get(who, f"/conversations/{conversation_id}/notes").status_code == 404
        assert other.post(who, f"/conversations/{conversation_id}/take").status_code == 404
        assert other.post(who, f"/conversations/{conversation_id}/handback").status_code == 404
