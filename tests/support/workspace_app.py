"""The agents' workspace (Dash) under test: logging a desk's person in through the real login form, and running one
callback as the browser would (/_dash-update-component), with the session's cookie."""

from __future__ import annotations

import json

from tests.support.dashboard import form_token
from tests.support.desk import Desk
from tests.support.factories import PASSWORD


def email_of(desk: Desk, who: str) -> str:
    return f"{who}@{desk.rows.slug}.test"


def logged_in(app, desk: Desk, who: str):
    client = app.server.test_client()
    token = form_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email_of(desk, who), "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def call(client, app, output_part: str, values: dict, trigger: str | None = None) -> dict:
    """Run the one callback whose outputs name `output_part`, with `values` ("id.prop" -> value; a pattern-matching
    id as its JSON) for its inputs and state (others None); returns {component id: {prop: value}}, or {} for a 204.
    `trigger` is the "id.prop" that changed (see pattern_prop for a pattern-matching id)."""
    (output, spec), = [(key, spec) for key, spec in app.callback_map.items()
                       if output_part in key and "callback" in spec]

    def items(kind):
        found = []
        for item in spec.get(kind, []):
            if item["id"].startswith("{"):  # a pattern (ALL): values holds [(the component's id, value), ...]
                pattern = json.loads(item["id"])
                found.append([{"id": one, "property": item["property"], "value": value}
                              for one, value in values.get(f"{pattern['type']}.{item['property']}", [])])
            else:
                found.append({**item, "value": values.get(f"{item['id']}.{item['property']}")})
        return found

    inputs = items("inputs")
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    response = client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs if output.startswith("..") else outputs[0], "inputs": inputs,
        "state": items("state"), "changedPropIds": [trigger] if trigger else []})
    assert response.status_code in (200, 204), (output, response.status_code, response.get_data(as_text=True)[:800])
    return {} if response.status_code == 204 else response.get_json()["response"]


def pattern_prop(component_id: dict, prop: str) -> str:
    """The "id.prop" Dash names a pattern-matching component's change by."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":")) + "." + prop
