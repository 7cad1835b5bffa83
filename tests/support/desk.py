"""The agents' desk: one tenant with an agent per team, a manager and an admin, their tokens, and helpers to
call the REST API as each of them, insert conversations and read rows back."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, insert, select
from websockets.sync.client import connect as ws_connect

from api.security import issue_token
from niochat import accounts
from niochat.secrets import Keyring
from niochat.settings import Settings
from niochat.tables import (
    audit_log,
    contacts,
    conversations,
    team_members,
)
from tests.support.basics import TEST_SECRET
from tests.support.factories import PASSWORD, TenantRows, full_tenant

KEYRING = Keyring(TEST_SECRET)


def api_settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("api"), secret_key=TEST_SECRET, _env_file=None)


@dataclass
class Desk:
    """One tenant with its people and helpers to call the API as each of them."""

    api: httpx.Client
    rows: TenantRows
    channel_id: uuid.UUID
    team_id: uuid.UUID  # suporte: agent is a member
    other_team_id: uuid.UUID  # financeiro: agent2 is a member
    people: dict[str, uuid.UUID] = field(default_factory=dict)  # agent, agent2, manager, admin
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.rows.tenant_id

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, **kwargs) -> httpx.Response:
        return self.api.get(f"/api/v1{path}", headers=self.headers(who), **kwargs)

    def post(self, who: str, path: str, body: dict | None = None) -> httpx.Response:
        return self.api.post(f"/api/v1{path}", headers=self.headers(who), json=body)

    def patch(self, who: str, path: str, body: dict) -> httpx.Response:
        return self.api.patch(f"/api/v1{path}", headers=self.headers(who), json=body)


def token_for(user_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    return issue_token(KEYRING, user_id, tenant_id, 60)


def make_desk(api: httpx.Client, engine) -> Desk:
    """A new tenant with agent (suporte), agent2 (financeiro), a manager and an admin, and their tokens."""
    with engine.begin() as conn:
        rows = full_tenant(conn)
        other_team = accounts.create_team(conn, rows.slug, "financeiro", "Financeiro")
        people = {"agent": rows.ids["users"][0]}
        for who, role in (("agent2", "agent"), ("manager", "manager"), ("admin", "admin")):
            people[who] = accounts.create_user(conn, rows.slug, f"{who}@{rows.slug}.test", who.title(), PASSWORD, role)
        conn.execute(
            insert(team_members).values(tenant_id=rows.tenant_id, team_id=other_team, user_id=people["agent2"])
        )
    desk = Desk(api, rows, rows.ids["channels"][0], rows.ids["teams"][0], other_team, people)
    desk.tokens = {who: token_for(user_id, rows.tenant_id) for who, user_id in people.items()}
    return desk


def add_conversation(engine, desk: Desk, status: str, *, assignee: str | None = None, team: str | None = None,
                  phone: str | None = None, name: str = "Cliente", contact_id: uuid.UUID | None = None,
                  **values) -> uuid.UUID:
    """A conversation (and, unless given, a new contact) inserted as the operator would find it: the customer wrote
    just now (within WhatsApp's 24-hour window) unless `last_inbound_at` says otherwise."""
    with engine.begin() as conn:
        if contact_id is None:
            contact_id = conn.execute(
                insert(contacts).values(tenant_id=desk.tenant_id, phone=phone or f"55119{secrets.randbelow(10**8):08d}",
                                        name=name).returning(contacts.c.id)
            ).scalar_one()
        team_id = {"suporte": desk.team_id, "financeiro": desk.other_team_id, None: None}[team]
        return conn.execute(
            insert(conversations).values(
                tenant_id=desk.tenant_id, channel_id=desk.channel_id, contact_id=contact_id, status=status,
                assignee_id=desk.people[assignee] if assignee else None, team_id=team_id,
                **{"last_inbound_at": func.now(), **values},
            ).returning(conversations.c.id)
        ).scalar_one()


def ids_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    return {item["id"] for item in (body["items"] if isinstance(body, dict) else body)}


def audit_rows(engine, desk: Desk, action: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(audit_log).where(audit_log.c.tenant_id == desk.tenant_id, audit_log.c.action == action)
            .order_by(audit_log.c.created_at)
        ).all()


def row_of(engine, table, row_id):
    with engine.connect() as conn:
        return conn.execute(select(table).where(table.c.id == row_id)).one()


# --- live events ---------------------------------------------------------------------------------------------


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/api/v1/ws"


def open_live(base_url: str, token: str):
    """A live-events socket authenticated the way a browser does it: the token as the subprotocol pair."""
    return ws_connect(_ws_url(base_url), subprotocols=["niochat.bearer", token] if token else None)


def next_event(ws, of_type: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event["type"] == of_type:
            return event

