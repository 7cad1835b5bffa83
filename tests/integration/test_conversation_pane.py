"""The workspace's conversation pane (issue #18) through the real Dash app and Flask sessions, against a real API on
real PostgreSQL and Redis: system events between the messages, a failed send's "Tentar de novo", labels added and
removed, the quick replies offered to the composer, and a reply refused (WhatsApp's 24-hour window, taken by
another agent) told in Portuguese with nothing sent."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from niochat.settings import Settings
from niochat.tables import conversation_labels, messages
from tests.support.basics import TEST_SECRET
from tests.support.desk import Desk, add_conversation
from tests.support.factories import clear_login_limits
from tests.support.workspace_app import call, logged_in, pattern_prop


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


def _message(engine, desk: Desk, conversation_id, **values):
    defaults = {"direction": "inbound", "sender_kind": "customer", "status": "processed"}
    with engine.begin() as conn:
        return conn.execute(insert(messages).values(
            tenant_id=desk.tenant_id, conversation_id=conversation_id, channel_id=desk.channel_id,
            **{**defaults, **values}).returning(messages.c.id)).scalar_one()


def _text(result) -> str:
    return json.dumps(result, ensure_ascii=False)


def test_the_history_shows_the_events_and_a_failed_send_is_sent_again_once(app, desk, engine):
    handed = datetime.now(UTC) - timedelta(minutes=20)
    conv = add_conversation(engine, desk, "waiting", team="suporte", name="Rita Eventos", handoff_at=handed,
                            handoff_reason="customer_request")
    _message(engine, desk, conv, text="quero falar com alguém", created_at=handed - timedelta(minutes=1))
    assert desk.post("agent", f"/conversations/{conv}/take").status_code == 200
    failed = _message(engine, desk, conv, direction="outbound", sender_kind="agent",
                      sender_user_id=desk.people["agent"], text="Já verifico", status="failed",
                      error="provider reported delivery failure")
    agent = logged_in(app, desk, "agent")
    shown = call(agent, app, "ws-timeline.children", {"ws-selected.data": str(conv)})
    items = shown["ws-timeline"]["children"]
    assert [item["props"]["data-kind"] for item in items] == ["customer", "event", "event", "agent"]
    text = _text(items)
    assert "Encaminhada pelo robô à fila Suporte — motivo: Cliente pediu um atendente" in text
    assert "Agente assumiu a conversa" in text
    assert "falhou: o WhatsApp informou que não entregou" in text and "Tentar de novo" in text
    button = {"type": "ws-retry", "message": str(failed)}
    assert json.dumps(button, sort_keys=True) in json.dumps(items, sort_keys=True)

    values = {"ws-retry.n_clicks": [(button, 1)], "ws-selected.data": str(conv), "ws-done.data": 3}
    done = call(agent, app, "ws-pane-notice.children@", values, trigger=pattern_prop(button, "n_clicks"))
    assert "Mensagem colocada na fila" in _text(done["ws-pane-notice"]) and done["ws-done"]["data"] == 4
    with engine.connect() as conn:
        assert conn.scalar(select(messages.c.status).where(messages.c.id == failed)) == "queued"
    again = call(agent, app, "ws-pane-notice.children@", values, trigger=pattern_prop(button, "n_clicks"))
    assert "Esta mensagem não está com falha de envio" in _text(again["ws-pane-notice"])
    untouched = call(agent, app, "ws-pane-notice.children@", {**values, "ws-retry.n_clicks": [(button, 0)]},
                     trigger=pattern_prop(button, "n_clicks"))  # a button drawn anew is no click
    assert untouched == {}


def test_labels_are_chips_with_a_remove_button_and_a_list_to_add_one(app, desk, engine):
    conv = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Sara Etiquetas")
    created = desk.post("admin", "/labels", {"name": "Urgente", "color": "#e11d48"})
    assert created.status_code == 201, created.text
    urgent = created.json()["id"]
    agent = logged_in(app, desk, "agent")
    selected = {"ws-selected.data": str(conv), "ws-done.data": 0}
    shown = call(agent, app, "ws-labels.children", selected)
    assert "Sem etiquetas" in _text(shown["ws-labels"]) and shown["ws-label-row"]["style"] == {}
    assert {o["label"] for o in shown["ws-label-add"]["options"]} >= {"Urgente", "Financeiro"}

    added = call(agent, app, "ws-label-add.value", {**selected, "ws-label-add.value": urgent},
                 trigger="ws-label-add.value")
    assert "Etiqueta adicionada." in _text(added["ws-pane-notice"]) and added["ws-label-add"]["value"] is None
    shown = call(agent, app, "ws-labels.children", selected)
    assert "Urgente" in _text(shown["ws-labels"]) and "#e11d48" in _text(shown["ws-labels"])
    assert "Urgente" not in {o["label"] for o in shown["ws-label-add"]["options"]}

    remove = {"type": "ws-label-remove", "label": urgent}
    removed = call(agent, app, "ws-label-add.value", {**selected, "ws-label-remove.n_clicks": [(remove, 1)]},
                   trigger=pattern_prop(remove, "n_clicks"))
    assert "Etiqueta removida." in _text(removed["ws-pane-notice"])
    with engine.connect() as conn:
        assert conn.execute(select(conversation_labels).where(conversation_labels.c.conversation_id == conv)
                            ).all() == []
    again = call(agent, app, "ws-label-add.value", {**selected, "ws-label-remove.n_clicks": [(remove, 1)]},
                 trigger=pattern_prop(remove, "n_clicks"))  # a stale screen
    assert "Esta etiqueta já não estava na conversa." in _text(again["ws-pane-notice"])


def test_the_composer_offers_the_quick_replies_with_their_preview(app, desk):
    assert desk.post("admin", "/quick-replies", {"shortcut": "aguarde", "text": "Um momento, por favor."}
                     ).status_code == 201
    agent = logged_in(app, desk, "agent")
    offered = call(agent, app, "ws-quick-texts.data", {"ws-live-config.data": {}})
    labels = {o["value"]: o["label"] for o in offered["ws-quick-reply"]["options"]}
    assert labels["aguarde"] == "/aguarde — Um momento, por favor."
    assert labels["segunda-via"].startswith("/segunda-via — Olá {primeiro_nome}")
    texts = offered["ws-quick-texts"]["data"]
    assert texts["aguarde"] == {"text": "Um momento, por favor.", "whole": False}  # inserted, to edit
    assert texts["segunda-via"] == {"text": "/segunda-via", "whole": True}  # its variables filled by the API


def _reply(client, app, conv, text: str) -> str:
    values = {"ws-selected.data": str(conv), "ws-send-reply.n_clicks": 1, "ws-done.data": 0,
              "ws-composer.value": text}
    return _text(call(client, app, "ws-feedback.children", values, trigger="ws-send-reply.n_clicks"))


def test_refused_replies_are_told_in_portuguese_and_nothing_is_sent(app, desk, engine):
    stale = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Tina Janela",
                             last_inbound_at=datetime.now(UTC) - timedelta(hours=30))
    agent = logged_in(app, desk, "agent")
    header = _text(call(agent, app, "ws-timeline.children", {"ws-selected.data": str(stale)})["ws-conv-header"])
    assert "fora da janela de 24 h" in header
    refused = _reply(agent, app, stale, "Oi, ainda precisa de ajuda?")
    assert "fora da janela de 24 horas do WhatsApp" in refused and "Nada foi enviado" in refused
    assert '"role": "alert"' in refused

    taken = add_conversation(engine, desk, "waiting", team="suporte", name="Uma Corrida",
                             handoff_at=datetime.now(UTC))
    assert desk.post("manager", f"/conversations/{taken}/take").status_code == 200
    assert "Esta conversa já está com Manager." in _reply(agent, app, taken, "Olá!")
    with engine.connect() as conn:
        assert conn.execute(select(messages.c.id).where(messages.c.conversation_id.in_([stale, taken]))).all() == []
    fresh = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Vera Dentro")
    assert "fora da janela" not in _text(call(agent, app, "ws-timeline.children",
                                              {"ws-selected.data": str(fresh)})["ws-conv-header"])


def test_a_file_attached_in_the_composer_goes_with_the_reply(app, desk, engine):
    conv = add_conversation(engine, desk, "open", assignee="agent", team="suporte", name="Xena Anexo")
    agent = logged_in(app, desk, "agent")
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
    shown = call(agent, app, "ws-attach-name.children", {"ws-attach.contents": png, "ws-attach.filename": "print.png"})
    assert "📎 print.png" in _text(shown["ws-attach-name"])

    def send(contents: str, text: str = "") -> dict:
        values = {"ws-selected.data": str(conv), "ws-send-reply.n_clicks": 1, "ws-done.data": 0,
                  "ws-composer.value": text, "ws-attach.contents": contents, "ws-attach.filename": "print.png"}
        return call(agent, app, "ws-feedback.children", values, trigger="ws-send-reply.n_clicks")

    assert "Só é possível anexar imagens" in _text(send("data:image/svg+xml;base64,PHN2Zz4=")["ws-feedback"])
    big = "data:application/pdf;base64," + base64.b64encode(b"%PDF-" + b"0" * 800_000).decode()
    assert "passa de 700 KB" in _text(send(big)["ws-feedback"])
    sent = send(png)  # no text: the file alone
    assert "Resposta enviada" in _text(sent["ws-feedback"]) and sent["ws-attach"]["contents"] is None
    with engine.connect() as conn:
        rows = conn.execute(select(messages.c.content_type, messages.c.media_file_name, messages.c.media_url)
                            .where(messages.c.conversation_id == conv)).all()
    assert [(r.content_type, r.media_file_name, r.media_url) for r in rows] == [("image", "print.png", png)]
    history = call(agent, app, "ws-timeline.children", {"ws-selected.data": str(conv)})["ws-timeline"]["children"]
    assert f'"src": "{png}"' in _text(history)  # the agent sees the picture they sent
