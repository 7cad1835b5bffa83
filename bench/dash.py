"""Dash callback latency: every server-side callback of the dashboards, on marts built from the pipeline
benchmark's data, called through Flask's test client with a real logged-in session (the login form, the signed
cookie, the guard's per-request check, RLS-bound warehouse reads).

Data: bench/pipeline.py's generator (conversations, messages, tool calls, CSAT spread over 90 days, evenly over
the tenants), intents on the inbound messages, then ingest.sync and dbt (seeds, models); a manager logs in to one tenant
and the period is the data's 90 days. Each round calls every callback once, page by page (a page's total = its
callbacks that fire when it loads, one after another: what one server process spends to render it). Two phases:
`uncached` (the marts cache off: each call queries PostgreSQL, as at the first view of a period) and `cached`
(the app's 60 s cache, after the warm-up round). The floor is a trivial callback registered on the same app
(same guard, same Dash dispatch, returns a constant): ratios are p50/p95 over the floor's.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import Counter
from typing import Any

from bench import datasets, environment, report, stats

PERIOD = {"start": "2026-01-01", "end": "2026-03-31"}  # the generator's 90 days (bench/pipeline.py)
PASSWORD = "bench-dash-password-1"
BARE = "bench-bare-output"
INTENTS_SQL = """
update messages set intent = (array['second_copy', 'connection_down', 'trust_unlock', 'open_ticket', 'human',
                                    'greeting', 'identify', 'not_understood'])[1 + (hashtext(id::text) & 7)]
where direction = 'inbound'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    datasets.add_dataset_arguments(parser)
    parser.add_argument("--rounds", type=int, help="measured rounds per phase (default 30; --quick 10)")
    parser.add_argument("--output", help="result JSON path (default bench/results/dash.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    config = {
        **datasets.dataset_config(args),
        "rounds": args.rounds or (10 if args.quick else 30),
        "period": PERIOD,
    }
    if min(config["conversations"], config["tenants"], config["rounds"], config["messages_per_conversation"]) < 1:
        raise SystemExit("--conversations, --tenants, --rounds and --messages-per-conversation must be positive")
    return config


# ---------------------------------------------------------------- the callback map, as requests


def component_ids(component) -> set[str]:
    """Every string id in a Dash component tree."""
    found: set[str] = set()
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if not hasattr(node, "to_plotly_json"):
            continue
        if isinstance(getattr(node, "id", None), str):
            found.add(node.id)
        stack.append(getattr(node, "children", None))
    return found


def outputs_of(output: str) -> list[dict]:
    """[{id, property}] of a callback-map key: 'a.prop' (one output) or '..a.prop...b.prop..' (several)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in parts]


def _value(item: dict, period: dict, pathname: str):
    if item["id"] == "periodo" and item["property"] == "data":
        return period
    return {"start_date": period["start"], "end_date": period["end"], "n_clicks": 1, "n_intervals": 1,
            "pathname": pathname, "search": "", "href": f"http://localhost{pathname}", "hash": ""}.get(
        item["property"])


WORKSPACE_IDS = ("ws-", "nav-workspace")


def payload(output: str, spec: dict, period: dict, pathname: str = "/") -> dict:
    """The body the browser posts to /_dash-update-component for this callback."""
    parts = outputs_of(output)
    inputs = [{**item, "value": _value(item, period, pathname)} for item in spec["inputs"]]
    return {"output": output, "outputs": parts if output.startswith("..") else parts[0], "inputs": inputs,
            "state": [{**item, "value": _value(item, period, pathname)} for item in spec.get("state", [])],
            "changedPropIds": [f"{item['id']}.{item['property']}" for item in inputs]}


def plan(app, pages, period: dict) -> list[dict]:
    """One entry per server-side callback: its page ('shell' when outside every page), whether it fires when the
    page loads (a click-triggered download does not), and its request body."""
    ids_of = {page.NAME: component_ids(page.layout()) for page in pages}
    path_of = {page.NAME: page.PATH for page in pages}
    calls = []
    for output, spec in app.callback_map.items():
        if "callback" not in spec or output.startswith(BARE):  # clientside (nothing on the server), or the floor
            continue
        if any(part["id"].startswith(WORKSPACE_IDS) for part in outputs_of(output)):
            continue  # the agents' workspace: its time is the API's, measured by the API's own benchmarks
        outputs = {part["id"] for part in outputs_of(output)}
        page = next((name for name, ids in ids_of.items() if outputs & ids), "shell")
        on_click = any(item["property"] == "n_clicks" for item in spec["inputs"])
        calls.append({"output": output, "label": " + ".join(part["id"] for part in outputs_of(output)),
                      "page": page, "on_load": not on_click,
                      "body": payload(output, spec, period, path_of.get(page, "/"))})
    return calls


# ---------------------------------------------------------------- data and app


def build_marts(env: environment.Environment, config: dict[str, Any]) -> dict[str, Any]:
    """bench/pipeline.py's rows (plus intents) in the operational database, synced and built into the marts."""
    import psycopg

    from bench import pipeline
    from ingest.dbt_command import BUILD_WITHOUT_TESTS, run_dbt
    from ingest.sync import sync
    from niochat.database import libpq_url

    started = time.perf_counter()
    with psycopg.connect(libpq_url(env.database_url), cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(pipeline.TENANTS_SQL, {"tenants": config["tenants"]})
    pipeline.generate(env.database_url, 0, config["conversations"] - 1, config["tenants"],
                      config["messages_per_conversation"], historical=True)
    with psycopg.connect(libpq_url(env.database_url)) as conn:
        conn.execute(INTENTS_SQL)
    generated = time.perf_counter()
    sync(env.database_url, env.warehouse_url, full=True)
    synced = time.perf_counter()
    built = run_dbt(env.warehouse_url, *BUILD_WITHOUT_TESTS)  # seeds and models
    if built.returncode != 0:
        raise RuntimeError("dbt seed and run failed:\n" + built.stdout[-4000:])
    marts = pipeline.count_rows(env.warehouse_url, "marts", ["fct_conversations", "fct_messages",
                                                             "agg_tenant_daily_intents", "dim_users"])
    return {"generate_seconds": round(generated - started, 2), "sync_seconds": round(synced - generated, 2),
            "dbt_run_seconds": round(time.perf_counter() - synced, 2), "mart_rows": marts}


def richest_tenant(env: environment.Environment) -> str:
    """The tenant whose pages have the most to draw: closed, handed-off conversations (CSAT, agents, handoff
    reasons). bench/pipeline.py deals conversation i to tenant i % tenants and picks its status from i % 50 too, so
    with 50 tenants each tenant gets a single status: the first by slug would only have conversations with the bot."""
    from sqlalchemy import text

    from niochat.database import sync_engine

    engine = sync_engine(env.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("""
                select t.slug from tenants t join conversations c on c.tenant_id = t.id group by t.slug
                order by count(*) filter (where c.status = 'closed' and c.handoff_at is not null) desc,
                         count(*) filter (where c.status = 'closed') desc, t.slug
                limit 1""")).scalar_one()
    finally:
        engine.dispose()


def manager_of(env: environment.Environment, slug: str) -> tuple[str, str]:
    """A manager with a real password in tenant `slug` (the generator's users cannot log in); (email, tenant id)."""
    from sqlalchemy import text

    from niochat import accounts
    from niochat.database import sync_engine

    engine = sync_engine(env.database_url)
    try:
        with engine.begin() as conn:
            email = f"gestor@{slug}.test"
            accounts.create_user(conn, slug, email, "Gestora Bench", PASSWORD, "manager")
            tenant_id = conn.execute(text("select id from tenants where slug = :s"), {"s": slug}).scalar_one()
    finally:
        engine.dispose()
    return email, str(tenant_id)


def live_counters(redis_url: str, tenant_id: str) -> None:
    """What the worker keeps in Redis, so the live page has numbers to draw."""
    import redis

    from niochat import live_keys as live

    client = redis.Redis.from_url(redis_url)
    try:
        client.hset(live.counters_key(tenant_id), mapping={"bot": 12, "waiting": 3, "open": 5, "assigned": 5,
                                                           "refreshed_at": int(time.time())})
        minute = int(time.time() // 60)
        for offset in range(30):
            client.set(live.minute_key(tenant_id, "inbound", minute - offset), 10 + offset % 7)
            client.set(live.minute_key(tenant_id, "outbound", minute - offset), 12 + offset % 5)
    finally:
        client.close()


def dash_app(env: environment.Environment):
    from dash import Input, Output

    from dash_app import create_app
    from niochat.embedded import ServiceUrls
    from niochat.settings import Settings

    # no API here: the workspace's callbacks are left out of the plan (a closed port, so none is reached by chance)
    settings = Settings(data_dir=env.data_dir, secret_key=env.secret_key, _env_file=None,
                        workspace_api_url="http://127.0.0.1:9")
    app = create_app(settings, ServiceUrls(env.database_url, env.warehouse_url, env.redis_url))

    @app.callback(Output(BARE, "children"), Input("periodo", "data"))
    def bare(_period):  # the floor: guard + Dash dispatch + JSON, nothing of ours
        return "ok"

    return app


# ---------------------------------------------------------------- measuring


def call(client, body: dict) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.post("/_dash-update-component", json=body)
    response.get_data()
    return time.perf_counter() - started, response.status_code


def measure(client, calls: list[dict], bare: dict, rounds: int) -> dict[str, Any]:
    """`rounds` rounds of: every page's callbacks in order, then the floor. Per-callback and per-page latencies."""
    per_call: dict[str, list[float]] = {c["output"]: [] for c in calls}
    per_page: dict[str, list[float]] = {}
    floor: list[float] = []
    statuses: dict[str, Counter] = {c["output"]: Counter() for c in calls}
    for _ in range(rounds):
        page_totals: dict[str, float] = {}
        for entry in calls:
            seconds, status = call(client, entry["body"])
            per_call[entry["output"]].append(seconds)
            statuses[entry["output"]][str(status)] += 1
            if entry["on_load"]:
                page_totals[entry["page"]] = page_totals.get(entry["page"], 0.0) + seconds
        for page, total in page_totals.items():
            per_page.setdefault(page, []).append(total)
        floor.append(call(client, bare)[0])
    return {
        "callbacks": {c["output"]: {"label": c["label"], "page": c["page"], "on_load": c["on_load"],
                                    "latency": stats.latency_summary(per_call[c["output"]]),
                                    "status_counts": dict(statuses[c["output"]])} for c in calls},
        "pages": {page: stats.latency_summary(values) for page, values in per_page.items()},
        "bare": stats.latency_summary(floor),
    }


def empty_answers(client, calls: list[dict]) -> list[str]:
    """The callbacks that drew an empty state for the generated data (their figures would flatter the latency)."""
    empty = []
    for entry in calls:
        if entry["on_load"]:
            body = client.post("/_dash-update-component", json=entry["body"]).get_data(as_text=True)
            if "empty-state" in body or "Sem dados no período" in body:
                empty.append(entry["label"])
    return empty


def ratios(phase: dict[str, Any]) -> dict[str, Any]:
    bare = phase["bare"]
    over = {}
    for output, entry in phase["callbacks"].items():
        over[output] = {q: stats.ratio(entry["latency"][f"{q}_ms"], bare[f"{q}_ms"], 1) for q in ("p50", "p95")}
    return over


def run(args: argparse.Namespace) -> dict[str, Any]:
    from dash_app.pages import PAGES

    config = resolve(args)
    config["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with environment.environment(keep=args.keep) as env:
        report.log(f"generating {config['conversations']:,} conversations over {config['tenants']} tenants, "
                   "sync, dbt run")
        data = build_marts(env, config)
        report.log(f"marts built: {data}")
        slug = richest_tenant(env)
        email, tenant_id = manager_of(env, slug)
        live_counters(env.redis_url, tenant_id)
        app = dash_app(env)
        client = app.server.test_client()
        form = client.get("/login").get_data(as_text=True)  # the login form carries its anti-forgery token
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        login = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        if login.status_code != 302:
            raise RuntimeError(f"login failed: {login.status_code}")
        # the dashboards that read the warehouse; Supervisão asks the API (no API in this benchmark)
        calls = plan(app, [page for page in PAGES if page.NAME != "Supervisão"], PERIOD)
        empty = empty_answers(client, calls)
        bare = payload(f"{BARE}.children", {"inputs": [{"id": "periodo", "property": "data"}]}, PERIOD)
        cache = app.niochat.marts.cache
        phases = {}
        for name, ttl in (("uncached", 0.0), ("cached", 60.0)):
            cache.ttl = ttl
            cache.clear()
            measure(client, calls, bare, 1)  # warm-up: connections, imports, the cache when on
            report.log(f"{name}: {len(calls)} callbacks x {config['rounds']} rounds")
            phases[name] = measure(client, calls, bare, config["rounds"])
        machine = report.machine_info(env.database_url, env.redis_url)
        machine["dash_version"] = report.package_version("dash")
    result = {
        "benchmark": "dash",
        "started_at": report.utc_stamp(),
        "config": {**config, "tenant": slug, "callbacks": len(calls)},
        "empty_answers": empty,
        "machine": machine,
        "data": data,
        "phases": phases,
        "ratios": {
            "over_bare": {name: ratios(phase) for name, phase in phases.items()},
            "uncached_over_cached_page_p50": {
                page: stats.ratio(phases["uncached"]["pages"][page]["p50_ms"],
                                   phases["cached"]["pages"][page]["p50_ms"], 1)
                for page in phases["uncached"]["pages"]},
        },
        "ok": all(set(entry["status_counts"]) <= {"200", "204"}
                  for phase in phases.values() for entry in phase["callbacks"].values()),
    }
    path = report.write_result("dash", result, args.output)
    print_summary(result)
    print(f"results: {path}")
    return result


def print_summary(result: dict[str, Any]) -> None:
    config, phases = result["config"], result["phases"]
    print(f"\n== dash: {config['conversations']:,} conversations, {config['tenants']} tenants, tenant "
          f"{config['tenant']}, period {config['period']['start']}..{config['period']['end']}, "
          f"{config['rounds']} rounds")
    for name, phase in phases.items():
        bare = phase["bare"]
        print(f"\n   {name}: floor (trivial callback) p50 {bare['p50_ms']} ms, p95 {bare['p95_ms']} ms")
        print(f"   {'page':<12} {'callback (its outputs)':<64} {'p50 ms':>8} {'p95 ms':>8} {'p95/floor':>10}")
        over = result["ratios"]["over_bare"][name]
        for output, entry in sorted(phase["callbacks"].items(), key=lambda item: (item[1]["page"], item[0])):
            lat = entry["latency"]
            print(f"   {entry['page']:<12} {entry['label'][:64]:<64} {lat['p50_ms']:>8.1f} {lat['p95_ms']:>8.1f} "
                  f"{over[output]['p95']:>9}x")
        for page, lat in phase["pages"].items():
            print(f"   page {page:<24} (callbacks on load, in series) p50 {lat['p50_ms']:.1f} ms, "
                  f"p95 {lat['p95_ms']:.1f} ms")
    print("\n   uncached / cached, page p50: " + ", ".join(
        f"{page} x{value}" for page, value in result["ratios"]["uncached_over_cached_page_p50"].items()))
    if result["empty_answers"]:
        print("   drew an empty state (no such rows in the generated data): " + ", ".join(result["empty_answers"]))
    if not result["ok"]:
        print("   NOT OK: some callback answered other than 200/204 (see status_counts in the JSON)")
