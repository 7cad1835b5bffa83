"""Uazapi's webhook bodies: malformed ones refused with a reason, receipts, LIDs, groups, timestamps."""

from __future__ import annotations

import pytest

from api.webhooks import uazapi
from api.webhooks.events import (
    ConnectionUpdate,
    Ignored,
    MalformedPayload,
    ParsedWebhook,
    StatusUpdate,
)
from tests.support.webhook_payloads import (
    CUSTOMER,
    CUSTOMER_LID,
    DROP,
    OWNER,
    UAZAPI_TOKEN,
    _materialize,
    load,
    only_event,
    receipt,
    uaz_text,
    utc,
    with_changes,
)

UAZAPI_MALFORMED = {
    "array": (lambda: [uaz_text()], "JSON object"),
    "string": ("messages", "JSON object"),
    "null": (None, "JSON object"),
    "number": (42, "JSON object"),
    "no EventType": (lambda: with_changes(uaz_text(), {("EventType",): DROP}), "EventType"),
    "EventType not a string": (lambda: with_changes(uaz_text(), {("EventType",): 7}), "EventType"),
    "message missing": (lambda: with_changes(uaz_text(), {("message",): DROP}), "message"),
    "message is a string": (lambda: with_changes(uaz_text(), {("message",): "Oi"}), "'message' must be an object"),
    "message without id": (
        lambda: with_changes(uaz_text(), {("message", "id"): DROP, ("message", "messageid"): DROP}),
        "message has no id",
    ),
    "message id not a string": (lambda: with_changes(uaz_text(), {("message", "messageid"): 123}), "messageid"),
    "timestamp abc": (lambda: with_changes(uaz_text(), {("message", "messageTimestamp"): "abc"}), "messageTimestamp"),
    "timestamp missing": (
        lambda: with_changes(uaz_text(), {("message", "messageTimestamp"): DROP}),
        "messageTimestamp",
    ),
    "timestamp boolean": (
        lambda: with_changes(uaz_text(), {("message", "messageTimestamp"): True}),
        "messageTimestamp",
    ),
    "timestamp object": (lambda: with_changes(uaz_text(), {("message", "messageTimestamp"): {}}), "messageTimestamp"),
    "timestamp out of range": (
        lambda: with_changes(uaz_text(), {("message", "messageTimestamp"): 10**30}),
        "messageTimestamp",
    ),
    "fromMe not a boolean": (lambda: with_changes(uaz_text(), {("message", "fromMe"): "maybe"}), "fromMe"),
    "token not a string": (lambda: with_changes(uaz_text(), {("token",): 123}), "token"),
    "neither phone nor LID": (
        lambda: with_changes(
            uaz_text(),
            {
                ("message", "chatid"): "someone@bot",
                ("message", "chatlid"): DROP,
                ("message", "sender"): DROP,
                ("message", "sender_pn"): DROP,
                ("message", "sender_lid"): DROP,
                ("chat",): DROP,
            },
        ),
        "who wrote",
    ),
    "connection without status": (
        lambda: with_changes(load("uazapi/connection__connected.event.json"), {("instance",): "x"}),
        "instance.status",
    ),
    "receipt without MessageIDs": (
        {"EventType": "messages_update", "type": "ReadReceipt", "state": "Read", "event": {"MessageIDs": []}},
        "MessageIDs",
    ),
    "receipt ids not strings": (
        {"EventType": "messages_update", "state": "Read", "event": {"MessageIDs": [1, 2]}},
        "MessageIDs",
    ),
    "receipt without state": ({"EventType": "messages_update", "event": {"MessageIDs": ["A"]}}, "state"),
}


@pytest.mark.parametrize(("body", "match"), UAZAPI_MALFORMED.values(), ids=UAZAPI_MALFORMED.keys())
def test_uazapi_rejects_malformed(body, match):
    with pytest.raises(MalformedPayload, match=match):
        uazapi.parse(_materialize(body))


@pytest.mark.parametrize(
    ("state", "status"), [("Delivered", "delivered"), ("Read", "read"), ("Played", "read"), ("Sent", "sent")]
)
def test_uazapi_receipt_becomes_status_update(state, status):
    result = uazapi.parse(receipt(state, ["3EB0AAA1", "3EB0AAA2"]))
    assert result.token == UAZAPI_TOKEN and result.instance == "eKoB39"
    assert result.events == (StatusUpdate(provider_message_ids=("3EB0AAA1", "3EB0AAA2"), status=status),)


def test_uazapi_receipt_strips_owner_prefix_and_duplicates():
    event = only_event(uazapi.parse(receipt("Read", [f"{OWNER}:3EB0AAA1", "3EB0AAA1"])))
    assert event == StatusUpdate(provider_message_ids=("3EB0AAA1",), status="read")


def test_uazapi_receipt_state_falls_back_to_event_type():
    payload = receipt("Delivered", ["3EB0AAA1"])
    del payload["state"]
    assert only_event(uazapi.parse(payload)) == StatusUpdate(provider_message_ids=("3EB0AAA1",), status="delivered")


def test_uazapi_own_device_receipt_is_ignored():
    assert only_event(uazapi.parse(receipt("ReadSelf", ["3EB0AAA1"]))) == Ignored("unsupported_status:ReadSelf")


def test_uazapi_other_update_is_ignored_not_rejected():
    event = only_event(uazapi.parse({"EventType": "messages_update", "type": "Something", "token": "t"}))
    assert event == Ignored("unsupported_update:Something")


def test_uazapi_unknown_event_is_ignored():
    result = uazapi.parse({"EventType": "presence", "token": UAZAPI_TOKEN, "instanceName": "eKoB39"})
    assert result == ParsedWebhook(UAZAPI_TOKEN, "eKoB39", (Ignored("unsupported_event:presence"),))


def test_uazapi_missing_token_is_none():
    assert uazapi.parse(with_changes(uaz_text(), {("token",): DROP})).token is None


def test_uazapi_sent_by_api():
    payload = with_changes(uaz_text(), {("message", "fromMe"): True, ("message", "wasSentByApi"): True})
    event = only_event(uazapi.parse(payload))
    assert (event.from_me, event.sent_by_api, event.phone) == (True, True, CUSTOMER)


def test_uazapi_lid_chat_resolves_phone_from_sender_pn():
    payload = with_changes(
        uaz_text(), {("message", "chatid"): CUSTOMER_LID, ("chat", "wa_chatid"): CUSTOMER_LID, ("chat", "phone"): ""}
    )
    event = only_event(uazapi.parse(payload))
    assert (event.phone, event.lid) == (CUSTOMER, CUSTOMER_LID)


def test_uazapi_plain_conversation_content_is_a_string():
    payload = with_changes(
        uaz_text(), {("message", "messageType"): "Conversation", ("message", "content"): "Oi", ("message", "text"): ""}
    )
    event = only_event(uazapi.parse(payload))
    assert (event.content_type, event.text) == ("text", "Oi")


def test_uazapi_image_caption():
    payload = with_changes(
        load("uazapi/user-chat__from-others__image.sent.json"),
        {("message", "content", "caption"): "meu roteador", ("message", "text"): "meu roteador"},
    )
    event = only_event(uazapi.parse(payload))
    assert (event.content_type, event.text, event.media_mime) == ("image", "meu roteador", "image/jpeg")


def test_uazapi_quote_from_context_info_when_quoted_is_empty():
    payload = with_changes(uaz_text(), {("message", "content", "contextInfo", "stanzaID"): "3EB0F375CACD228EC21AC8"})
    assert only_event(uazapi.parse(payload)).quoted_provider_id == "3EB0F375CACD228EC21AC8"


def test_uazapi_group_message():
    payload = with_changes(
        uaz_text(),
        {
            ("message", "chatid"): "120363025246125888@g.us",
            ("message", "isGroup"): True,
            ("message", "sender_pn"): "5511955550002@s.whatsapp.net",
        },
    )
    event = only_event(uazapi.parse(payload))
    assert (event.is_group, event.phone, event.lid) == (True, "5511955550002", CUSTOMER_LID)


def test_uazapi_status_broadcast_is_ignored():
    payload = with_changes(uaz_text(), {("message", "chatid"): "status@broadcast"})
    assert only_event(uazapi.parse(payload)) == Ignored("unsupported_chat:broadcast")


def test_uazapi_timestamp_as_numeric_string():
    payload = with_changes(uaz_text(), {("message", "messageTimestamp"): "1770146178000"})
    assert only_event(uazapi.parse(payload)).timestamp == utc("2026-02-03T19:16:18")


def test_uazapi_message_id_falls_back_to_owner_prefixed_id():
    payload = with_changes(uaz_text(), {("message", "messageid"): DROP})
    assert only_event(uazapi.parse(payload)).provider_message_id == "AC98212CD4909DE6799E78D93A824A3F"


@pytest.mark.parametrize(
    ("status", "state"), [("connected", "connected"), ("connecting", "connecting"), ("disconnected", "disconnected")]
)
def test_uazapi_connection_states(status, state):
    payload = with_changes(load("uazapi/connection__connected.event.json"), {("instance", "status"): status})
    assert only_event(uazapi.parse(payload)) == ConnectionUpdate(state=state)

