"""Evolution's webhook bodies: malformed ones refused with a reason, event spellings, statuses, media, edits,
LIDs, timestamps."""

from __future__ import annotations

import pytest

from api.webhooks import evolution
from api.webhooks.events import (
    ConnectionUpdate,
    Ignored,
    InboundMessage,
    MalformedPayload,
    ParsedWebhook,
    StatusUpdate,
)
from tests.support.webhook_payloads import (
    CUSTOMER,
    CUSTOMER_LID,
    DROP,
    EVOLUTION_INSTANCE,
    MEDIA,
    OPUS,
    _materialize,
    evo_text,
    evo_with_message,
    load,
    only_event,
    utc,
    with_changes,
)

EVOLUTION_MALFORMED = {
    "array": (lambda: [evo_text()], "JSON object"),
    "string": ("messages.upsert", "JSON object"),
    "null": (None, "JSON object"),
    "no event": (lambda: with_changes(evo_text(), {("event",): DROP}), "'event'"),
    "event not a string": (lambda: with_changes(evo_text(), {("event",): ["messages.upsert"]}), "'event'"),
    "no data": (lambda: with_changes(evo_text(), {("data",): DROP}), "'data'"),
    "data is a string": (lambda: with_changes(evo_text(), {("data",): "hello"}), "'data'"),
    "data list with a string": (lambda: with_changes(evo_text(), {("data",): ["hello"]}), r"data\[0\]"),
    "key missing": (lambda: with_changes(evo_text(), {("data", "key"): DROP}), r"data\.key"),
    "message without id": (lambda: with_changes(evo_text(), {("data", "key", "id"): DROP}), r"data\.key\.id"),
    "id not a string": (lambda: with_changes(evo_text(), {("data", "key", "id"): 5}), r"data\.key\.id"),
    "remoteJid missing": (lambda: with_changes(evo_text(), {("data", "key", "remoteJid"): DROP}), "remoteJid"),
    "message is a string": (lambda: with_changes(evo_text(), {("data", "message"): "oi"}), r"data\.message"),
    "timestamp abc": (lambda: with_changes(evo_text(), {("data", "messageTimestamp"): "abc"}), "messageTimestamp"),
    "timestamp missing": (lambda: with_changes(evo_text(), {("data", "messageTimestamp"): DROP}), "messageTimestamp"),
    "timestamp NaN": (lambda: with_changes(evo_text(), {("data", "messageTimestamp"): float("nan")}), "finite"),
    "timestamp in the year 3 million": (
        lambda: with_changes(evo_text(), {("data", "messageTimestamp"): 10**14}),
        "out of range",
    ),
    "apikey not a string": (lambda: with_changes(evo_text(), {("apikey",): 12345}), "apikey"),
    "remoteJid neither phone nor LID": (
        lambda: with_changes(load("evolution/messages.upsert.lid.json"),
                             {("data", "key", "remoteJid"): "someone@bot", ("data", "key", "remoteJidAlt"): DROP}),
        "who wrote",
    ),
    "update without keyId": (
        lambda: with_changes(load("evolution/messages.update.json"), {("data", "keyId"): DROP}),
        "keyId",
    ),
    "update status not a string": (
        lambda: with_changes(load("evolution/messages.update.json"), {("data", "status"): ["READ"]}),
        "status",
    ),
    "connection without state": (
        lambda: with_changes(load("evolution/connection.update.json"), {("data", "state"): DROP}),
        "state",
    ),
}


@pytest.mark.parametrize(("body", "match"), EVOLUTION_MALFORMED.values(), ids=EVOLUTION_MALFORMED.keys())
def test_evolution_rejects_malformed(body, match):
    with pytest.raises(MalformedPayload, match=match):
        evolution.parse(_materialize(body))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("MESSAGES_UPSERT", InboundMessage),
        ("messages.upsert", InboundMessage),
        ("MESSAGES_UPDATE", StatusUpdate),
        ("CONNECTION_UPDATE", ConnectionUpdate),
    ],
)
def test_evolution_accepts_both_event_spellings(name, kind):
    source = {InboundMessage: "messages.upsert.text", StatusUpdate: "messages.update"}.get(kind, "connection.update")
    payload = with_changes(load(f"evolution/{source}.json"), {("event",): name})
    assert isinstance(only_event(evolution.parse(payload)), kind)


def test_evolution_unknown_event_is_ignored():
    payload = {"event": "presence.update", "instance": EVOLUTION_INSTANCE, "data": {}, "apikey": "k"}
    assert evolution.parse(payload) == ParsedWebhook(
        "k", EVOLUTION_INSTANCE, (Ignored("unsupported_event:presence.update"),)
    )


def test_evolution_data_list_yields_one_event_per_item():
    first = evo_text()["data"]
    second = load("evolution/messages.upsert.lid.json")["data"]
    payload = with_changes(evo_text(), {("data",): [first, second]})
    events = evolution.parse(payload).events
    assert [e.provider_message_id for e in events] == ["3EB0C431C9D1A2F5B7E8", "3EB0D7A1B2C3D4E5F601"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("DELIVERY_ACK", "delivered"),
        ("READ", "read"),
        ("SERVER_ACK", "sent"),
        ("PLAYED", "read"),
        ("ERROR", "failed"),
        (3, "delivered"),
        (4, "read"),
    ],
)
def test_evolution_status_mapping(status, expected):
    payload = with_changes(load("evolution/messages.update.json"), {("data", "status"): status})
    event = only_event(evolution.parse(payload))
    assert event == StatusUpdate(provider_message_ids=("3EB0FFEE00112233AABB",), status=expected)


@pytest.mark.parametrize("status", ["PENDING", "DELETED"])
def test_evolution_non_delivery_statuses_are_ignored(status):
    payload = with_changes(load("evolution/messages.update.json"), {("data", "status"): status})
    assert only_event(evolution.parse(payload)) == Ignored(f"unsupported_status:{status}")


def test_evolution_status_of_a_received_message_is_ignored():
    payload = with_changes(load("evolution/messages.update.json"), {("data", "fromMe"): False})
    assert only_event(evolution.parse(payload)) == Ignored("status_of_received_message")


def test_evolution_status_update_list():
    update = load("evolution/messages.update.json")["data"]
    delivered = dict(update, keyId="3EB0000000000000AAAA", status="DELIVERY_ACK")
    payload = with_changes(load("evolution/messages.update.json"), {("data",): [update, delivered]})
    assert evolution.parse(payload).events == (
        StatusUpdate(("3EB0FFEE00112233AABB",), "read"),
        StatusUpdate(("3EB0000000000000AAAA",), "delivered"),
    )


@pytest.mark.parametrize(
    ("state", "expected"), [("open", "connected"), ("connecting", "connecting"), ("close", "disconnected")]
)
def test_evolution_connection_states(state, expected):
    payload = with_changes(load("evolution/connection.update.json"), {("data", "state"): state})
    assert only_event(evolution.parse(payload)) == ConnectionUpdate(state=expected)


def test_evolution_apikey_is_the_token():
    payload = with_changes(evo_text(), {("apikey",): "B6D711FCDE4D4FD5936544120E713976"})
    assert evolution.parse(payload).token == "B6D711FCDE4D4FD5936544120E713976"


def test_evolution_extended_text_with_quote():
    event = only_event(
        evolution.parse(
            evo_with_message(
                {"extendedTextMessage": {"text": "e agora?", "contextInfo": {"stanzaId": "3EB0QUOTED"}}},
                messageType="extendedTextMessage",
            )
        )
    )
    assert (event.content_type, event.text, event.quoted_provider_id) == ("text", "e agora?", "3EB0QUOTED")


def test_evolution_image_with_caption():
    image = {"url": MEDIA, "mimetype": "image/jpeg", "caption": "luz vermelha piscando"}
    event = only_event(evolution.parse(evo_with_message({"imageMessage": image}, messageType="imageMessage")))
    assert (event.content_type, event.text, event.media_url, event.media_mime) == (
        "image",
        "luz vermelha piscando",
        MEDIA,
        "image/jpeg",
    )


def test_evolution_s3_media_url_wins():
    message = {"documentMessage": {"url": MEDIA, "mimetype": "application/pdf"}, "mediaUrl": "https://s3.invalid/f.pdf"}
    event = only_event(evolution.parse(evo_with_message(message, messageType="documentMessage")))
    assert (event.content_type, event.media_url) == ("document", "https://s3.invalid/f.pdf")


def test_evolution_document_with_caption_wrapper():
    inner = {"documentMessage": {"url": MEDIA, "mimetype": "application/pdf", "caption": "comprovante"}}
    message = {"documentWithCaptionMessage": {"message": inner}}
    event = only_event(evolution.parse(evo_with_message(message, messageType="documentWithCaptionMessage")))
    assert (event.content_type, event.text, event.media_mime) == ("document", "comprovante", "application/pdf")


def test_evolution_document_name_size_and_caption_for_receipts():
    document = {"url": MEDIA, "mimetype": "application/pdf", "fileName": "Comprovante_PIX.pdf", "caption": "paguei",
                "fileLength": {"low": 48213, "high": 0, "unsigned": True}}
    event = only_event(evolution.parse(evo_with_message({"documentMessage": document}, messageType="documentMessage")))
    assert (event.media_file_name, event.media_size, event.text) == ("Comprovante_PIX.pdf", 48213, "paguei")


def test_evolution_voice_note_length_as_baileys_writes_it():
    audio = {"url": MEDIA, "mimetype": "audio/ogg; codecs=opus", "seconds": 14, "ptt": True, "fileLength": "23810"}
    event = only_event(evolution.parse(evo_with_message({"audioMessage": audio}, messageType="audioMessage")))
    assert (event.content_type, event.media_seconds, event.media_size) == ("audio", 14, 23810)


def test_evolution_ephemeral_wrapper():
    message = {"ephemeralMessage": {"message": {"conversation": "oi"}}}
    event = only_event(evolution.parse(evo_with_message(message, messageType="ephemeralMessage")))
    assert (event.content_type, event.text) == ("text", "oi")


@pytest.mark.parametrize(
    "message",
    [
        {
            "editedMessage": {
                "message": {
                    "protocolMessage": {
                        "key": {"id": "3EB0OLD"},
                        "type": "MESSAGE_EDIT",
                        "editedMessage": {"conversation": "corrigido"},
                    }
                }
            }
        },
        {"protocolMessage": {"key": {"id": "3EB0OLD"}, "type": 14, "editedMessage": {"conversation": "corrigido"}}},
    ],
    ids=["editedMessage", "protocolMessage"],
)
def test_evolution_edits(message):
    event = only_event(evolution.parse(evo_with_message(message, messageType="editedMessage")))
    assert (event.content_type, event.text, event.edit_of) == ("text", "corrigido", "3EB0OLD")


def test_evolution_revoke_is_ignored():
    message = {"protocolMessage": {"key": {"id": "3EB0OLD"}, "type": "REVOKE"}}
    assert only_event(evolution.parse(evo_with_message(message))) == Ignored("unsupported_message:protocolMessage")


def test_evolution_message_without_content_is_ignored():
    assert only_event(evolution.parse(evo_with_message(None))) == Ignored("empty_message")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "content_type", "text"),
    [
        ({"audioMessage": {"url": MEDIA, "mimetype": OPUS, "ptt": False}}, "audio", None),
        ({"videoMessage": {"url": MEDIA, "mimetype": "video/mp4", "gifPlayback": True}}, "video", None),
        ({"stickerMessage": {"url": MEDIA, "mimetype": "image/webp"}}, "sticker", None),
        ({"locationMessage": {"degreesLatitude": -8.05, "degreesLongitude": -34.9}}, "location", "-8.05,-34.9"),
        (
            {"contactMessage": {"displayName": "Ana", "vcard": "BEGIN:VCARD\nEND:VCARD"}},
            "contact",
            "BEGIN:VCARD\nEND:VCARD",
        ),
        ({"reactionMessage": {"key": {"id": "3EB0TARGET"}, "text": "👍"}}, "reaction", "👍"),
        (
            {"listResponseMessage": {"title": "2ª via", "singleSelectReply": {"selectedRowId": "boleto"}}},
            "text",
            "2ª via",
        ),
        ({"buttonsResponseMessage": {"selectedButtonId": "b1", "selectedDisplayText": "Suporte"}}, "text", "Suporte"),
        ({"pollCreationMessageV3": {"name": "Nota?", "options": []}}, "other", "Nota?"),
        ({"somethingNew": {}}, "other", None),
    ],
)
def test_evolution_content_types(message, content_type, text):
    event = only_event(evolution.parse(evo_with_message(message, messageType=next(iter(message)))))
    assert (event.content_type, event.text) == (content_type, text)
    if content_type == "reaction":
        assert event.quoted_provider_id == "3EB0TARGET"


def test_evolution_group_participant_by_lid():
    payload = with_changes(
        load("evolution/messages.upsert.group.json"),
        {
            ("data", "key", "participant"): "100000000000009@lid",
            ("data", "key", "participantAlt"): "5511955550002@s.whatsapp.net",
        },
    )
    event = only_event(evolution.parse(payload))
    assert (event.is_group, event.phone, event.lid) == (True, "5511955550002", "100000000000009@lid")


def test_evolution_pn_addressed_chat_keeps_the_lid_from_remote_jid_alt():
    payload = with_changes(evo_text(), {("data", "key", "remoteJidAlt"): CUSTOMER_LID})
    event = only_event(evolution.parse(payload))
    assert (event.phone, event.lid) == (CUSTOMER, CUSTOMER_LID)


@pytest.mark.parametrize("timestamp", ["1769798428", 1769798428.0, {"low": 1769798428, "high": 0, "unsigned": True}])
def test_evolution_timestamp_forms(timestamp):
    payload = with_changes(evo_text(), {("data", "messageTimestamp"): timestamp})
    assert only_event(evolution.parse(payload)).timestamp == utc("2026-01-30T18:40:28")

