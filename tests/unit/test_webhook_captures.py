"""Every captured Uazapi / Evolution delivery parses to its expected events (a new capture in
tests/fixtures/{uazapi,evolution}/ is a new case, failing until EXPECTED names its outcome); what both
parsers share (lenient sizes, the owner's number, bodies past the cap)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from api.webhooks import evolution
from api.webhooks.events import (
    ConnectionUpdate,
    InboundMessage,
    MalformedPayload,
    ParsedWebhook,
    StatusUpdate,
)
from tests.support.webhook_payloads import (
    CUSTOMER_LID,
    DOCX,
    EVOLUTION_INSTANCE,
    FIXTURE_CASES,
    FIXTURES,
    MEDIA,
    OPUS,
    OWNER,
    OWNER_LID,
    PARSERS,
    PROVIDERS,
    evo_message,
    load,
    only_event,
    uaz_connection,
    uaz_media,
    uaz_message,
)

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
