"""The dashboards under test: a warehouse of three tenants built by dbt, the Dash app's settings, logging in,
and every callback's payload for a period."""

from __future__ import annotations

import random
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import insert

from ingest.dbt_command import BUILD_WITHOUT_TESTS, run_dbt
from ingest.sync import sync
from niochat import accounts, migrate
from niochat.database import drop_database, ensure_database, sync_engine
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import (
    contacts,
    conversation_labels,
    conversations,
    csat_requests,
    csat_responses,
    labels,
    messages,
    tool_calls,
)
from tests.support.basics import TEST_SECRET, unique_slug

PASSWORD = "correct-horse-1"
KEYRING = Keyring(TEST_SECRET)
INTENT_CYCLE = ["second_copy", "connection_down", "human", None, "not_understood"]


def intent_of(index: int) -> str | None:
    """The intent the bot read in conversation `index`'s first message (None: answered by no brain)."""
    return INTENT_CYCLE[index % len(INTENT_CYCLE)]


def labels_of(index: int) -> list[str]:
    """The labels agents put on conversation `index` (keys of DashTenant.label_names)."""
    return [key for key, every in (("billing", 4), ("support", 5)) if index % every == 0]


@dataclass
class DashTenant:
    letter: str
    slug: str
    name: str
    tenant_id: uuid.UUID
    manager_email: str
    agent_email: str
    agent_ids: list[uuid.UUID]
    agent_names: list[str]
    conversations: int
    markers: list[str] = field(default_factory=list)  # strings only this tenant's data contains
    label_names: dict[str, str] = field(default_factory=dict)  # labels_of() key -> the label's name


@dataclass
class DashWarehouse:
    urls: ServiceUrls
    tenants: dict[str, DashTenant]


def _tenant_data(engine, letter: str, conversations_count: int, seed: int) -> DashTenant:
    """A São Paulo tenant with conversations over the last 20 days: bot-resolved ones, handoffs to two agents,
    tool calls (some SGP errors), CSAT answers with comments (some the next day, some to a survey whose send was
    not recorded), unanswered surveys, agents answering a day late, labels on some conversations. Every free text
    carries the tenant's letter."""
    rng = random.Random(seed)
    slug = unique_slug(f"dash{letter}")
    name = f"Provedor {'Alfa' if letter == 'a' else 'Bravo'} {slug[-4:]}"
    marker = f"exclusivo-{letter}-{slug[-4:]}"
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, name, "America/Sao_Paulo")
        accounts.create_team(conn, slug, "suporte", "Suporte")
        manager_email = f"gestor@{slug}.test"
        accounts.create_user(conn, slug, manager_email, f"Gestora {letter.upper()}", PASSWORD, "manager")
        agent_email = f"agente@{slug}.test"
        agent_names = [f"Agente {letter.upper()} {slug[-4:]}", f"Outra Agente {letter.upper()} {slug[-4:]}"]
        agents = [accounts.create_user(conn, slug, agent_email, agent_names[0], PASSWORD, "agent"),
                  accounts.create_user(conn, slug, f"agente2@{slug}.test", agent_names[1], PASSWORD, "agent")]
        channel = accounts.create_channel(conn, KEYRING, "http://127.0.0.1:8000", slug, "uazapi", "WhatsApp",
                                       "http://127.0.0.1:8100", slug, "tok-" + slug)
        # one label only this tenant has, one with a name both tenants use
        label_names = {"billing": f"Cobrança {marker}", "support": "Suporte técnico"}
        colors = {"billing": "#b45309", "support": "#0f766e"}
        label_ids = {key: conn.execute(insert(labels).values(tenant_id=tenant_id, name=name, color=colors[key])
                                       .returning(labels.c.id)).scalar_one() for key, name in label_names.items()}
        for index in range(conversations_count):
            created = now - timedelta(days=index % 20, hours=rng.randint(1, 12), minutes=rng.randint(0, 59))
            contact_id = conn.execute(insert(contacts).values(
                tenant_id=tenant_id, phone=f"55119{seed:02d}{index:06d}", name=f"Cliente {index}",
            ).returning(contacts.c.id)).scalar_one()
            handed_off = index % 3 == 0
            closed = index % 7 != 6
            agent = agents[index % 2] if handed_off else None
            bot_reply = created + timedelta(seconds=rng.randint(2, 9))
            values = dict(tenant_id=tenant_id, channel_id=channel.id, contact_id=contact_id, created_at=created,
                          first_bot_reply_at=bot_reply, status="closed" if closed else "bot")
            if handed_off:
                handoff = created + timedelta(minutes=2)
                reply = handoff + timedelta(minutes=rng.randint(1, 15))
                if index % 9 == 3 and index % 20 >= 2:  # the agent answers (and closes) the next day
                    reply += timedelta(days=1)
                values.update(handoff_at=handoff, assignee_id=agent, assigned_at=handoff, first_human_reply_at=reply,
                              handoff_reason=f"motivo-{marker}" if index % 2 else "customer_request",
                              status="closed" if closed else "open")
            if closed:
                closed_at = created + timedelta(minutes=rng.randint(20, 90))
                values.update(closed_at=max(closed_at, values.get("first_human_reply_at", closed_at)),
                              closed_by="agent" if handed_off else "bot")
            conversation_id = conn.execute(insert(conversations).values(**values)
                                           .returning(conversations.c.id)).scalar_one()
            for key in labels_of(index):
                conn.execute(insert(conversation_labels).values(tenant_id=tenant_id, conversation_id=conversation_id,
                                                                label_id=label_ids[key], added_by_user_id=agents[0]))
            rows = [dict(direction="inbound", sender_kind="customer", created_at=created, status="processed",
                         intent=intent_of(index)),
                    dict(direction="outbound", sender_kind="bot", created_at=bot_reply, status="delivered")]
            if handed_off:
                rows.append(dict(direction="outbound", sender_kind="agent", sender_user_id=agent,
                                 created_at=values["first_human_reply_at"], status="delivered"))
            for number, row in enumerate(rows):
                conn.execute(insert(messages).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, channel_id=channel.id, text="...",
                    provider_message_id=f"wamid-{slug}-{index}-{number}", **row))
            tool = [("second_copy", "sent", None), ("open_ticket", "opened", None),
                    ("connection_status", "sgp_unavailable", f"falha-{marker}"),
                    ("trust_unlock", "granted", None)][index % 4]
            conn.execute(insert(tool_calls).values(
                tenant_id=tenant_id, conversation_id=conversation_id, brain="rules", tool=tool[0], outcome=tool[1],
                error=tool[2], latency_ms=rng.randint(50, 900), created_at=created + timedelta(seconds=1)))
            if closed and index % 4 == 1:  # a survey sent and never answered
                conn.execute(insert(csat_requests).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, agent_id=agent,
                    status="expired", scheduled_for=values["closed_at"], sent_at=values["closed_at"]))
            if closed and index % 2 == 0:
                answered = values["closed_at"] + timedelta(minutes=3)
                if index % 6 == 4 and index % 20 >= 2:  # answered the next day (never in the future)
                    answered += timedelta(days=1)
                request_id = conn.execute(insert(csat_requests).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, contact_id=contact_id, agent_id=agent,
                    status="answered", scheduled_for=values["closed_at"],
                    sent_at=None if index % 8 == 2 else values["closed_at"],  # a send the engine did not record
                    answered_at=answered,
                ).returning(csat_requests.c.id)).scalar_one()
                rating = [5, 4, 5, 2, 3, 1][index % 6]
                comment = f"comentario-{marker} nota {rating}"
                if index == 0:  # a customer's comment a spreadsheet would run as a formula
                    comment = f'=HYPERLINK("http://evil.test";"{comment}")'
                conn.execute(insert(csat_responses).values(
                    tenant_id=tenant_id, csat_request_id=request_id, conversation_id=conversation_id, rating=rating,
                    comment=comment, understood_by="number",
                    sentiment="positive" if rating >= 4 else "negative", created_at=answered))
    return DashTenant(letter, slug, name, tenant_id, manager_email, agent_email, agents, agent_names,
                      conversations_count, [marker, name, str(tenant_id)] + [str(a)[:8] for a in agents] + agent_names,
                      label_names)


@contextmanager
def dash_warehouse(pg_server_url: str, redis_url: str):
    """Operational + warehouse databases of their own, two tenants, marts built by ingest.sync and dbt."""
    op_name, wh_name = f"niochat_dash_op_{uuid.uuid4().hex[:8]}", f"niochat_dash_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    try:
        migrate.upgrade(database_url)
        tenants = {"a": _tenant_data(engine, "a", 24, 11), "b": _tenant_data(engine, "b", 41, 22)}
        sync(database_url, warehouse_url)
        built = run_dbt(warehouse_url, *BUILD_WITHOUT_TESTS)
        assert built.returncode == 0, built.stdout[-4000:]
        yield DashWarehouse(ServiceUrls(database_url, warehouse_url, redis_url), tenants)
    finally:
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


NO_API = "http://127.0.0.1:9"  # nothing listens there: these tests run the dashboards without the API


def dash_settings(tmp_path, api_url: str = NO_API) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=TEST_SECRET, _env_file=None, workspace_api_url=api_url)


def set_live_counters(redis_url: str, tenant: DashTenant, base: int) -> None:
    client = redis.Redis.from_url(redis_url)
    client.hset(f"niochat:live:{tenant.tenant_id}",
                mapping={"bot": base + 1, "waiting": base + 2, "open": base + 3, "assigned": base + 3,
                         "refreshed_at": int(time.time())})
    minute = int(time.time() // 60)
    for offset in range(10):
        client.set(f"niochat:live:{tenant.tenant_id}:inbound:{minute - offset}", base + offset)
        client.set(f"niochat:live:{tenant.tenant_id}:outbound:{minute - offset}", base + 2 * offset)
    client.close()


def form_token(page: str) -> str:
    """The login form's anti-forgery token."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, email: str, password: str = PASSWORD):
    token = form_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


# --- the callback map, enumerated ---------------------------------------------------------------------------


def _input_value(item: dict, period: dict):
    prop = item["property"]
    if item["id"] == "periodo" and prop == "data":
        return period
    return {"start_date": period["start"], "end_date": period["end"], "n_clicks": 1, "n_intervals": 1,
            "pathname": "/", "search": "", "href": "http://localhost/", "hash": ""}.get(prop)


def _split_outputs(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in parts]


def callback_payloads(app, period: dict) -> list[tuple[str, dict]]:
    """One request body per callback in the app's callback map, with plausible values for each input."""
    payloads = []
    for output, spec in app.callback_map.items():
        if "callback" not in spec:  # clientside: runs in the browser, nothing on the server to ask
            continue
        outputs = _split_outputs(output)
        inputs = [{**item, "value": _input_value(item, period)} for item in spec["inputs"]]
        state = [{**item, "value": _input_value(item, period)} for item in spec.get("state", [])]
        payloads.append((output, {
            "output": output, "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": inputs, "state": state, "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        }))
    return payloads


def wide_period() -> dict:
    today = datetime.now(UTC).date()
    return {"start": (today - timedelta(days=40)).isoformat(), "end": (today + timedelta(days=1)).isoformat()}

