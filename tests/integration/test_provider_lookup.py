"""Asking the provider whether a send went out (api/whatsapp/clients.py find_sent) against the real sandbox:
what delivery relies on to never send a message twice after a kill or a lost answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.whatsapp.clients import ChannelAccess, ProviderError, client_for
from sandbox.whatsapp import create_app
from tests.support.servers import serving

CUSTOMER = "5511912340077"


@pytest.fixture(scope="module")
def sandbox_url():
    with serving(create_app()) as url:
        for provider in ("uazapi", "evolution"):
            httpx.post(f"{url}/sandbox/instances", json={
                "provider": provider, "instance": f"lookup-{provider}", "token": f"tok-{provider}",
            }).raise_for_status()
        yield url


def _run(provider: str, url: str, work):
    async def main():
        async with httpx.AsyncClient() as http:
            access = ChannelAccess(provider, url, f"lookup-{provider}", f"tok-{provider}")
            return await work(client_for(http, access))

    return asyncio.run(main())


def test_uazapi_finds_our_send_by_track_id_and_nothing_else(sandbox_url):
    since = datetime.now(UTC)

    async def work(client):
        sent = await client.send_text(CUSTOMER, "Sua fatura vence amanhã.", track_id="msg-1")
        await client.send_text(CUSTOMER, "Sua fatura vence amanhã.", track_id="msg-2")
        return sent, await client.find_sent(CUSTOMER, "msg-1", "", since), await client.find_sent(
            CUSTOMER, "never-sent", "Sua fatura vence amanhã.", since)

    sent, found, missing = _run("uazapi", sandbox_url, work)
    assert found == [sent]
    assert missing == []  # same text, other track id: not ours


def test_uazapi_track_id_is_echoed_back_on_the_message(sandbox_url):
    async def work(client):
        return await client.send_text(CUSTOMER, "Olá!", track_id="echo-me")

    sent_id = _run("uazapi", sandbox_url, work)
    listed = httpx.get(f"{sandbox_url}/sandbox/messages", params={"number": CUSTOMER}).json()
    listed = listed["messages"] if isinstance(listed, dict) else listed
    assert any(message["id"] == sent_id for message in listed)


def test_evolution_finds_our_send_by_text_newest_first_within_the_time_window(sandbox_url):
    async def work(client):
        first = await client.send_text(CUSTOMER, "Protocolo 123 aberto.")
        second = await client.send_text(CUSTOMER, "Protocolo 123 aberto.")
        now = datetime.now(UTC)
        return (first, second, await client.find_sent(CUSTOMER, "x", "Protocolo 123 aberto.", now),
                await client.find_sent(CUSTOMER, "x", "outro texto", now),
                await client.find_sent(CUSTOMER, "x", "Protocolo 123 aberto.", now + timedelta(minutes=5)))

    first, second, found, other_text, too_late = _run("evolution", sandbox_url, work)
    assert found == [second, first]  # delivery skips the ids it already recorded on other messages
    assert other_text == [] and too_late == []


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_lookup_with_a_wrong_credential_is_a_provider_error(sandbox_url, provider):
    async def main():
        async with httpx.AsyncClient() as http:
            access = ChannelAccess(provider, sandbox_url, f"lookup-{provider}", "wrong")
            return await client_for(http, access).find_sent(CUSTOMER, "t", "x", datetime.now(UTC))

    with pytest.raises(ProviderError) as raised:
        asyncio.run(main())
    assert raised.value.status == 401 and not raised.value.retryable


@pytest.mark.parametrize("provider", ["uazapi", "evolution"])
def test_accept_timeout_fault_sends_the_message_then_answers_504(sandbox_url, provider):
    number = "5511912340088" if provider == "uazapi" else "5511912340089"
    httpx.post(f"{sandbox_url}/sandbox/faults",
               json={"count": 1, "mode": "accept_timeout", "seconds": 0.2}).raise_for_status()

    async def work(client):
        with pytest.raises(ProviderError) as raised:
            await client.send_text(number, "Oi!", track_id="lost-answer")
        return raised.value, await client.find_sent(number, "lost-answer", "Oi!", datetime.now(UTC))

    error, found = _run(provider, sandbox_url, work)
    assert error.status == 504 and error.retryable
    assert len(found) == 1  # it did go out
