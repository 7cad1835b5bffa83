"""Fuzzing both parsers with random JSON, random bodies under known event names and mutated captures: a
well-formed result or MalformedPayload with a reason, never anything else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

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
from tests.support.webhook_payloads import FIXTURE_CASES, PARSERS, load

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

