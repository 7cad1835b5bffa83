"""The workspace's Dash callbacks as a browser calls them: a logged-in Flask test client of the real Dash app and
one POST to /_dash-update-component per callback (the same as tests/integration/test_workspace.py does)."""

from __future__ import annotations

from tests.support.dashboard import form_token
from tests.support.desk import Desk
from tests.support.factories import PASSWORD


def email_of(desk: Desk, who: str) -> str:
    return f"agent@{desk.rows.slug}.test" if who == "agent" else f"{who}@{desk.rows.slug}.test"


def logged_in(app, desk: Desk, who: str):
    client = app.server.test_client()
    token = form_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email_of(desk, who), "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def call(client, app, output_part: str, values: dict, trigger: str | None = None) -> dict:
    """Run the callback whose output names `output_part`, with `values` ("id.prop" -> value) for its inputs and
    state (others None); returns {component id: {prop: value}}, or {} for a 204 (nothing to update)."""
    (output, spec), = [(key, spec) for key, spec in app.callback_map.items()
                       if output_part in key and "callback" in spec]

    def items(kind):
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec.get(kind, [])]

    inputs = items("inputs")
    changed = [trigger] if trigger else [f"{i['id']}.{i['property']}" for i in inputs]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    response = client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs if output.startswith("..") else outputs[0], "inputs": inputs,
        "state": items("state"), "changedPropIds": changed})
    assert response.status_code in (200, 204), (output, response.status_code, response.get_data(as_text=True)[:800])
    return {} if response.status_code == 204 else response.get_json()["response"]
