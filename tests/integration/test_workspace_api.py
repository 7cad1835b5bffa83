"""The agents' workspace, server side (issue #18), over real HTTP on real PostgreSQL and Redis: labels, quick replies
(and their expansion in /reply), full-text search in Portuguese, the first-response target. With the desk of
tests/integration/test_api_agents.py: `agent` in suporte, `agent2` in financeiro, a manager and an admin."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, insert, select, text, update

from api.routes.search import message_vector
from niochat.database import APP_ROLE, TENANT_SETTING
from niochat.tables import conversation_labels, conversations, messages, quick_replies
from tests.support.desk import Desk, add_conversation, audit_rows, make_desk, row_of


def _delete(desk: Desk, who: str, path: str) -> httpx.Response:
    return desk.api.delete(f"/api/v1{path}", headers=desk.headers(who))


def _message(engine, desk: Desk, conversation_id: uuid.UUID, body: str, **values) -> uuid.UUID:
    with engine.begin() as conn:
        return conn.execute(insert(messages).values(
            tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
            direction="inbound", sender_kind="customer", text=body, status="processed", **values,
        ).returning(messages.c.id)).scalar_one()


def _outbound(engine, conversation_id: uuid.UUID) -> list:
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.conversation_id == conversation_id,
                                                   messages.c.direction == "outbound")).all()


# --- labels ------------------------------------------------------------------------------------------------


def test_admins_manage_labels_and_everyone_reads_them(desk, engine):
    created = desk.post("admin", "/labels", {"name": "  Cobrança ", "color": "#E11D48"})
    assert created.status_code == 201, created.text
    label = created.json()
    assert (label["name"], label["color"]) == ("Cobrança", "#e11d48")
    for who in ("agent", "manager"):
        assert desk.post(who, "/labels", {"name": "Outro"}).status_code == 403
        assert desk.patch(who, f"/labels/{label['id']}", {"name": "x"}).status_code == 403
        assert _delete(desk, who, f"/labels/{label['id']}").status_code == 403
    names = [item["name"] for item in desk.get("agent", "/labels").json()]
    assert names == ["Cobrança", "Financeiro"]  # by name; Financeiro is full_tenant's

    taken = desk.post("admin", "/labels", {"name": "COBRANÇA"})
    assert taken.status_code == 409 and "already exists" in taken.json()["detail"]
    for bad in ({"name": ""}, {"name": "x" * 51}, {"name": "Ok", "color": "red"}, {"name": "Ok", "color": "#12345"},
                {"name": "Ok", "extra": 1}):
        assert desk.post("admin", "/labels", bad).status_code == 422, bad

    renamed = desk.patch("admin", f"/labels/{label['id']}", {"name": "Cobrança atrasada", "color": "#000000"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Cobrança atrasada"
    assert desk.patch("admin", f"/labels/{label['id']}", {"name": "financeiro"}).status_code == 409
    assert desk.patch("admin", f"/labels/{label['id']}", {"name": None}).status_code == 422
    assert desk.patch("admin", f"/labels/{uuid.uuid4()}", {"name": "Nada"}).status_code == 404
    assert [entry.details for entry in audit_rows(engine, desk, "label.update")] == [{"changed": "color,name"}]
    assert len(audit_rows(engine, desk, "label.create")) == 1


def test_labels_on_conversations_by_whoever_may_act_on_them(desk, engine):
    mine = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    others = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro")
    urgent = desk.post("admin", "/labels", {"name": "Urgente", "color": "#dc2626"}).json()
    finance = desk.rows.ids["labels"][0]

    added = desk.post("agent", f"/conversations/{mine}/labels", {"label_id": urgent["id"]})
    assert added.status_code == 200, added.text
    assert added.json()["labels"] == [{"id": urgent["id"], "name": "Urgente", "color": "#dc2626"}]
    again = desk.post("agent", f"/conversations/{mine}/labels", {"label_id": urgent["id"]})
    assert again.status_code == 200 and len(again.json()["labels"]) == 1  # nothing changes
    both = desk.post("agent", f"/conversations/{mine}/labels", {"label_id": str(finance)}).json()["labels"]
    assert [item["name"] for item in both] == ["Financeiro", "Urgente"]
    assert [entry.details["label_id"] for entry in audit_rows(engine, desk, "conversation.label")] == [
        urgent["id"], str(finance)]
    assert [item["name"] for item in desk.get("agent", f"/conversations/{mine}").json()["labels"]] == [
        "Financeiro", "Urgente"]

    assert desk.post("agent", f"/conversations/{others}/labels", {"label_id": urgent["id"]}).status_code == 404
    assert desk.post("manager", f"/conversations/{others}/labels", {"label_id": urgent["id"]}).status_code == 200
    assert desk.post("agent", f"/conversations/{mine}/labels", {"label_id": str(uuid.uuid4())}).status_code == 404
    assert desk.post("agent", f"/conversations/{mine}/labels", {"label_id": "nope"}).status_code == 422

    listed = desk.get("manager", "/conversations", params={"label_id": urgent["id"]}).json()
    assert {item["id"] for item in listed["items"]} == {str(mine), str(others)} and listed["total"] == 2
    as_agent = desk.get("agent", "/conversations", params={"label_id": urgent["id"]}).json()
    assert [item["id"] for item in as_agent["items"]] == [str(mine)]  # the agent's scope still applies

    removed = _delete(desk, "agent", f"/conversations/{mine}/labels/{urgent['id']}")
    assert removed.status_code == 200 and [item["name"] for item in removed.json()["labels"]] == ["Financeiro"]
    assert _delete(desk, "agent", f"/conversations/{mine}/labels/{urgent['id']}").status_code == 404
    assert _delete(desk, "agent", f"/conversations/{others}/labels/{urgent['id']}").status_code == 404
    assert len(audit_rows(engine, desk, "conversation.unlabel")) == 1

    assert _delete(desk, "admin", f"/labels/{urgent['id']}").status_code == 204  # leaves every conversation
    assert desk.get("manager", f"/conversations/{others}").json()["labels"] == []
    assert _delete(desk, "admin", f"/labels/{urgent['id']}").status_code == 404
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(conversation_labels).where(
            conversation_labels.c.label_id == uuid.UUID(urgent["id"]))) == 0


def test_inbox_filters_channel_and_unassigned(desk, engine):
    waiting = add_conversation(engine, desk, "waiting", team="suporte")
    held = add_conversation(engine, desk, "open", assignee="agent", team="suporte")

    def listed(**params) -> set[str]:
        response = desk.get("manager", "/conversations", params=params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert str(waiting) in listed(unassigned="true") and str(held) not in listed(unassigned="true")
    assert str(held) in listed(unassigned="false") and str(waiting) not in listed(unassigned="false")
    assert {str(waiting), str(held)} <= listed(channel_id=str(desk.channel_id))
    assert listed(channel_id=str(uuid.uuid4())) == set()
    for bad in ({"label_id": "x"}, {"channel_id": "x"}, {"unassigned": "talvez"}):
        assert desk.get("manager", "/conversations", params=bad).status_code == 422, bad


# --- quick replies -----------------------------------------------------------------------------------------


def test_admins_manage_quick_replies_and_agents_list_the_ones_they_may_use(desk, engine):
    support = desk.post("admin", "/quick-replies", {
        "shortcut": "/reiniciar-onu", "text": "{primeiro_nome}, desligue a ONU por 30 segundos.",
        "team_id": str(desk.team_id)})
    assert support.status_code == 201, support.text
    assert support.json()["shortcut"] == "reiniciar-onu" and support.json()["team_id"] == str(desk.team_id)
    finance = desk.post("admin", "/quick-replies", {
        "shortcut": "pix", "text": "Segue o PIX.", "media_url": "https://cdn.example.com/qr/pix.PNG",
        "team_id": str(desk.other_team_id)})
    assert finance.status_code == 201, finance.text

    def shortcuts(who: str) -> list[str]:
        response = desk.get(who, "/quick-replies")
        assert response.status_code == 200, response.text
        return [item["shortcut"] for item in response.json()]

    assert shortcuts("agent") == ["reiniciar-onu", "segunda-via"]  # its team's and the tenant-wide one
    assert shortcuts("agent2") == ["pix", "segunda-via"]
    assert shortcuts("manager") == ["pix", "reiniciar-onu", "segunda-via"]

    for bad in ({"shortcut": "Segunda Via", "text": "x"}, {"shortcut": "a--b", "text": "x"},
                {"shortcut": "-a", "text": "x"}, {"shortcut": "x" * 41, "text": "x"},
                {"shortcut": "ok", "text": "Olá {cliente}"}, {"shortcut": "ok", "text": ""},
                {"shortcut": "ok", "text": "x", "media_url": "ftp://example.com/a.png"},
                {"shortcut": "ok", "text": "x", "media_url": "https://example.com/programa.exe"}):
        response = desk.post("admin", "/quick-replies", bad)
        assert response.status_code == 422, (bad, response.text)
    unknown = desk.post("admin", "/quick-replies", {"shortcut": "ok", "text": "Olá {cliente}"}).json()["detail"]
    assert "{cliente}" in str(unknown) and "{primeiro_nome}" in str(unknown)
    assert desk.post("admin", "/quick-replies", {"shortcut": "pix", "text": "de novo"}).status_code == 409
    assert desk.post("admin", "/quick-replies", {"shortcut": "ok", "text": "x",
                                                 "team_id": str(uuid.uuid4())}).status_code == 404
    assert desk.post("agent", "/quick-replies", {"shortcut": "ok", "text": "x"}).status_code == 403
    assert desk.post("manager", "/quick-replies", {"shortcut": "ok", "text": "x"}).status_code == 403

    reply_id = finance.json()["id"]
    changed = desk.patch("admin", f"/quick-replies/{reply_id}", {"team_id": None, "media_url": None})
    assert changed.status_code == 200 and (changed.json()["team_id"], changed.json()["media_url"]) == (None, None)
    assert shortcuts("agent") == ["pix", "reiniciar-onu", "segunda-via"]  # now the whole tenant's
    assert desk.patch("admin", f"/quick-replies/{reply_id}", {"shortcut": "segunda-via"}).status_code == 409
    assert desk.patch("admin", f"/quick-replies/{reply_id}", {"text": None}).status_code == 422
    assert desk.patch("agent", f"/quick-replies/{reply_id}", {"text": "x"}).status_code == 403
    assert _delete(desk, "admin", f"/quick-replies/{reply_id}").status_code == 204
    assert _delete(desk, "admin", f"/quick-replies/{reply_id}").status_code == 404
    assert desk.patch("admin", f"/quick-replies/{reply_id}", {"text": "x"}).status_code == 404
    assert [len(audit_rows(engine, desk, f"quick_reply.{action}")) for action in ("create", "update", "delete")] == [
        2, 1, 1]


def test_a_quick_reply_is_sent_with_its_variables_filled_in(desk, engine, redis_url):
    import redis

    conversation_id = add_conversation(engine, desk, "waiting", team="suporte", name="Maria da Silva",
                                    bot_state={"ticket_protocol": "2026120400123"})
    created = desk.post("admin", "/quick-replies", {
        "shortcut": "protocolo", "text": "Olá {primeiro_nome} ({nome}), seu protocolo é {protocolo}. {agente}"})
    assert created.status_code == 201, created.text

    sent = desk.post("agent", f"/conversations/{conversation_id}/reply", {"quick_reply": "protocolo"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["text"] == "Olá Maria (Maria da Silva), seu protocolo é 2026120400123. Agente"
    conversation = row_of(engine, conversations, conversation_id)
    assert (conversation.status, conversation.assignee_id) == ("open", desk.people["agent"])  # reply takes it
    queue = redis.Redis.from_url(redis_url)
    try:
        assert queue.exists(f"arq:job:send:{sent.json()['id']}")
    finally:
        queue.close()
    assert audit_rows(engine, desk, "conversation.reply")[-1].details["quick_reply"] == "protocolo"

    typed = desk.post("agent", f"/conversations/{conversation_id}/reply", {"text": "/segunda-via"})
    assert typed.status_code == 201 and typed.json()["text"] == "Olá Maria, segue a segunda via."
    plain = desk.post("agent", f"/conversations/{conversation_id}/reply", {"text": "/segunda-via amanhã"})
    assert plain.status_code == 201 and plain.json()["text"] == "/segunda-via amanhã"  # not a shortcut alone

    desk.post("admin", "/quick-replies", {"shortcut": "boleto-pdf", "text": "Segue o boleto, {primeiro_nome}.",
                                          "media_url": "https://cdn.example.com/modelo/boleto.pdf"})
    media = desk.post("agent", f"/conversations/{conversation_id}/reply", {"quick_reply": "/boleto-pdf"}).json()
    assert (media["content_type"], media["text"], media["media_url"], media["media_mime"]) == (
        "document", "Segue o boleto, Maria.", "https://cdn.example.com/modelo/boleto.pdf", "application/pdf")
    assert len(_outbound(engine, conversation_id)) == 4


def test_a_quick_reply_that_cannot_be_filled_sends_nothing(desk, engine):
    nameless = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name=None)
    desk.post("admin", "/quick-replies", {"shortcut": "protocolo", "text": "Seu protocolo: {protocolo}"})
    desk.post("admin", "/quick-replies", {"shortcut": "so-financeiro", "text": "x",
                                          "team_id": str(desk.other_team_id)})
    with engine.begin() as conn:  # a template stored before a variable was retired is refused when sent
        conn.execute(insert(quick_replies).values(tenant_id=desk.tenant_id, shortcut="antiga", text="Oi {apelido}"))

    cases = {
        "segunda-via": "{primeiro_nome}",  # the contact has no name
        "protocolo": "{protocolo}",  # no ticket opened in this conversation
        "antiga": "unknown variable(s) {apelido}",
        "nao-existe": "no quick reply /nao-existe",
        "so-financeiro": "no quick reply /so-financeiro",  # another team's
    }
    for shortcut, expected in cases.items():
        response = desk.post("agent", f"/conversations/{nameless}/reply", {"quick_reply": shortcut})
        assert response.status_code == 422, (shortcut, response.text)
        assert expected in response.json()["detail"] and "nothing was sent" in response.json()["detail"], shortcut
    typed = desk.post("agent", f"/conversations/{nameless}/reply", {"text": "/nao-existe"})
    assert typed.status_code == 422
    assert desk.post("agent", f"/conversations/{nameless}/reply",
                     {"text": "oi", "quick_reply": "segunda-via"}).status_code == 422
    assert desk.post("agent", f"/conversations/{nameless}/reply", {}).status_code == 422
    assert _outbound(engine, nameless) == [] and audit_rows(engine, desk, "conversation.reply") == []

    closed = desk.rows.ids["conversations"][0]  # the reply's own checks still come first
    refused = desk.post("agent", f"/conversations/{closed}/reply", {"quick_reply": "segunda-via"})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]
    others = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro", name="Ana")
    assert desk.post("agent", f"/conversations/{others}/reply", {"quick_reply": "segunda-via"}).status_code == 404
    assert desk.post("agent2", f"/conversations/{others}/reply", {"quick_reply": "so-financeiro"}).status_code == 201


# --- search ------------------------------------------------------------------------------------------------


def _search(desk: Desk, who: str, q: str, **params) -> dict:
    response = desk.get(who, "/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_search_finds_portuguese_words_with_or_without_accents(desk, engine):
    conversation_id = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Joana")
    said = _message(engine, desk, conversation_id, "Estou sem conexão desde ontem, a internet caiu de novo")
    bills = _message(engine, desk, conversation_id, "Preciso dos boletos de março e de abril")
    _message(engine, desk, conversation_id, "Obrigado, resolvido!")

    found = _search(desk, "agent", "conexao")
    assert [hit["message_id"] for hit in found["items"]] == [str(said)] and found["total"] == 1
    hit = found["items"][0]
    assert (hit["kind"], hit["conversation_id"]) == ("message", str(conversation_id))
    assert "conexão" in hit["snippet"], "the snippet keeps the customer's accents"
    assert [hit["snippet"][start:end] for start, end in hit["highlights"]] == ["conexão"]
    assert [h["message_id"] for h in _search(desk, "agent", "CONEXÃO")["items"]] == [str(said)]
    assert [h["message_id"] for h in _search(desk, "agent", "boleto")["items"]] == [str(bills)]
    assert [h["message_id"] for h in _search(desk, "agent", "março")["items"]] == [str(bills)]
    assert [h["message_id"] for h in _search(desk, "agent", '"internet caiu"')["items"]] == [str(said)]
    assert _search(desk, "agent", '"caiu internet"')["total"] == 0
    assert [h["message_id"] for h in _search(desk, "agent", "boleto or conexão")["items"]] == [str(bills), str(said)]
    assert _search(desk, "agent", "boletos -abril")["total"] == 0
    assert [h["message_id"] for h in _search(desk, "agent", "boletos", limit=1, offset=0)["items"]] == [str(bills)]

    with engine.begin() as conn:  # content removed (erasure, retention) is not found any more
        conn.execute(update(messages).where(messages.c.id == bills).values(text=None, redacted_at=func.now()))
    assert _search(desk, "agent", "boleto")["total"] == 0


def test_search_keeps_to_what_the_user_may_see(desk, engine):
    mine = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Carla")
    others = add_conversation(engine, desk, "open", assignee="agent2", team="financeiro", name="Carla Souza")
    _message(engine, desk, mine, "A fatura veio errada")
    hidden = _message(engine, desk, others, "A fatura veio duplicada")

    assert {hit["conversation_id"] for hit in _search(desk, "agent", "fatura")["items"]} == {str(mine)}
    assert {hit["message_id"] for hit in _search(desk, "agent2", "fatura")["items"]} == {str(hidden)}
    assert _search(desk, "manager", "fatura")["total"] == 2
    contacts = [hit for hit in _search(desk, "agent", "carla")["items"] if hit["kind"] == "contact"]
    assert [(hit["conversation_id"], hit["snippet"].split(" · ")[0]) for hit in contacts] == [(str(mine), "Carla")]
    assert len([hit for hit in _search(desk, "manager", "carla")["items"] if hit["kind"] == "contact"]) == 2

    other = make_desk(desk.api, engine)  # another tenant's rows are never found, even by its own words
    _message(engine, other, other.rows.ids["conversations"][0], "A fatura de outro provedor")
    assert _search(desk, "manager", "provedor")["total"] == 0


def test_search_by_digits_of_a_phone_a_document_or_a_protocol(desk, engine):
    by_phone = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Pedro",
                             phone="5511987654321")
    by_protocol = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Rita",
                                bot_state={"ticket_protocol": "2026.1204-777"})
    with engine.begin() as conn:
        contact_id = row_of(engine, conversations, by_protocol).contact_id
        conn.execute(text("update contacts set document_masked = '***.456.789-**' where id = :id"), {"id": contact_id})

    phone = _search(desk, "agent", "(11) 98765-4321")["items"]
    assert [(hit["kind"], hit["conversation_id"]) for hit in phone] == [("contact", str(by_phone))]
    assert "5511987654321" in phone[0]["snippet"]
    protocol = _search(desk, "agent", "20261204777")["items"]
    assert [(hit["kind"], hit["conversation_id"], hit["snippet"]) for hit in protocol] == [
        ("protocol", str(by_protocol), "Protocolo 2026.1204-777")]
    document = _search(desk, "agent", "456.789")["items"]
    assert [(hit["kind"], hit["contact_id"]) for hit in document] == [("contact", str(contact_id))]
    assert _search(desk, "agent", "987")["total"] == 0  # too few digits to mean a number
    assert _search(desk, "agent2", "98765-4321")["total"] == 0  # not theirs


def test_hostile_searches_are_words_or_a_clear_422(desk, engine):
    conversation_id = add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    _message(engine, desk, conversation_id, "texto comum")
    for q in ("' or 1=1 --", "a & b | !c", "fatura:*", "((", "\"", "'; drop table messages; --", "<b>x</b>",
              "ção 🤩 ñ 你好 \u202e", "*", "\\", "%", "_", "-", "-1", "-texto", "texto -texto", "or", "a" * 200):
        response = desk.get("agent", "/search", params={"q": q})
        assert response.status_code == 200, (q, response.text)
        assert response.json()["total"] == 0, q
    for q in ("a" * 201, "texto\x00comum"):
        response = desk.get("agent", "/search", params={"q": q})
        assert response.status_code == 422, (q[:20], response.text)
    assert _search(desk, "agent", "   ") == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert desk.get("agent", "/search").json()["total"] == 0
    assert desk.api.get("/api/v1/search", params={"q": "texto"}).status_code == 401


def test_the_message_search_uses_its_index(engine, desk):
    """niochat_message_matches (migration 0020, run as the owner) matches by the expression migration 0016 indexes
    (a changed one reads every message)."""
    statement = select(messages.c.id).where(message_vector().op("@@")(
        func.websearch_to_tsquery(text("'portuguese'::regconfig"), "conexao")))
    with engine.begin() as conn:
        conn.execute(text("set local enable_seqscan = off"))
        plan = "\n".join(conn.execute(text("explain " + str(statement.compile(
            engine, compile_kwargs={"literal_binds": True})))).scalars())
    assert "messages_search_idx" in plan, plan


def test_the_route_reads_messages_through_the_matches_function(engine, desk):
    """As the RLS-bound role the planner may not use the GIN index for `@@` (not leakproof): the route's query
    must take the matching messages from niochat_message_matches, never scan messages itself."""
    from api.deps import CurrentUser
    from api.routes.search import _hits

    for who in ("agent", "manager"):
        user = CurrentUser(desk.people[who], desk.tenant_id, f"{who}@x.test", who, "agent" if who == "agent"
                           else "manager")
        statement = select(func.count()).select_from(_hits(type("Ctx", (), {"user": user})(), "conexao"))
        with engine.begin() as conn:
            conn.execute(text("select set_config('role', :role, true), set_config(:name, :tenant, true)"),
                         {"role": APP_ROLE, "name": TENANT_SETTING, "tenant": str(desk.tenant_id)})
            plan = "\n".join(conn.execute(text("explain " + str(statement.compile(
                engine, compile_kwargs={"literal_binds": True})))).scalars())
        assert "niochat_message_matches" in plan and " on messages" not in plan, plan


def test_the_snippets_folding_is_the_databases(engine):
    """The route finds the headline in the original text by folding it as niochat_unaccent_pt does."""
    from api.routes.search import _FOLD

    letters = "".join(chr(code) for code in range(0xC0, 0x180)) + "abc ABC 123"
    with engine.connect() as conn:
        folded = conn.scalar(text("select niochat_unaccent_pt(:letters)"), {"letters": letters})
    assert folded == letters.translate(_FOLD) and len(folded) == len(letters)
    assert "conexão à instalação".translate(_FOLD) == "conexao a instalacao"


# --- first-response target ---------------------------------------------------------------------------------


def test_the_first_response_target_is_a_validated_tenant_setting(desk, engine):
    assert desk.get("admin", "/settings").json()["first_response_target_minutes"] == 15
    changed = desk.patch("admin", "/settings", {"first_response_target_minutes": 30})
    assert changed.status_code == 200 and changed.json()["first_response_target_minutes"] == 30
    assert desk.get("admin", "/settings").json()["first_response_target_minutes"] == 30
    assert audit_rows(engine, desk, "settings.update")[-1].details["changed"] == "first_response_target_minutes"
    for bad in (0, 1441, -5, None, "quinze", 2.5):
        response = desk.patch("admin", "/settings", {"first_response_target_minutes": bad})
        assert response.status_code == 422, (bad, response.text)
    assert desk.patch("admin", "/settings", {"first_response_target_minutes": 1440}).status_code == 200
    assert desk.patch("agent", "/settings", {"first_response_target_minutes": 20}).status_code == 403


# --- LGPD --------------------------------------------------------------------------------------------------


def test_a_persons_export_names_the_labels_on_their_conversations(desk):
    exported = desk.post("admin", "/privacy/export", {"phone": "5511999990000"})  # full_tenant's contact
    assert exported.status_code == 200, exported.text
    talks = exported.json()["conversations"]
    assert [talk["labels"] for talk in talks] == [["Financeiro"]]
