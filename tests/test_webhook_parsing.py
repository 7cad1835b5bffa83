"""Webhook normalization: every captured Uazapi / Evolution delivery, malformed bodies, and fuzzing.

The fixture cases are discovered from tests/fixtures/{uazapi,evolution}/*.json, so a new capture becomes a
new case by itself and fails until its expected outcome is added to EXPECTED.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from api.webhooks import evolution, uazapi
from api.webhooks.events import (
    CONTENT_TYPES,
    ConnectionUpdate,
    Ignored,
    InboundMessage,
    MalformedPayload,
    ParsedWebhook,
    StatusUpdate,
)
from tests.conftest import fixtures_dir

PROVIDERS = ("uazapi", "evolution")
PARSERS: dict[str, Callable[[object], ParsedWebhook]] = {"uazapi": uazapi.parse, "evolution": evolution.parse}


FIXTURES = fixtures_dir()
FIXTURE_CASES = [
    f"{provider}/{path.name}" for provider in PROVIDERS for path in sorted((FIXTURES / provider).glob("*.json"))
]


def load(case: str) -> Any:
    return json.loads((FIXTURES / case).read_text(encoding="utf-8"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------ expectations

CUSTOMER = "5511912340001"
CUSTOMER_LID = "100000000000001@lid"
OWNER = "5511987650000"  # the instance's own number
OWNER_LID = "100000000000002@lid"
MEDIA = "https://media.example.invalid/redacted"
UAZAPI_TOKEN = "xxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
EVOLUTION_INSTANCE = "provedor-exemplo"


def uaz_connection(state: str, instance: str) -> ParsedWebhook:
    return ParsedWebhook(token=UAZAPI_TOKEN, instance=instance, events=(ConnectionUpdate(state=state),))


def uaz_message(message_id: str, at: str, content_type: str, *, from_me: bool, **fields: Any) -> ParsedWebhook:
    """A 1:1 message with the customer, as the captures have it (customer addressed by LID, phone known)."""
    values: dict[str, Any] = {
        "provider_message_id": message_id,
        "phone": CUSTOMER,
        "lid": CUSTOMER_LID,
        "name": "Cliente Exemplo",
        "content_type": content_type,
        "text": None,
        "media_url": None,
        "media_mime": None,
        "quoted_provider_id": None,
        "timestamp": utc(at),
        "from_me": from_me,
        "sent_by_api": False,
        "is_group": False,
    }
    values.update(fields)
    return ParsedWebhook(token=UAZAPI_TOKEN, instance="eKoB39", events=(InboundMessage(**values),))


def uaz_media(message_id: str, at: str, content_type: str, mime: str, *, from_me: bool, size: int,
              seconds: int | None = None, file_name: str | None = None) -> ParsedWebhook:
    """A media message: the provider's declared size, duration and file name come along (limits, receipts)."""
    return uaz_message(message_id, at, content_type, from_me=from_me, media_url=MEDIA, media_mime=mime,
                       media_size=size, media_seconds=seconds, media_file_name=file_name)


def evo_message(message_id: str, at: str, **fields: Any) -> ParsedWebhook:
    values: dict[str, Any] = {
        "provider_message_id": message_id,
        "phone": CUSTOMER,
        "lid": None,
        "name": "Cliente Exemplo",
        "content_type": "text",
        "text": None,
        "media_url": None,
        "media_mime": None,
        "quoted_provider_id": None,
        "timestamp": utc(at),
        "from_me": False,
        "sent_by_api": None,
        "is_group": False,
    }
    values.update(fields)
    return ParsedWebhook(token=None, instance=EVOLUTION_INSTANCE, events=(InboundMessage(**values),))


OPUS = "audio/ogg; codecs=opus"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EXPECTED: dict[str, ParsedWebhook] = {
    # ---- uazapi: connection events
    "uazapi/connection__connected.event.json": uaz_connection("connected", "intanceTest"),
    "uazapi/connection__connecting.event.json": uaz_connection("connecting", "intanceTest"),
    "uazapi/connection__disconnected.event.json": uaz_connection("disconnected", "eKoB39"),
    # ---- uazapi: sent by the instance's number (fromMe). Phone, LID and name stay the customer's.
    "uazapi/user-chat__from-me__audio.sent.json": uaz_media(
        "ACDF7F9A8B0FDF852F9D34D33076A2F6", "2026-02-03T19:33:46", "audio", OPUS, from_me=True, size=6543, seconds=2
    ),
    "uazapi/user-chat__from-me__contact.sent.json": uaz_message(
        "AC5E604150DFACF61D7521E54593C57A",
        "2026-02-03T19:33:26",
        "contact",
        from_me=True,
        text="ClienteTest\nPhone (Celular): +55 81 8546-4605",
    ),
    "uazapi/user-chat__from-me__emoji.sent.json": uaz_message(
        "ACFB647DAEAC7CF3464AC5ED291189E5", "2026-02-03T19:33:03", "text", from_me=True, text="😞"
    ),
    "uazapi/user-chat__from-me__file.sent.json": uaz_media(
        "ACD8E20443816A2657AD3A4BFB77170B", "2026-02-03T19:32:40", "document", DOCX, from_me=True, size=38599,
        file_name="Roteiro_Eurotrip_2025_Tarde_Noite.docx"
    ),
    "uazapi/user-chat__from-me__gif.sent.json": uaz_media(
        "ACA65CAB770E1E09914A7FC69E29C492", "2026-02-03T19:32:09", "video", "video/mp4", from_me=True,
        size=304428, seconds=5
    ),
    "uazapi/user-chat__from-me__image.sent.json": uaz_media(
        "AC22DB1D8CF7E878769D85980F43C9B3", "2026-02-03T19:31:46", "image", "image/jpeg", from_me=True, size=162894
    ),
    "uazapi/user-chat__from-me__list.vote.me.json": uaz_message(
        "ACC3FD5E7AFA7301CDF1220DFFA49B4C",
        "2026-02-03T19:29:26",
        "text",
        from_me=True,
        text="Smartphones",
        quoted_provider_id="3EB0F375CACD228EC21AC8",
        choice_id="phones",  # the row id: menus match on it, not on the title
    ),
    # despite the file name, this capture's fromMe is false: the customer picked "Fones"
    "uazapi/user-chat__from-me__list.vote.other.json": uaz_message(
        "AC733E28316A85E2435B1A9D4B6C39F7",
        "2026-02-03T19:30:12",
        "text",
        from_me=False,
        text="Fones",
        quoted_provider_id="3EB00EB51811DEDC4195E4",
        choice_id="fones",
    ),
    "uazapi/user-chat__from-me__location.sent.json": uaz_message(
        "ACE79878306A9DE61BA89F57BDB01A58",
        "2026-02-03T19:28:16",
        "location",
        from_me=True,
        text="-7.0342513,-33.8921353",
    ),
    "uazapi/user-chat__from-me__poll.sent.json": uaz_message(
        "ACD77D406C13602A7D0C93F11113240B", "2026-02-03T19:27:18", "other", from_me=True, text="Sei la"
    ),
    "uazapi/user-chat__from-me__poll.vote.me.json": uaz_message(
        "ACB809986C9F67C614F8B4EA09185585",
        "2026-02-03T19:27:37",
        "other",
        from_me=True,
        text="Sol",
        quoted_provider_id="ACD77D406C13602A7D0C93F11113240B",
    ),
    "uazapi/user-chat__from-me__poll.vote.other.json": uaz_message(
        "AC719052895D44A2BE214E619764D7C0",
        "2026-02-04T18:12:06",
        "other",
        from_me=False,
        text="Sol, Lua",
        quoted_provider_id="ACD77D406C13602A7D0C93F11113240B",
    ),
    # despite the file name, the capture is a sticker
    "uazapi/user-chat__from-me__reaction.sent.json": uaz_media(
        "AC25E2456170F8D43437F6BC81ACF3C4", "2026-02-03T19:26:55", "sticker", "image/webp", from_me=True, size=8126
    ),
    # the next two were sent to the owner's own chat ("message yourself"): the other party is the owner
    "uazapi/user-chat__from-me__sticker.sent.json": uaz_message(
        "AC2094B3C89E9AF25B34A5C81C3CE6CB",
        "2026-02-03T19:26:22",
        "sticker",
        from_me=True,
        phone=OWNER,
        lid=OWNER_LID,
        name=None,
        media_url=MEDIA,
        media_mime="image/webp",
        media_size=8126,
    ),
    "uazapi/user-chat__from-me__text.conversation.json": uaz_message(
        "AC412A8CB9DE748E112FCD3BD996519B",
        "2026-02-03T19:25:55",
        "text",
        from_me=True,
        phone=OWNER,
        lid=OWNER_LID,
        name=None,
        text="Oi",
    ),
    "uazapi/user-chat__from-me__text.edited.event.json": uaz_message(
        "ACE594685412FE77B72759A4909D68A7", "2026-02-03T19:25:02", "text", from_me=True, text="Oi2",
        edit_of="ACF3BAA609D967CF59AF1F4A8CE59202"
    ),
    "uazapi/user-chat__from-me__text.sent.event.json": uaz_message(
        "ACF3BAA609D967CF59AF1F4A8CE59202", "2026-02-03T19:24:39", "text", from_me=True, text="Oi"
    ),
    "uazapi/user-chat__from-me__video.send.json": uaz_media(
        "AC539C0763C388B6CE043362E48D30DD", "2026-02-03T19:24:08", "video", "video/mp4", from_me=True,
        size=1183945, seconds=4
    ),
    # ---- uazapi: written by the customer
    "uazapi/user-chat__from-others__audio.sent.json": uaz_media(
        "AC0618B4C57918C5D25431E1AF47B2E7", "2026-02-03T19:23:28", "audio", OPUS, from_me=False, size=4920, seconds=2
    ),
    "uazapi/user-chat__from-others__contact.sent.json": uaz_message(
        "ACE22A6BF48566AFCFF27BFC5B42B85C",
        "2026-02-03T19:23:08",
        "contact",
        from_me=False,
        text="Andrei\nPhone (Celular): +40 746 532 768",
    ),
    "uazapi/user-chat__from-others__emoji.sent.json": uaz_message(
        "ACCF8CA489401C65B43C7C09978CF6CF", "2026-02-03T19:22:40", "text", from_me=False, text="🥺"
    ),
    "uazapi/user-chat__from-others__file.sent.json": uaz_media(
        "AC32D9B3800862E9428A9B580162D209", "2026-02-03T19:22:05", "document", "application/pdf", from_me=False,
        size=5606601,
        file_name="Cata\u0301logo Fittivirtual PDF.pdf"
    ),
    "uazapi/user-chat__from-others__gif.sent.json": uaz_media(
        "AC162487C2F395DAEF2A8062CE239075", "2026-02-03T19:20:56", "video", "video/mp4", from_me=False,
        size=304428, seconds=5
    ),
    "uazapi/user-chat__from-others__image.sent.json": uaz_media(
        "AC3D4FE37D20ED8957FACCDAD9368A4A", "2026-02-03T19:20:26", "image", "image/jpeg", from_me=False, size=162894
    ),
    "uazapi/user-chat__from-others__location.sent.json": uaz_message(
        "ACB8C2F16A8BC25A41D600B47924061A",
        "2026-02-03T19:20:08",
        "location",
        from_me=False,
        text="-8.0342513,-34.8921449",
    ),
    "uazapi/user-chat__from-others__poll.sent.json": uaz_message(
        "AC80C0232690BC1ADD4D087D31ED59B3", "2026-02-03T19:18:12", "other", from_me=False, text="Seibla"
    ),
    # despite the file name, this vote came from the instance (fromMe true)
    "uazapi/user-chat__from-others__poll.vote.me.json": uaz_message(
        "AC9FDF2FE6EBA73FD785154FC81620EF",
        "2026-02-03T19:19:27",
        "other",
        from_me=True,
        text="Lua",
        quoted_provider_id="AC80C0232690BC1ADD4D087D31ED59B3",
    ),
    "uazapi/user-chat__from-others__poll.vote.other.json": uaz_message(
        "AC1A4B00110B41F932AE961FB23E1353",
        "2026-02-03T19:18:46",
        "other",
        from_me=False,
        text="Sol",
        quoted_provider_id="AC80C0232690BC1ADD4D087D31ED59B3",
    ),
    "uazapi/user-chat__from-others__reaction.sent.json": uaz_message(
        "ACA560BBE49219D22145948EA04BADDE",
        "2026-02-03T19:17:23",
        "reaction",
        from_me=False,
        text="❤️",
        quoted_provider_id="AC24A7E68360C7E9A54F64AB85FAECE2",
    ),
    "uazapi/user-chat__from-others__sticker.sent.json": uaz_media(
        "AC7ABC519EB9D1ED9D0DEECFA063B074", "2026-02-03T19:16:58", "sticker", "image/webp", from_me=False, size=278228
    ),
    "uazapi/user-chat__from-others__text.edited.json": uaz_message(
        "ACF9A02835425A416EFC8AEDFCF1DD48", "2026-02-03T19:16:41", "text", from_me=False, text="Oi2",
        edit_of="AC98212CD4909DE6799E78D93A824A3F"
    ),
    "uazapi/user-chat__from-others__text.sent.json": uaz_message(
        "AC98212CD4909DE6799E78D93A824A3F", "2026-02-03T19:16:18", "text", from_me=False, text="Oi"
    ),
    "uazapi/user-chat__from-others__video.sent.json": uaz_media(
        "ACAC14245367A932CD6EF160D898A1C2", "2026-02-03T19:15:30", "video", "video/mp4", from_me=False,
        size=1183945, seconds=4
    ),
    # ---- evolution
    "evolution/connection.update.json": ParsedWebhook(
        token=None, instance=EVOLUTION_INSTANCE, events=(ConnectionUpdate(state="connected"),)
    ),
    "evolution/messages.update.json": ParsedWebhook(
        token=None,
        instance=EVOLUTION_INSTANCE,
        events=(StatusUpdate(provider_message_ids=("3EB0FFEE00112233AABB",), status="read"),),
    ),
    "evolution/messages.upsert.audio.json": evo_message(
        "3EB0AA11BB22CC33DD44",
        "2026-01-30T18:41:00",
        content_type="audio",
        media_url=MEDIA,
        media_mime=OPUS,
        media_seconds=4,  # no fileLength in this capture
    ),
    "evolution/messages.upsert.fromme.json": evo_message(
        "3EB0FFEE00112233AABB",
        "2026-01-30T18:41:10",
        text="Olá! Sou a assistente virtual.",
        from_me=True,
        name=None,  # the pushName is the provider's own profile, not the customer's
    ),
    "evolution/messages.upsert.group.json": evo_message(
        "3EB0123412341234ABCD",
        "2026-01-30T18:41:20",
        text="alguém sabe se a internet caiu no bairro?",
        phone="5511955550002",  # the participant who wrote
        name="Participante",
        is_group=True,
    ),
    "evolution/messages.upsert.lid.json": evo_message(
        "3EB0D7A1B2C3D4E5F601", "2026-01-30T18:40:41", text="529.982.247-25", lid=CUSTOMER_LID
    ),
    "evolution/messages.upsert.text.json": evo_message(
        "3EB0C431C9D1A2F5B7E8", "2026-01-30T18:40:28", text="boa tarde, preciso da segunda via do boleto"
    ),
}


# ------------------------------------------------------------------------------------------ fixture cases


def test_fixture_directories_hold_captures():
    for provider in PROVIDERS:
        assert list((FIXTURES / provider).glob("*.json")), (
            f"no fixtures in {FIXTURES / provider}"
        )


def test_every_expectation_names_an_existing_fixture():
    assert sorted(set(EXPECTED) - set(FIXTURE_CASES)) == []


@pytest.mark.parametrize("case", FIXTURE_CASES)
def test_fixture_parses_to_expected_events(case):
    assert case in EXPECTED, f"{case} has no expected outcome: add it to EXPECTED in {Path(__file__).name}"
    provider = case.split("/", 1)[0]
    assert PARSERS[provider](load(case)) == EXPECTED[case]


@pytest.mark.parametrize("case", FIXTURE_CASES)
def test_fixture_is_rejected_by_the_other_parser(case):
    """A body of one provider never passes for a valid message of the other."""
    provider = case.split("/", 1)[0]
    other = PARSERS["evolution" if provider == "uazapi" else "uazapi"]
    with pytest.raises(MalformedPayload):
        other(load(case))


# ------------------------------------------------------------------------------------------ malformed


def uaz_text() -> dict:
    return load("uazapi/user-chat__from-others__text.sent.json")


def evo_text() -> dict:
    return load("evolution/messages.upsert.text.json")


def with_changes(payload: dict, changes: dict[tuple, Any]) -> dict:
    """Copy `payload` and set (or, with DROP, delete) the values at the given key paths."""
    result = copy.deepcopy(payload)
    for path, value in changes.items():
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        if value is DROP:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return result


DROP = object()

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


def _materialize(body: Any) -> Any:
    return body() if callable(body) else body


@pytest.mark.parametrize(("body", "match"), UAZAPI_MALFORMED.values(), ids=UAZAPI_MALFORMED.keys())
def test_uazapi_rejects_malformed(body, match):
    with pytest.raises(MalformedPayload, match=match):
        uazapi.parse(_materialize(body))


@pytest.mark.parametrize(("body", "match"), EVOLUTION_MALFORMED.values(), ids=EVOLUTION_MALFORMED.keys())
def test_evolution_rejects_malformed(body, match):
    with pytest.raises(MalformedPayload, match=match):
        evolution.parse(_materialize(body))


# ------------------------------------------------------------------------------------------ uazapi variants


def only_event(result: ParsedWebhook):
    assert len(result.events) == 1
    return result.events[0]


def receipt(state: str, ids: list[str], **extra: Any) -> dict:
    """messages_update as uazapiGO v2 delivers a receipt (see the shape documented in api/webhooks/uazapi.py)."""
    return {
        "BaseUrl": "https://xxxx.uazapi.com",
        "EventType": "messages_update",
        "type": "ReadReceipt",
        "state": state,
        "token": UAZAPI_TOKEN,
        "owner": OWNER,
        "instanceName": "eKoB39",
        "event": {
            "MessageIDs": ids,
            "Chat": f"{CUSTOMER}@s.whatsapp.net",
            "Sender": CUSTOMER_LID,
            "IsFromMe": "False",
            "IsGroup": "False",
            "Timestamp": "1770146300",
            "Type": state,
        },
        **extra,
    }


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


# ------------------------------------------------------------------------------------------ evolution variants


def evo_with_message(message: dict, **data: Any) -> dict:
    payload = evo_text()
    payload["data"]["message"] = message
    payload["data"].update(data)
    return payload


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4920, 4920), ("4920", 4920), (" 12 ", 12), ({"low": 4920, "high": 0, "unsigned": True}, 4920),
     ({"low": -1, "high": 0}, 2**32 - 1), ({"low": 0, "high": 1}, 2**32), (7.0, 7),
     (-1, None), (1.5, None), (True, None), ("12a", None), ("", None), (None, None), ([3], None),
     ({"low": "1", "high": 0}, None), (float("nan"), None), ("١٢", None)],
)
def test_media_sizes_and_lengths_are_read_leniently(value, expected):
    """Sizes and durations only feed limits: a strange value is None, never a rejected webhook."""
    from api.webhooks.fields import count

    assert count(value) == expected


def _owner_number_cases() -> list[str]:
    """Captures of messages sent by the instance's own number (whatever their file names say)."""
    found = []
    for case in FIXTURE_CASES:
        events = PARSERS[case.split("/")[0]](load(case)).events
        if any(isinstance(event, InboundMessage) and event.from_me for event in events):
            found.append(case)
    return found


@pytest.mark.parametrize("case", _owner_number_cases())
def test_messages_typed_on_the_phone_are_told_apart_from_our_sends(case):
    """The captures of the owner's number were typed on the phone: Uazapi says wasSentByApi false, and neither
    carries our track_id, so they read as a person's reply; an API send with our track_id never does."""
    from api.webhooks.attendant import typed_on_phone

    event = only_event(PARSERS[case.split("/")[0]](load(case)))
    assert typed_on_phone(event) and event.sent_by_api in (False, None)
    assert not typed_on_phone(dataclasses.replace(event, sent_by_api=True))
    assert not typed_on_phone(dataclasses.replace(event, track_id="5d0b1c6e-6a43-4d44-9a4e-0b6c8f1f2a11"))


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


# ------------------------------------------------------------------------------------------ fuzzing

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            "abc",
            "1770146178000",
            "100000000000001@lid",
            "5511912340001@s.whatsapp.net",
            "120363025246125888@g.us",
            "status@broadcast",
            "messages",
            "messages_update",
            "connection",
            "messages.upsert",
            "MESSAGES_UPDATE",
            "READ",
            "Read",
            "open",
            "ReadReceipt",
            10**30,
            -1,
        ]
    )
)
KEYS = st.sampled_from(
    [
        "EventType",
        "event",
        "data",
        "message",
        "chat",
        "instance",
        "token",
        "apikey",
        "instanceName",
        "key",
        "id",
        "messageid",
        "keyId",
        "remoteJid",
        "remoteJidAlt",
        "chatid",
        "sender_pn",
        "fromMe",
        "messageTimestamp",
        "status",
        "state",
        "MessageIDs",
        "type",
        "content",
        "messageType",
        "conversation",
        "editedMessage",
        "protocolMessage",
        "participant",
        "isGroup",
    ]
) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=25,
)


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path below `node` (dict keys and list indexes)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_fixtures(draw) -> tuple[str, Any]:
    case = draw(st.sampled_from(FIXTURE_CASES))
    payload = load(case)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return case.split("/", 1)[0], payload


def assert_parses_or_rejects(parser: Callable[[object], ParsedWebhook], payload: object) -> None:
    """The contract under fuzzing: a well-formed ParsedWebhook, or MalformedPayload with a message."""
    try:
        result = parser(payload)
    except MalformedPayload as exc:
        assert str(exc)
        return
    assert isinstance(result, ParsedWebhook)
    assert result.token is None or isinstance(result.token, str)
    assert result.instance is None or isinstance(result.instance, str)
    assert isinstance(result.events, tuple)
    for event in result.events:
        if isinstance(event, InboundMessage):
            assert isinstance(event.provider_message_id, str) and event.provider_message_id
            assert event.phone or event.lid
            assert event.phone is None or set(event.phone) <= set("0123456789")
            assert event.lid is None or event.lid.endswith("@lid")
            assert event.content_type in CONTENT_TYPES
            assert event.timestamp.utcoffset() is not None and event.timestamp.utcoffset().total_seconds() == 0
            assert isinstance(event.from_me, bool) and isinstance(event.is_group, bool)
            assert event.edit_of is None or (isinstance(event.edit_of, str) and event.edit_of)
            assert event.sent_by_api is None or isinstance(event.sent_by_api, bool)
            for text in (event.name, event.text, event.media_url, event.media_mime, event.quoted_provider_id):
                assert text is None or isinstance(text, str)
        elif isinstance(event, StatusUpdate):
            assert event.provider_message_ids and all(isinstance(i, str) and i for i in event.provider_message_ids)
            assert event.status in ("sent", "delivered", "read", "failed")
        elif isinstance(event, ConnectionUpdate):
            assert event.state in ("connected", "connecting", "disconnected")
        else:
            assert isinstance(event, Ignored) and isinstance(event.reason, str)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(payload=JSON_VALUES)
def test_fuzz_random_json(payload):
    for parser in PARSERS.values():
        assert_parses_or_rejects(parser, payload)


@FUZZ
@given(
    event_type=st.sampled_from(
        [
            "messages",
            "messages_update",
            "connection",
            "messages.upsert",
            "messages.update",
            "connection.update",
            "MESSAGES_UPSERT",
        ]
    ),
    body=st.dictionaries(KEYS, JSON_VALUES, max_size=8),
)
def test_fuzz_random_bodies_with_known_event_names(event_type, body):
    assert_parses_or_rejects(uazapi.parse, {**body, "EventType": event_type})
    assert_parses_or_rejects(evolution.parse, {**body, "event": event_type})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated=mutated_fixtures())
def test_fuzz_mutated_fixtures(mutated):
    provider, payload = mutated
    for parser in PARSERS.values():  # each provider's parser, also on the other provider's bodies
        assert_parses_or_rejects(parser, payload)


# ------------------------------------------------------------------------------------- bodies past the cap


def test_inline_files_are_dropped_and_the_rest_must_still_fit():
    import io

    from api.webhooks import inline_media

    body = load("evolution/messages.upsert.audio.json")
    body["data"]["message"]["base64"] = "T2dnUw" * 500_000  # a 3 MB voice note riding inline
    payload, dropped = inline_media.parse_without_files(io.BytesIO(json.dumps(body).encode()), 1_000_000)
    assert dropped == 1 and payload["data"]["message"]["base64"] is None
    assert only_event(evolution.parse(payload)).content_type == "audio"

    body["data"]["message"]["base64"] = None
    body["data"]["message"]["conversation"] = "x" * 3_000_000  # not a file: a 3 MB text is refused
    with pytest.raises(inline_media.TooLarge):
        inline_media.parse_without_files(io.BytesIO(json.dumps(body).encode()), 1_000_000)
    with pytest.raises(inline_media.NotJson):
        inline_media.parse_without_files(io.BytesIO(b'{"event": "messages.upsert", "data": [1, 2'), 1_000_000)
