"""The supervisors' page (/supervisao, dash_app/pages/supervision.py) and the workspace's presence selector
(dash_app/workspace/presence.py), through the real Dash app and Flask sessions, talking over HTTP to a real API
on real PostgreSQL and Redis: managers see their tenant's agents' presence and load, admins change a capacity,
agents are refused, and an agent's choice of status reaches the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from niochat.settings import Settings
from niochat.tables import users
from tests.support.basics import TEST_SECRET
from tests.support.dashboard import login
from tests.support.desk import Desk, add_conversation, make_desk
from tests.support.factories import clear_login_limits


@pytest.fixture(scope="module")
def app(api, urls, tmp_path_factory):
    from dash_app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("dash"), secret_key=TEST_SECRET, _env_file=None,
                        workspace_api_url=str(api.base_url).rstrip("/"))
    return create_app(settings, urls)


@pytest.fixture(autouse=True)
def no_login_limits(redis_url):
    clear_login_limits(redis_url)
    yield
    clear_login_limits(redis_url)


def _client(app, desk: Desk, who: str):
    client = app.server.test_client()
    email = f"agent@{desk.rows.slug}.test" if who == "agent" else f"{who}@{desk.rows.slug}.test"
    assert login(client, email).status_code == 302
    return client


def _call(client, app, output_part: str, values: dict, trigger: str | None = None):
    """Run the callback whose output names `output_part` with `values` ("id.prop" -> value); the response."""
    (output, spec), = [(key, spec) for key, spec in app.callback_map.items()
                       if output_part in key and "callback" in spec]

    def items(kind):
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec.get(kind, [])]

    inputs = items("inputs")
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    return client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs if output.startswith("..") else outputs[0], "inputs": inputs,
        "state": items("state"), "changedPropIds": [trigger] if trigger else [f"{i['id']}.{i['property']}"
                                                                               for i in inputs]})


def test_managers_see_their_agents_presence_and_load_and_agents_are_refused(app, api, engine, desk):
    other = make_desk(api, engine)
    add_conversation(engine, desk, "open", assignee="agent", team="suporte")
    assert api.put("/api/v1/me/presence", headers=desk.headers("agent"), json={"status": "online"}).status_code == 200
    manager = _client(app, desk, "manager")
    assert manager.get("/supervisao").status_code == 200
    response = _call(manager, app, "sup-table.children", {"sup-interval.n_intervals": 0})
    assert response.status_code == 200
    body = json.dumps(response.get_json(), ensure_ascii=False)
    assert "Agente" in body and "Agent2" in body and "Disponível" in body and "1 / 5" in body
    options = response.get_json()["response"]["sup-capacity-user"]["options"]
    assert {option["value"] for option in options} == {str(desk.people["agent"]), str(desk.people["agent2"])}
    assert str(other.people["agent"]) not in body

    agent = _client(app, desk, "agent")
    refused = agent.get("/supervisao")
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/atendimento")
    assert _call(agent, app, "sup-table.children", {"sup-interval.n_intervals": 0}).status_code == 403


def test_admins_change_a_capacity_on_the_page_and_managers_may_not(app, engine, desk):
    target = str(desk.people["agent2"])
    values = {"sup-capacity-save.n_clicks": 1, "sup-capacity-user.value": target, "sup-capacity-value.value": 3}
    saved = _call(_client(app, desk, "admin"), app, "sup-capacity-feedback.children", values)
    assert saved.get_json()["response"]["sup-capacity-feedback"]["children"] == "Capacidade de Agent2: 3 conversas."
    with engine.connect() as conn:
        assert conn.scalar(select(users.c.capacity).where(users.c.id == desk.people["agent2"])) == 3
    values["sup-capacity-value.value"] = 9
    refused = _call(_client(app, desk, "manager"), app, "sup-capacity-feedback.children", values)
    assert refused.get_json()["response"]["sup-capacity-feedback"]["children"] == "Seu perfil não permite esta ação."
    with engine.connect() as conn:
        assert conn.scalar(select(users.c.capacity).where(users.c.id == desk.people["agent2"])) == 3


def test_the_workspace_shows_the_status_the_api_has_and_sets_the_chosen_one(app, api, desk):
    client = _client(app, desk, "agent")
    opened = _call(client, app, "ws-presence.value", {"ws-live-config.data": {}}, trigger="ws-live-config.data")
    assert opened.get_json()["response"]["ws-presence"]["value"] == "offline"  # opening changes nothing
    chosen = _call(client, app, "ws-presence.value", {"ws-presence.value": "away"}, trigger="ws-presence.value")
    assert chosen.get_json()["response"]["ws-presence"]["value"] == "away"
    assert api.get("/api/v1/auth/me", headers=desk.headers("agent")).json()["presence"] == "away"
