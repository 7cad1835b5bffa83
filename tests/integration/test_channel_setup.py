"""Setting WhatsApp channels up as an operator does, end to end: the `niochat` command run as a process, the API
server and the WhatsApp sandbox served for real, the sandbox posting its webhooks to the API.

Evolution's two keys (the server's global key, the instance's token, which its webhooks carry), refusals that
say which key is wrong and store nothing, Uazapi's webhook added beside the ISP's and never twice, Evolution's
webhook by events, and the demo's provisioning going through the global key.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from contextlib import ExitStack

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import select

from api.app import create_app
from api.whatsapp.clients import WEBHOOK_EVENTS_UAZAPI, ChannelAccess, client_for
from api.whatsapp.sandbox_channels import connect_to_sandbox
from niochat import accounts
from niochat.channel_keys import key_hash
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import audit_log, channels, messages
from sandbox.whatsapp import create_app as create_sandbox
from tests.support.basics import TEST_SECRET, unique_slug
from tests.support.servers import free_port, serving

GLOBAL_KEY = "chave-global-do-servidor-evolution"
KEYRING = Keyring(TEST_SECRET)


class Receiver:
    """The ISP's own integration: a webhook endpoint that records what it gets."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/{path:path}")
        async def receive(path: str, request: Request) -> dict:
            with self.lock:
                self.posts.append({"path": "/" + path, "json": await request.json()})
            return {"ok": True}


@pytest.fixture(scope="module")
def servers(tmp_path_factory, database_url, redis_url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("setup"), secret_key=TEST_SECRET, _env_file=None)
    receiver = Receiver()
    with ExitStack() as stack:
        api = stack.enter_context(serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url))))
        sandbox = stack.enter_context(serving(create_sandbox(webhook_retries=0, evolution_api_key=GLOBAL_KEY)))
        isp = stack.enter_context(serving(receiver.app))
        env = {
            **os.environ,
            "NIOCHAT_DATABASE_URL": database_url,
            "NIOCHAT_REDIS_URL": redis_url,
            "NIOCHAT_SECRET_KEY": TEST_SECRET,
            "NIOCHAT_DATA_DIR": str(tmp_path_factory.mktemp("cli")),
            "NIOCHAT_PUBLIC_URL": api,
            "COLUMNS": "400",  # the operator's messages on one line each
        }
        yield {"api": api, "sandbox": sandbox, "isp": isp, "receiver": receiver, "env": env,
               "new_api": lambda: serving(create_app(settings, ServiceUrls(database_url, database_url, redis_url)))}


@pytest.fixture
def tenant(engine) -> str:
    slug = unique_slug("setup")
    with engine.begin() as conn:
        accounts.create_tenant(conn, slug, "Fibra Setup")
    return slug


def niochat(servers, *args: str, token: str | None = None) -> tuple[int, str, str]:
    """The `niochat` command as an operator runs it: (exit code, stdout, stderr on one line)."""
    env = {**servers["env"], **({"NIOCHAT_CHANNEL_TOKEN": token} if token else {})}
    done = subprocess.run([sys.executable, "-m", "niochat", *args], env=env, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, " ".join(done.stderr.split())


def sandbox_instance(servers, provider: str, name: str, token: str, **extra) -> None:
    response = httpx.post(f"{servers['sandbox']}/sandbox/instances",
                          json={"provider": provider, "instance": name, "token": token, **extra})
    response.raise_for_status()


def customer_writes(servers, instance: str, text: str = "quero a segunda via") -> dict:
    response = httpx.post(f"{servers['sandbox']}/sandbox/inbound", timeout=30,
                          json={"instance": instance, "from": "5511912340077", "name": "Cliente", "text": text})
    response.raise_for_status()
    return response.json()


def channel_row(engine, slug: str, instance: str):
    with engine.connect() as conn:
        return conn.execute(select(channels).where(channels.c.instance == instance)).one_or_none()


def stored(engine, message_id: str):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.provider_message_id == message_id)).one_or_none()


def summary(servers, instance: str) -> dict:
    listed = httpx.get(f"{servers['sandbox']}/sandbox/instances").json()
    return next(item for item in listed if item["instance"] == instance)


def test_evolution_set_up_with_the_global_key_gets_its_webhooks_and_sends(servers, tenant, engine):
    instance = f"{tenant}-evo"
    sandbox_instance(servers, "evolution", instance, f"tok-{tenant}")
    code, out, err = niochat(servers, "channel", "create", "--tenant", tenant, "--provider", "evolution",
                             "--base-url", servers["sandbox"], "--instance", instance, token=GLOBAL_KEY)
    assert code == 0, err
    assert "global key" in err and f"instance '{instance}' is connected" in err and "webhook registered" in err
    row = channel_row(engine, tenant, instance)
    url = out.strip()
    assert url.startswith(f"{servers['api']}/webhooks/evolution/")
    assert row.webhook_key_sha256 == key_hash(url.rsplit("/", 1)[1])  # shown once, stored as its hash
    assert KEYRING.decrypt(row.token_encrypted) == GLOBAL_KEY
    assert KEYRING.decrypt(row.webhook_token_encrypted) == f"tok-{tenant}"
    assert row.connection_status == "connected"
    assert summary(servers, instance)["webhook_url"] == out.strip()

    answer = customer_writes(servers, instance)  # Evolution's webhook carries the instance's token
    assert answer["delivered"] is True and answer["webhook_status"] == 200, answer
    assert answer["payload"]["apikey"] == f"tok-{tenant}"
    assert stored(engine, answer["id"]).channel_id == row.id

    async def send() -> str:  # and NioChat's sends go out with the global key it keeps
        async with httpx.AsyncClient() as http:
            access = ChannelAccess("evolution", row.base_url, instance, KEYRING.decrypt(row.token_encrypted))
            return await client_for(http, access).send_text("5511912340077", "Segue a sua fatura.")

    sent_id = asyncio.run(send())
    assert any(m["id"] == sent_id for m in httpx.get(f"{servers['sandbox']}/sandbox/messages").json())


def test_channel_setup_mends_a_channel_stored_with_the_global_key_alone(servers, tenant, engine):
    """How channels were set up until now: the global key as the only token, so every webhook (carrying the
    instance's token) was refused with 401. `niochat channel setup` fetches the instance's token."""
    instance = f"{tenant}-antigo"
    sandbox_instance(servers, "evolution", instance, f"tok-antigo-{tenant}")
    with engine.begin() as conn:
        created = accounts.create_channel(conn, KEYRING, servers["api"], tenant, "evolution", "antigo",
                                       servers["sandbox"], instance, GLOBAL_KEY)
    with servers["new_api"]() as old_api:  # an API process that met the channel as it was (it remembers 30 s)

        async def register() -> None:
            async with httpx.AsyncClient() as http:
                access = ChannelAccess("evolution", servers["sandbox"], instance, GLOBAL_KEY)
                await client_for(http, access).register_webhook(created.webhook_url.replace(servers["api"], old_api))

        asyncio.run(register())
        assert customer_writes(servers, instance)["webhook_status"] == 401

    code, out, err = niochat(servers, "channel", "setup", "--tenant", tenant, "--instance", instance)
    assert code == 0, err
    assert "global key" in err and "webhook registered" in err
    # registered again under a new key (the old one is stored only as a hash), in place of the old URL
    url = out.strip()
    assert url.startswith(f"{servers['api']}/webhooks/evolution/") and url != created.webhook_url
    assert KEYRING.decrypt(channel_row(engine, tenant, instance).webhook_token_encrypted) == f"tok-antigo-{tenant}"
    assert summary(servers, instance)["webhook_url"] == url
    answer = customer_writes(servers, instance)
    assert answer["webhook_status"] == 200 and stored(engine, answer["id"]) is not None


@pytest.mark.parametrize(("provider", "instance", "key", "words"), [
    ("evolution", "loja", "chave-errada",
     ["refused the apikey for instance 'loja'", "neither the server's global key (AUTHENTICATION_API_KEY",
      "nor the token of instance 'loja'", "run the command again", "Nothing was changed."]),
    ("evolution", "loja", "tok-filial", ["refused the apikey for instance 'loja'"]),  # another instance's token
    ("evolution", "Loja", GLOBAL_KEY, ["has no instance named 'Loja'", "case-sensitive"]),
    ("uazapi", "zap", "admin-token", ["Uazapi", "refused the token", "instance's own token", "not the admin token"]),
    ("evolution", "loja", GLOBAL_KEY, ["cannot reach", "check the base URL"]),  # nothing listens there
    ("evolution", "loja", GLOBAL_KEY, ["has no Evolution API routes", "not its manager page"]),  # /manager
])
def test_the_command_refuses_a_key_or_instance_the_provider_refuses_and_stores_nothing(
        servers, tenant, engine, provider, instance, key, words):
    sandbox_instance(servers, "evolution", f"{tenant}-loja", f"tok-loja-{tenant}")
    sandbox_instance(servers, "evolution", f"{tenant}-filial", f"tok-filial-{tenant}")
    sandbox_instance(servers, "uazapi", f"{tenant}-zap", f"tok-zap-{tenant}")
    base_url = {"cannot reach": f"http://127.0.0.1:{free_port()}",
                "has no Evolution API routes": f"{servers['sandbox']}/manager"}.get(words[0], servers["sandbox"])
    key = f"{key}-{tenant}" if key == "tok-filial" else key
    code, out, err = niochat(servers, "channel", "create", "--tenant", tenant, "--provider", provider,
                             "--base-url", base_url, "--instance", f"{tenant}-{instance}", token=key)
    assert code == 1 and out == "", err
    words = [word.replace("'loja'", f"'{tenant}-loja'").replace("'Loja'", f"'{tenant}-Loja'") for word in words]
    assert "error: " in err and all(word in err for word in words), err
    assert key not in err and "Traceback" not in err
    assert channel_row(engine, tenant, f"{tenant}-{instance}") is None
    for name in ("loja", "filial", "zap"):
        assert summary(servers, f"{tenant}-{name}")["webhooks"] == []


def test_uazapi_setup_adds_our_webhook_beside_the_isps_and_never_twice(servers, tenant, engine):
    instance, token = f"{tenant}-zap", f"tok-zap-{tenant}"
    sandbox_instance(servers, "uazapi", instance, token)
    isp_url = f"{servers['isp']}/crm/{tenant}"
    isp = httpx.post(f"{servers['sandbox']}/webhook", headers={"token": token},  # the ISP's own, simple mode
                     json={"url": isp_url, "events": ["messages"], "excludeMessages": ["wasSentByApi"]}).json()

    code, out, err = niochat(servers, "channel", "create", "--tenant", tenant, "--provider", "uazapi",
                             "--base-url", servers["sandbox"], "--instance", instance, token=token)
    assert code == 0, err
    ours_url, ours_id = out.strip(), None
    for again in range(3):  # setting the channel up again updates ours (under a new key), adds nothing
        hooks = httpx.get(f"{servers['sandbox']}/webhook", headers={"token": token}).json()
        assert [hook["url"] for hook in hooks] == [isp_url, ours_url], again
        assert hooks[0] == isp[0]  # the ISP's untouched: same id, events, filters
        assert hooks[1]["events"] == WEBHOOK_EVENTS_UAZAPI and hooks[1]["addUrlEvents"] is False
        assert hooks[1]["excludeMessages"] == [] and hooks[1]["AddUrlTypesMessages"] is False
        ours_id = ours_id or hooks[1]["id"]
        assert hooks[1]["id"] == ours_id
        if again == 2:
            break
        code, out, err = niochat(servers, "channel", "setup", "--tenant", tenant, "--instance", instance)
        assert code == 0 and "webhook registered" in err, err
        assert out.strip() != ours_url
        ours_url = out.strip()

    answer = customer_writes(servers, instance)  # posted to both, each took it
    assert answer["delivered"] is True
    assert [(d["url"], d["webhook_status"]) for d in answer["deliveries"]] == [(isp_url, 200), (ours_url, 200)]
    assert [p["json"]["message"]["messageid"] for p in servers["receiver"].posts
            if p["path"] == f"/crm/{tenant}"] == [answer["id"]]
    assert stored(engine, answer["id"]).channel_id == channel_row(engine, tenant, instance).id


def test_rotate_key_gives_the_channel_a_new_url_at_the_provider_and_the_old_one_stops(servers, tenant, engine):
    """`niochat channel rotate-key`, as an operator runs it: the new URL registered in place of the old one (the
    ISP's own webhook untouched), printed once, audited; the old URL refused at once, even by an API process that
    met the channel under it. `channel setup --no-register` does not show the URL again, only its hint."""
    instance, token = f"{tenant}-rot", f"tok-rot-{tenant}"
    sandbox_instance(servers, "uazapi", instance, token)
    isp_url = f"{servers['isp']}/crm/{tenant}"
    httpx.post(f"{servers['sandbox']}/webhook", headers={"token": token},
               json={"url": isp_url, "events": ["messages"], "action": "add"}).raise_for_status()
    code, out, err = niochat(servers, "channel", "create", "--tenant", tenant, "--provider", "uazapi",
                             "--base-url", servers["sandbox"], "--instance", instance, token=token)
    assert code == 0, err
    old_url = out.strip()
    warm = customer_writes(servers, instance)  # the API remembers the channel under its old key
    assert [d["webhook_status"] for d in warm["deliveries"]] == [200, 200]

    code, out, err = niochat(servers, "channel", "setup", "--tenant", tenant, "--instance", instance,
                             "--no-register")
    assert code == 0 and out == "" and f"…{old_url[-4:]}" in err and "rotate-key" in err, err

    code, out, err = niochat(servers, "channel", "rotate-key", "--tenant", tenant, "--instance", instance)
    assert code == 0 and "webhook registered" in err and f"…{old_url[-4:]} stopped working" in err, err
    new_url = out.strip()
    assert new_url.startswith(f"{servers['api']}/webhooks/uazapi/") and new_url != old_url
    assert [hook["url"] for hook in summary(servers, instance)["webhooks"]] == [isp_url, new_url]
    answer = customer_writes(servers, instance)
    assert [(d["url"], d["webhook_status"]) for d in answer["deliveries"]] == [(isp_url, 200), (new_url, 200)]
    body = {**answer["payload"], "message": {**answer["payload"]["message"], "messageid": f"OLD-{tenant}"}}
    assert httpx.post(old_url, json=body).status_code == 404
    row = channel_row(engine, tenant, instance)
    assert row.webhook_key_sha256 == key_hash(new_url.rsplit("/", 1)[1])
    with engine.connect() as conn:
        (entry,) = conn.execute(select(audit_log).where(audit_log.c.entity_id == str(row.id),
                                                        audit_log.c.action == "channel.rotate_key")).all()
    assert entry.details["via"] == "cli" and entry.details["new_key_hint"] == new_url[-4:]

    # the provider refuses (the instance's token changed there): nothing changes, the command says so
    sandbox_instance(servers, "uazapi", instance, f"tok-outro-{tenant}")
    code, out, err = niochat(servers, "channel", "rotate-key", "--tenant", tenant, "--instance", instance)
    assert code == 1 and out == "" and "did not take the new webhook URL" in err and "keeps working" in err, err
    assert channel_row(engine, tenant, instance).webhook_key_sha256 == row.webhook_key_sha256


def test_the_demo_sets_evolution_up_with_the_global_key_and_by_events_reaches_the_channel(servers, tenant, engine):
    """niochat.provisioning.connect_to_sandbox, as `niochat demo` runs it at every start: the sandbox forgets its
    instances, so they are created again with the tokens NioChat stored."""
    names = {"uazapi": f"{tenant}-uaz", "evolution": f"{tenant}-evo"}
    with engine.begin() as conn:
        for provider, name in names.items():
            accounts.create_channel(conn, KEYRING, servers["api"], tenant, provider, provider, servers["sandbox"], name,
                                 f"tok-{name}")
        rows = conn.execute(select(channels).where(channels.c.instance.in_(list(names.values())))).all()
    urls = asyncio.run(connect_to_sandbox(servers["sandbox"], servers["api"], KEYRING, rows,
                                          servers["env"]["NIOCHAT_DATABASE_URL"], by_events={names["evolution"]}))
    evo = channel_row(engine, tenant, names["evolution"])
    assert KEYRING.decrypt(evo.token_encrypted) == GLOBAL_KEY
    assert KEYRING.decrypt(evo.webhook_token_encrypted) == f"tok-{names['evolution']}"
    assert summary(servers, names["evolution"])["webhook_by_events"] is True

    answer = customer_writes(servers, names["evolution"])
    assert answer["deliveries"][0]["url"] == next(u for u in urls if "/evolution/" in u) + "/messages-upsert"
    assert answer["webhook_status"] == 200 and stored(engine, answer["id"]) is not None

    async def send() -> None:  # the echo and the receipt of a send go to their own suffixes too
        async with httpx.AsyncClient() as http:
            access = ChannelAccess("evolution", servers["sandbox"], names["evolution"], GLOBAL_KEY)
            await client_for(http, access).send_text("5511912340077", "Olá!")

    asyncio.run(send())
    deliveries = asyncio.run(_settle(servers, names["evolution"], 3))
    assert {(d["url"].rsplit("/", 1)[1], d["status_code"]) for d in deliveries} == {
        ("messages-upsert", 200), ("send-message", 200), ("messages-update", 200)}

    # the next start: instances created again from what was stored, set up again, nothing added twice
    with engine.connect() as conn:
        rows = conn.execute(select(channels).where(channels.c.instance.in_(list(names.values())))).all()
    asyncio.run(connect_to_sandbox(servers["sandbox"], servers["api"], KEYRING, rows,
                                   servers["env"]["NIOCHAT_DATABASE_URL"]))
    assert len(summary(servers, names["uazapi"])["webhooks"]) == 1
    for name in names.values():
        assert customer_writes(servers, name)["webhook_status"] == 200


async def _settle(servers, instance: str, count: int, timeout: float = 10.0) -> list[dict]:
    """The instance's webhook deliveries once `count` of them have their answer."""
    async with httpx.AsyncClient() as http:
        for _ in range(int(timeout * 20)):
            deliveries = (await http.get(f"{servers['sandbox']}/sandbox/deliveries",
                                         params={"instance": instance})).json()
            if len([d for d in deliveries if d["status_code"] is not None]) >= count:
                return deliveries
            await asyncio.sleep(0.05)
    return deliveries
