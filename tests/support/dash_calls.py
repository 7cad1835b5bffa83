"""Calling the Dash app's callbacks as a browser does: logged in through the login form (a Flask test client with
its session cookie), then POST /_dash-update-component with the callback's inputs and state."""

from __future__ import annotations

from tests.support.dashboard import login


def logged_in(app, email: str):
    """A test client of `app` with a session for `email` (PASSWORD); `.landing` is where the login sent it."""
    client = app.server.test_client()
    response = login(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.landing = response.headers["Location"]
    return client


def post_callback(client, app, output_part: str, values: dict, trigger: str | None = None):
    """The raw response of the callback whose output names `output_part`, with `values` ("id.prop" -> value)
    for its inputs and state (the others None); `trigger` is the input that changed (default: all)."""
    (output, spec), = [(key, spec) for key, spec in app.callback_map.items()
                       if output_part in key and "callback" in spec]

    def items(kind):
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in spec.get(kind, [])]

    inputs = items("inputs")
    changed = [trigger] if trigger else [f"{i['id']}.{i['property']}" for i in inputs]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    return client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs if output.startswith("..") else outputs[0], "inputs": inputs,
        "state": items("state"), "changedPropIds": changed})


def call(client, app, output_part: str, values: dict, trigger: str | None = None) -> dict:
    """As post_callback, expecting success: {component id: {prop: value}}, or {} for a 204 (no update)."""
    response = post_callback(client, app, output_part, values, trigger)
    assert response.status_code in (200, 204), (output_part, response.status_code,
                                                response.get_data(as_text=True)[:800])
    return {} if response.status_code == 204 else response.get_json()["response"]
