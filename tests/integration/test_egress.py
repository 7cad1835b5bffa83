"""The egress guard (niochat.egress) on the real clients: WhatsApp providers (sends, media links, redirects), the SGP
transport, the model endpoint (openai's client), the save-time checks of the API, and a real worker process.

Nothing leaves loopback. Names are resolved by a resolver the test controls (never DNS), and every connection the
guard lets through is opened by `LoopbackNetwork`: 127.0.0.1 is itself, any other address lands on the *victim*
server (which records every request it gets). So a request the guard wrongly allowed shows up as a hit on the
victim; each refusal asserts the victim saw none. The positive controls show the harness does see a hit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from contextlib import ExitStack

import httpcore
import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from openai import APIConnectionError
from sqlalchemy import select, update

from api.app import create_app
from api.brain.model import ModelBrain
from api.brain.rules import RulesBrain
from api.media.transcribe import transcribe
from api.security import issue_token
from api.sgp.models import SgpError
from api.sgp.tsmx import TsmxSgp
from api.whatsapp.clients import ChannelAccess, MediaTooLarge, ProviderError, UazapiClient, client_for
from api.whatsapp.media import DownloadedMedia
from niochat import accounts
from niochat.egress import EgressPolicy, EgressRefused, category, check_url, guarded_client, parse_allow
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import tenants, tool_calls
from tests.support.basics import ROOT, TEST_SECRET, unique_slug
from tests.support.factories import PASSWORD
from tests.support.servers import serving
from tests.support.stack import configure_sgp, start_stack

PUBLIC = "8.8.8.8"  # a public address the test resolver hands out; LoopbackNetwork never dials it
CHUNK = 64 * 1024


# --- the test's network: a victim that records hits, a hostile provider, a resolver and a loopback-only dialer ---


def _victim_app(hits: list) -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str, request: Request):
        hits.append({"path": "/" + path, "host": request.headers.get("host")})
        return PlainTextResponse("victim data")

    return app


def _hostile_app(state: dict) -> FastAPI:
    """Plays a provider (Uazapi's /message/download and /send/text) that hands back whatever links it is told."""
    app = FastAPI()

    @app.post("/message/download")
    async def download(request: Request):
        if state.get("big_base64"):
            return JSONResponse({"base64Data": "A" * state["big_base64"], "mimetype": "audio/ogg"})
        return JSONResponse({"fileURL": state["file_url"], "mimetype": "audio/ogg"})

    @app.get("/redirect")
    async def redirect(to: str):
        return RedirectResponse(to, status_code=302)

    @app.get("/file")
    async def small_file():
        return PlainTextResponse("OggS-audio")

    @app.get("/big")
    async def big(size: int, announce: bool = True):
        chunks = size // CHUNK
        state["chunks_sent"] = 0

        async def body():
            for _ in range(chunks):
                state["chunks_sent"] += 1
                yield b"x" * CHUNK
                await asyncio.sleep(0)

        headers = {"content-length": str(chunks * CHUNK)} if announce else {}
        return StreamingResponse(body(), headers=headers, media_type="audio/ogg")

    @app.post("/send/text")
    async def send_text():
        return PlainTextResponse("Traceback: INTERNAL-SECRET db=postgres://admin:hunter2@10.0.0.9", status_code=500)

    @app.post("/webhook")
    @app.get("/webhook")
    async def webhook():
        return PlainTextResponse("INTERNAL-SECRET upstream said no", status_code=400)

    return app


class LoopbackNetwork(httpcore.AsyncNetworkBackend):
    """Dials 127.0.0.1 as asked; any other address lands on the victim. Records what it was asked to dial."""

    def __init__(self, victim_port: int):
        self.victim_port = victim_port
        self.inner = httpcore.AnyIOBackend()
        self.dialed: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.dialed.append((host, port))
        if host == "127.0.0.1":
            return await self.inner.connect_tcp(host, port, timeout=timeout)
        return await self.inner.connect_tcp("127.0.0.1", self.victim_port, timeout=timeout)

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


NAMES = {  # what the test resolver answers; anything else does not resolve (no DNS is ever asked)
    "public.test": [PUBLIC],
    "loopback.test": ["127.0.0.1"],
    "loopback6.test": ["::1"],
    "ten.test": ["10.20.30.40"],
    "oneseventwo.test": ["172.16.9.9"],
    "oneninetwo.test": ["192.168.1.20"],
    "cgnat.test": ["100.64.0.7"],
    "metadata.test": ["169.254.169.254"],
    "ula.test": ["fd12:3456::1"],
    "mapped.test": ["::ffff:192.168.0.1"],
    "mixed.test": [PUBLIC, "10.0.0.1"],  # one bad answer refuses the name
}


class Resolver:
    def __init__(self):
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host in NAMES:
            return NAMES[host]
        try:  # numeric forms libc accepts (2130706433, 0x7f.1), parsed locally
            return [socket.inet_ntoa(socket.inet_aton(host))]
        except OSError:
            raise socket.gaierror(socket.EAI_NONAME, "not in the test resolver") from None


@pytest.fixture(scope="module")
def net():
    hits: list = []
    state: dict = {}
    with serving(_victim_app(hits)) as victim_url, serving(_hostile_app(state)) as hostile_url:
        victim_port = int(victim_url.rsplit(":", 1)[1])
        hostile_port = int(hostile_url.rsplit(":", 1)[1])
        yield {"hits": hits, "state": state, "victim_port": victim_port, "hostile": hostile_url,
               "hostile_port": hostile_port}


@pytest.fixture
def guard(net, tmp_path):
    """A fresh guarded client as the worker builds it: only the hostile provider's port is allowed on loopback."""
    net["hits"].clear()
    net["state"].clear()
    network, resolver = LoopbackNetwork(net["victim_port"]), Resolver()
    settings = Settings(data_dir=tmp_path, egress_allow=f"127.0.0.1:{net['hostile_port']}",
                        egress_max_response_bytes=1_000_000, _env_file=None)

    def make(private_ok: bool = False) -> httpx.AsyncClient:
        return guarded_client(settings, private_ok=private_ok, resolver=resolver, network=network)

    return {"make": make, "network": network, "resolver": resolver, "settings": settings}


def _forbidden_targets() -> dict[str, str]:
    """Every kind of address the guard refuses, written as an address and as a name resolving to it."""
    v = "{victim}"
    return {
        "loopback": f"http://127.0.0.1:{v}/x",
        "loopback-127.0.0.2": f"http://127.0.0.2:{v}/x",
        "loopback-decimal": f"http://2130706433:{v}/x",
        "ipv6-loopback": f"http://[::1]:{v}/x",
        "10/8": "http://10.1.2.3/x",
        "172.16/12": "http://172.31.255.1/x",
        "192.168/16": "http://192.168.0.10/x",
        "100.64/10": "http://100.100.100.200/x",
        "metadata": "http://169.254.169.254/latest/meta-data/iam/",
        "metadata-ipv6": "http://[fd00:ec2::254]/latest/meta-data/",
        "link-local": "http://169.254.10.1/x",
        "ipv6-link-local": "http://[fe80::1]/x",
        "fc00::/7": "http://[fc00::5]/x",
        "ipv4-mapped": "http://[::ffff:10.0.0.1]/x",
        "nat64": "http://[64:ff9b::a9fe:a9fe]/x",
        "unspecified": f"http://0.0.0.0:{v}/x",
        "multicast": "http://224.0.0.1/x",
        "name->loopback": f"http://loopback.test:{v}/x",
        "name->ipv6-loopback": f"http://loopback6.test:{v}/x",
        "name->10/8": "http://ten.test/x",
        "name->172.16/12": "http://oneseventwo.test/x",
        "name->192.168/16": "http://oneninetwo.test/x",
        "name->100.64/10": "http://cgnat.test/x",
        "name->metadata": "http://metadata.test/x",
        "name->fc00::/7": "http://ula.test/x",
        "name->ipv4-mapped": "http://mapped.test/x",
        "name->one-bad-answer": "http://mixed.test/x",
    }


FORBIDDEN = _forbidden_targets()


def _url(net, template: str) -> str:
    return template.format(victim=net["victim_port"])


def _assert_nothing_left(net, guard):
    assert net["hits"] == [], f"a refused request reached the victim: {net['hits']}"
    assert all(host == "127.0.0.1" and port == net["hostile_port"] for host, port in guard["network"].dialed), \
        guard["network"].dialed


def _uazapi(http, base_url: str) -> UazapiClient:
    return client_for(http, ChannelAccess("uazapi", base_url, "inst", "tok"))


# --- every outbound client refuses every forbidden destination ------------------------------------------------


@pytest.mark.parametrize("target", FORBIDDEN, ids=list(FORBIDDEN))
async def test_a_media_link_to_a_forbidden_address_is_refused(net, guard, target):
    net["state"]["file_url"] = _url(net, FORBIDDEN[target])
    async with guard["make"]() as http:
        with pytest.raises(ProviderError) as raised:
            await _uazapi(http, net["hostile"]).download_media("msg-1", max_bytes=100_000)
    assert "destination not allowed" in str(raised.value) and not raised.value.retryable
    _assert_nothing_left(net, guard)


@pytest.mark.parametrize("target", FORBIDDEN, ids=list(FORBIDDEN))
async def test_a_media_link_redirecting_to_a_forbidden_address_is_refused(net, guard, target):
    net["state"]["file_url"] = str(httpx.URL(f"{net['hostile']}/redirect", params={"to": _url(net, FORBIDDEN[target])}))
    async with guard["make"]() as http:
        with pytest.raises(ProviderError) as raised:
            await _uazapi(http, net["hostile"]).download_media("msg-1", max_bytes=100_000)
    assert "destination not allowed" in str(raised.value)
    _assert_nothing_left(net, guard)


@pytest.mark.parametrize("target", FORBIDDEN, ids=list(FORBIDDEN))
async def test_a_channel_base_url_to_a_forbidden_address_is_refused(net, guard, target):
    base_url = _url(net, FORBIDDEN[target]).removesuffix("/x")
    async with guard["make"]() as http:
        with pytest.raises(ProviderError) as raised:
            await _uazapi(http, base_url).send_text("5511999990000", "oi")
    assert "destination not allowed" in str(raised.value) and not raised.value.retryable
    _assert_nothing_left(net, guard)


@pytest.mark.parametrize("target", FORBIDDEN, ids=list(FORBIDDEN))
async def test_an_sgp_base_url_to_a_forbidden_address_is_refused_without_retries(net, guard, target):
    base_url = _url(net, FORBIDDEN[target]).removesuffix("/x")
    async with guard["make"]() as http:
        sgp = TsmxSgp(http, base_url, "app", "token", 3, None, unique_slug("egress"))
        with pytest.raises(SgpError) as raised:
            await sgp.find_customer("52998224725")
    assert "não é permitido" in str(raised.value)
    _assert_nothing_left(net, guard)


@pytest.mark.parametrize("target", FORBIDDEN, ids=list(FORBIDDEN))
async def test_a_model_base_url_to_a_forbidden_address_is_refused(net, guard, target):
    base_url = _url(net, FORBIDDEN[target]).removesuffix("/x") + "/v1"
    async with guard["make"]() as http:
        with pytest.raises(APIConnectionError) as raised:
            await transcribe(base_url=base_url, api_key="sk", model="whisper-1", chat_timeout=3, http=http,
                             audio=DownloadedMedia(b"OggS", "audio/ogg"))
    assert isinstance(raised.value.__cause__, EgressRefused)
    _assert_nothing_left(net, guard)


async def test_the_model_brain_falls_back_to_the_rules_when_its_endpoint_is_refused(net, guard):
    async with guard["make"]() as http:
        brain = ModelBrain(base_url="http://169.254.169.254/v1", model="m", api_key="sk", timeout=3, temperature=0,
                           http=http, fallback=RulesBrain())
        with pytest.raises(APIConnectionError):
            await brain.client.chat.completions.create(model="m", messages=[{"role": "user", "content": "oi"}])
    _assert_nothing_left(net, guard)


# --- what is allowed, and that the harness would see a leak ----------------------------------------------------


async def test_a_public_name_is_connected_to_the_address_checked_with_the_name_as_host(net, guard):
    """Positive control: the guard lets a public address through, and the harness sees it land on the victim.
    The socket goes to the address resolved and checked (pinned); the Host header keeps the name."""
    async with guard["make"]() as http:
        response = await http.get(f"http://public.test:{net['victim_port']}/file")
    assert response.text == "victim data"
    assert net["hits"] == [{"path": "/file", "host": f"public.test:{net['victim_port']}"}]
    assert guard["network"].dialed == [(PUBLIC, net["victim_port"])]
    assert guard["resolver"].calls == ["public.test"]  # resolved once, for the check and the connection


async def test_an_allowed_link_downloads_and_a_public_redirect_is_followed(net, guard):
    net["state"]["file_url"] = f"{net['hostile']}/file"
    async with guard["make"]() as http:
        media = await _uazapi(http, net["hostile"]).download_media("msg-1", max_bytes=100_000)
        assert media.data == b"OggS-audio"
        to = f"http://public.test:{net['victim_port']}/after-redirect"
        net["state"]["file_url"] = str(httpx.URL(f"{net['hostile']}/redirect", params={"to": to}))
        media = await _uazapi(http, net["hostile"]).download_media("msg-2", max_bytes=100_000)
    assert media.data == b"victim data" and [hit["path"] for hit in net["hits"]] == ["/after-redirect"]


async def test_an_operator_allowed_private_sgp_is_reached_but_never_loopback_or_metadata(net, guard):
    async with guard["make"](private_ok=True) as http:
        sgp = TsmxSgp(http, "http://10.8.0.20", "app", "token", 3, None, unique_slug("egress"))
        with pytest.raises(SgpError):  # the victim is no SGP: it answers plain text
            await sgp.find_customer("52998224725")
        assert [hit["path"] for hit in net["hits"]] == ["/api/ura/consultacliente/"]
        net["hits"].clear()
        for base_url in (f"http://127.0.0.2:{net['victim_port']}", "http://169.254.169.254", "http://[fe80::1]"):
            sgp = TsmxSgp(http, base_url, "app", "token", 3, None, unique_slug("egress"))
            with pytest.raises(SgpError, match="não é permitido"):
                await sgp.find_customer("52998224725")
    assert net["hits"] == []


def test_address_categories():
    expected = {
        "127.0.0.1": "loopback", "127.9.9.9": "loopback", "::1": "loopback", "10.0.0.1": "private",
        "172.16.0.1": "private", "172.31.255.255": "private", "192.168.1.1": "private", "100.64.0.1": "private",
        "fc00::1": "private", "fd12::1": "private", "169.254.169.254": "metadata", "fd00:ec2::254": "metadata",
        "169.254.1.1": "link-local", "fe80::1": "link-local", "0.0.0.0": "unspecified", "::": "unspecified",
        "224.0.0.1": "multicast", "ff02::1": "multicast", "::ffff:127.0.0.1": "loopback",
        "::ffff:169.254.169.254": "metadata", "64:ff9b::a00:1": "private", "2002:a00:1::": "private",
        "198.18.0.1": "reserved", "240.0.0.1": "reserved", "8.8.8.8": None, "172.32.0.1": None,
        "2606:4700:4700::1111": None,
    }
    assert {address: category(ipaddress.ip_address(address)) for address in expected} == expected


def test_the_allow_list_parses_hosts_networks_and_ports():
    entries = parse_allow("127.0.0.1:8100, 10.1.0.0/16, [::1]:8200, sgp.lan, *.corp.example:8443")
    policy = EgressPolicy(entries)
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 8100) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 8101) == "loopback"
    assert policy.refusal(ipaddress.ip_address("10.1.200.3"), 80) is None
    assert policy.refusal(ipaddress.ip_address("10.2.0.1"), 80) == "private"
    assert policy.refusal(ipaddress.ip_address("::1"), 8200) is None
    assert policy.name_allowed("sgp.lan", 443) and policy.name_allowed("a.corp.example", 8443)
    assert not policy.name_allowed("a.corp.example", 443) and not policy.name_allowed("corp.example.evil", 8443)
    for bad in ("10.0.0.0/8:http", "host name", "127.0.0.1:99999"):
        with pytest.raises(ValueError):
            parse_allow(bad)
    with pytest.raises(ValueError, match="NIOCHAT_EGRESS_ALLOW|egress allow"):
        Settings(egress_allow="http://x/", _env_file=None)


# --- size caps while reading, and upstream bodies never echoed ------------------------------------------------


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
async def test_a_media_link_larger_than_the_cap_is_cut_while_reading(net, guard, announce):
    size = 32 * 1024 * 1024
    net["state"]["file_url"] = f"{net['hostile']}/big?size={size}&announce={str(announce).lower()}"
    async with guard["make"]() as http:
        with pytest.raises(MediaTooLarge, match="larger than 500000 bytes"):
            await _uazapi(http, net["hostile"]).download_media("msg-1", max_bytes=500_000)
    time.sleep(0.2)
    assert net["state"]["chunks_sent"] < size // CHUNK, "the whole body was read before refusing it"


async def test_a_base64_answer_larger_than_the_cap_is_cut_while_reading(net, guard):
    net["state"]["big_base64"] = 3_000_000
    async with guard["make"]() as http:
        with pytest.raises(MediaTooLarge):
            await _uazapi(http, net["hostile"]).download_media("msg-1", max_bytes=500_000)


async def test_any_response_is_capped_by_the_default_limit(net, guard):
    async with guard["make"]() as http:
        with pytest.raises(httpx.TransportError, match="more than 1000000"):
            await http.get(f"{net['hostile']}/big?size={4 * 1024 * 1024}&announce=false")


async def test_a_provider_error_keeps_the_status_and_drops_the_body(net, guard):
    async with guard["make"]() as http:
        with pytest.raises(ProviderError) as raised:
            await _uazapi(http, net["hostile"]).send_text("5511999990000", "oi")
    assert raised.value.status == 500 and "500" in str(raised.value)
    assert "INTERNAL-SECRET" not in str(raised.value) and "hunter2" not in str(raised.value)


# --- URLs are checked when they are saved (the API), and the private SGP is the operator's call --------------


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url, redis_url, engine, net):
    slug = unique_slug("egress")
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, "Egress")
        admin_id = accounts.create_user(conn, slug, f"admin@{slug}.test", "Admin", PASSWORD, "admin")
    settings = Settings(data_dir=tmp_path_factory.mktemp("egress-api"), secret_key=TEST_SECRET,
                        egress_allow=f"127.0.0.1:{net['hostile_port']}", _env_file=None)
    token = issue_token(Keyring(TEST_SECRET), admin_id, tenant_id, 60)
    with serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url))) as url:
        yield {"url": url, "headers": {"Authorization": f"Bearer {token}"}, "slug": slug, "tenant_id": tenant_id}


SAVE_REFUSED = ["http://127.0.0.1:6379", "http://127.0.0.2", "http://localhost:8000", "http://[::1]:5432",
                "http://10.0.0.5", "http://172.16.0.1", "http://192.168.0.1", "http://169.254.169.254",
                "http://[fd00::1]", "http://[::ffff:10.0.0.1]", "http://2130706433", "http://0x7f.1",
                "http://redis:6379", "http://metadata.google.internal", "http://0.0.0.0:8000",
                "http://user:pass@sgp.example.com", "ftp://sgp.example.com", "file:///etc/passwd",
                "gopher://127.0.0.1:6379/_FLUSHALL"]


@pytest.mark.parametrize("url", SAVE_REFUSED)
def test_saving_a_private_or_non_http_url_is_a_clear_422(api, url):
    channel = {"provider": "uazapi", "base_url": url, "instance": "i", "token": "t"}
    created = httpx.post(f"{api['url']}/api/v1/channels", json=channel, headers=api["headers"], timeout=10)
    assert created.status_code == 422, created.text
    for key in ("ai", "sgp"):
        body = {"base_url": url, "model": "m"} if key == "ai" else {"base_url": url, "app": "a", "token": "t"}
        patched = httpx.patch(f"{api['url']}/api/v1/settings", json={key: body}, headers=api["headers"], timeout=10)
        assert patched.status_code == 422, patched.text
        assert "base_url" in patched.text


def test_the_message_says_why(api):
    patched = httpx.patch(f"{api['url']}/api/v1/settings", json={"sgp": {"base_url": "http://10.0.0.5", "app": "a",
                                                                          "token": "t"}}, headers=api["headers"])
    assert patched.json()["detail"] == "sgp.base_url: destination not allowed: 10.0.0.5 is a private network address"


def test_a_private_sgp_needs_the_operators_permission_not_the_admins(api, engine):
    headers, url = api["headers"], f"{api['url']}/api/v1/settings"
    sgp = {"base_url": "http://10.0.0.5:8080", "app": "a", "token": "t"}
    assert httpx.patch(url, json={"sgp": sgp}, headers=headers).status_code == 422
    # the admin cannot grant it: no such setting in the PATCH
    for field in ({"sgp": {**sgp, "private_network": True}}, {"sgp_private_network": True}):
        assert httpx.patch(url, json=field, headers=headers).status_code == 422
    with engine.begin() as conn:
        accounts.set_sgp_private_network(conn, api["slug"], True)  # what `niochat tenant sgp-private-network` does
    try:
        assert httpx.patch(url, json={"sgp": sgp}, headers=headers).status_code == 200
        internal = httpx.patch(url, json={"sgp": {"base_url": "http://sgp.provedor.internal:8080", "token": "t"}},
                               headers=headers)
        assert internal.status_code == 200, internal.text
        for still_refused in ("http://127.0.0.2", "http://169.254.169.254", "http://[fe80::1]", "http://localhost",
                              "http://metadata.google.internal"):
            refused = httpx.patch(url, json={"sgp": {"base_url": still_refused, "token": "t"}}, headers=headers)
            assert refused.status_code == 422, still_refused
        model = httpx.patch(url, json={"ai": {"base_url": "http://10.0.0.5", "model": "m"}}, headers=headers)
        assert model.status_code == 422  # the permission is for the SGP only
    finally:
        with engine.begin() as conn:
            accounts.set_sgp_private_network(conn, api["slug"], False)


def test_the_cli_sets_the_private_sgp_permission(api, engine, database_url, redis_url, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    env = {"NIOCHAT_DATABASE_URL": database_url, "NIOCHAT_REDIS_URL": redis_url, "NIOCHAT_SECRET_KEY": TEST_SECRET,
           "NIOCHAT_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, ["tenant", "sgp-private-network", api["slug"], "--allow"], env=env)
    assert result.exit_code == 0, result.output
    with engine.begin() as conn:
        assert conn.scalar(select(tenants.c.sgp_private_network).where(tenants.c.slug == api["slug"])) is True
    result = CliRunner().invoke(app, ["tenant", "sgp-private-network", api["slug"], "--deny"], env=env)
    assert result.exit_code == 0, result.output
    with engine.begin() as conn:
        assert conn.scalar(select(tenants.c.sgp_private_network).where(tenants.c.slug == api["slug"])) is False


def test_registering_a_webhook_reports_the_status_not_the_providers_body(api, net):
    channel = {"provider": "uazapi", "base_url": net["hostile"], "instance": unique_slug("i"), "token": "t"}
    created = httpx.post(f"{api['url']}/api/v1/channels", json=channel, headers=api["headers"], timeout=20)
    # the setup check asks the provider first: its refusal is reported by status, never by its body
    assert created.status_code == 422, created.text
    assert "answered 400 Bad Request" in created.json()["detail"]
    assert "INTERNAL-SECRET" not in created.text


def test_check_url_accepts_public_and_allowed_urls():
    policy = EgressPolicy(parse_allow("127.0.0.1:8100"))
    for url in ("https://api.openai.com/v1", "https://sgp.fibranet.com.br", "http://127.0.0.1:8100",
                "http://8.8.8.8:8080"):
        assert check_url(url, policy) is None, url


# --- a real worker process refuses too ---------------------------------------------------------------------------


def test_a_worker_never_calls_an_sgp_on_a_forbidden_address(tmp_path, database_url, redis_url, engine, net):
    """The SGP URL was saved before the guard existed (or its name now resolves to loopback): the worker's client
    refuses it, the customer is told the system is unstable, and the address never sees a request."""
    hits: list = []
    with ExitStack() as exits:
        victim = exits.enter_context(serving(_victim_app(hits), host="127.0.0.2"))  # loopback, but not allowed
        stack = start_stack(exits, tmp_path=tmp_path, database_url=database_url, redis_url=redis_url, engine=engine)
        assert stack.env["NIOCHAT_EGRESS_ALLOW"] == "127.0.0.1"
        configure_sgp(engine, stack.tenant_id, victim, "app", "token")
        stack.start_worker()
        phone = "5511955550101"
        stack.customer_writes(phone, "quero a segunda via, meu cpf é 529.982.247-25")
        deadline = time.monotonic() + 60
        while True:
            with engine.begin() as conn:
                calls = conn.execute(select(tool_calls.c.outcome, tool_calls.c.error)
                                     .where(tool_calls.c.tenant_id == stack.tenant_id)).all()
            texts = json.dumps([sent.get("text") for sent in stack.sent_to(phone)], ensure_ascii=False)
            if (calls and "instável" in texts) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ("sgp_error", "o endereço do SGP não é permitido (rede interna)") in [tuple(row) for row in calls], \
            stack.worker_logs()
        assert "instável" in texts
    assert hits == [], "the worker reached the forbidden address"


def test_the_worker_uses_the_private_client_only_for_a_permitted_tenant(engine, database_url, tmp_path):
    """sgp_for picks the private-network client only when the operator set the tenant's permission."""
    from api.brain.select import sgp_for
    from api.engine.deps import WorkerDeps
    from niochat.database import async_engine, tenant_transaction

    slug = unique_slug("egress")
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, "Egress")
    configure_sgp(engine, tenant_id, "http://10.0.0.5", "app", "token")
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None)

    async def chosen() -> httpx.AsyncClient:
        deps = WorkerDeps(settings=settings, engine=async_engine(database_url),
                          redis=None, arq=None, http=guarded_client(settings), keyring=Keyring(TEST_SECRET),
                          http_private_sgp=guarded_client(settings, private_ok=True))
        try:
            async with tenant_transaction(deps.engine, tenant_id) as conn:
                sgp = await sgp_for(conn, deps, tenant_id)
            return "private" if sgp.transport.http is deps.http_private_sgp else "strict"
        finally:
            await deps.http.aclose()
            await deps.http_private_sgp.aclose()
            await deps.engine.dispose()

    assert asyncio.run(chosen()) == "strict"
    with engine.begin() as conn:
        conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(sgp_private_network=True))
    assert asyncio.run(chosen()) == "private"


def test_env_example_and_the_dev_commands_allow_only_the_sandboxes():
    from niochat.provisioning import sandbox_egress

    example = (ROOT / ".env.example").read_text()
    assert "NIOCHAT_EGRESS_ALLOW=" in example
    settings = Settings(egress_allow="", wa_sandbox_port=8100, sgp_sandbox_port=8200, _env_file=None)
    assert sandbox_egress(settings) == "127.0.0.1:8100,127.0.0.1:8200"
    policy = EgressPolicy(parse_allow(sandbox_egress(settings)))
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 8000) == "loopback"  # not the API, not Redis
