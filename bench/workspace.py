"""The agents' workspace at a provider's size: 10k open and waiting conversations, 1M messages, one tenant.

Real processes: the API (uvicorn), one `niochat worker`, the WhatsApp sandbox; embedded PostgreSQL and Redis.
The data (bench/workspace_data.py) is generated inside PostgreSQL and ANALYZEd; `--data-dir DIR` keeps it
(and reuses it when the size matches), so iterating does not seed again. An agent (two teams) and a manager
log in with their passwords (POST /auth/token) and use their own tokens:

- inbox: what the workspace's inbox callback asks the API for one refresh (dash_app/pages/workspace.py's
  refresh_inbox: the teams, then each view's list queries from dash_app.workspace.inbox, through
  dash_app.workspace.client.ApiClient), and the rows it builds, per user and view;
- search: GET /search with what people type (words with and without accents, typos, a quoted phrase, names,
  digits of a phone, a protocol, a masked CPF);
- webhook-to-screen: a waiting customer writes (a Uazapi webhook POSTed to the API); the time until the
  live WebSocket (/api/v1/ws, the token in the first frame, as assets/workspace.js) of the agent and of the
  manager delivers that conversation's `message.created`, which is what the workspace refreshes on. "screen"
  adds the browser's coalescing window (workspace.js COALESCE_MS) and the inbox refresh run right then.

Baselines in the same run and process: GET /healthz of the same API (one HTTP round trip, no database),
GET /auth/me (an authenticated call through the workspace's client: the floor every REST call pays), a
`select 1` (one PostgreSQL round trip) and, for the socket, a Redis PUBLISH on the tenant's channel to the
frame's arrival (the live path's floor). Every figure comes with its ratio to the baseline, because the
machine is shared: the ratios move less than the milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench import customer_messages, environment, report, servers, stats, workspace_data

COALESCE_S = 0.25  # dash_app/assets/workspace.js COALESCE_MS: events within it become one refresh
TARGET_MINUTES = 15
TARGETS_MS = {"inbox": 300, "search": 200, "webhook_to_screen": 1000}
AGENT_VIEWS = ("aguardando", "minhas", "equipes")
MANAGER_VIEWS = ("aguardando", "todas")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conversations", type=int, help="open and waiting conversations (default 10000; "
                        "--quick 300)")
    parser.add_argument("--closed", type=int, help="closed conversations behind them (default 20000; --quick 300)")
    parser.add_argument("--messages", type=int, help="messages over all of them (default 1000000; --quick 20000)")
    parser.add_argument("--agents", type=int, help="agents holding conversations, at least one per team "
                        "(default 40; --quick 8)")
    parser.add_argument("--rounds", type=int, help="inbox refreshes per user and view (default 40; --quick 3)")
    parser.add_argument("--search-rounds", type=int, help="times each search query is run per user (default 5; "
                        "--quick 1)")
    parser.add_argument("--customers", type=int, help="webhook-to-screen: customers who write, one after another "
                        "(default 100; --quick 5)")
    parser.add_argument("--data-dir", type=Path, help="keep the services' data here and reuse a data set seeded "
                        "with the same size (default: a temp dir, removed)")
    parser.add_argument("--output", help="result JSON path (default bench/results/workspace-<timestamp>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (server and worker logs)")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(args.quick)
    config = {
        "conversations": args.conversations or (300 if quick else 10_000),
        "closed": args.closed if args.closed is not None else (300 if quick else 20_000),
        "messages": args.messages or (20_000 if quick else 1_000_000),
        "agents": args.agents or (8 if quick else 40),
        "rounds": args.rounds or (3 if quick else 40),
        "search_rounds": args.search_rounds or (1 if quick else 5),
        "customers": args.customers or (5 if quick else 100),
        "quick": quick,
    }
    if min(config["conversations"], config["messages"], config["rounds"], config["search_rounds"],
           config["customers"]) < 1 or config["closed"] < 0:
        raise SystemExit("--conversations, --messages, --rounds, --search-rounds and --customers must be positive")
    if config["agents"] < len(workspace_data.TEAMS):
        raise SystemExit(f"--agents must be at least {len(workspace_data.TEAMS)} (one per team)")
    return config


def size_of(config: dict[str, Any]) -> workspace_data.Size:
    return workspace_data.Size(config["conversations"], config["closed"], config["messages"], config["agents"])


def search_queries(terms: dict[str, str]) -> dict[str, str]:
    """What people type in the search box, by kind."""
    return {
        "segunda via": "words", "boleto": "words", "internet caiu": "words", "conexao lenta": "unaccented",
        "conexão lenta": "accented", "tecnico": "unaccented", "técnico amanhã": "accented", "roteador": "words",
        '"segunda via"': "phrase", "fatura -boleto": "exclusion", "bolteo": "typo", "internte": "typo",
        "roteadro piscando": "typo", "João Silva": "name", "Conceicao": "name", "Magalhães": "name",
        terms["phone"]: "phone digits", terms["protocol"]: "protocol", terms["document"]: "document digits",
    }


# ---------------------------------------------------------------- the inbox callback, as it asks the API


def refresh_inbox(api, token: str, user_id: str, role: str, view: str) -> dict[str, int]:
    """What refresh_inbox (dash_app/pages/workspace.py) does for one refresh with no filter: the user's teams,
    every view's count (and the waiting queue's first NOTIFY_LIMIT), the open view's first page, its rows drawn."""
    from dash_app.workspace import inbox

    teams = api.get(token, "/teams")
    mine = [team["id"] for team in teams if user_id in team["member_ids"]]
    filters = inbox.Filters()
    counts, _ = inbox.view_counts(api, token, user_id, inbox.views_for(role), mine, filters)
    rows, _, _ = inbox.view_page(api, token, inbox.query(view, user_id, mine, filters), 0)
    listed = [inbox.row_view(row, TARGET_MINUTES, None) for row in rows]
    return {"rows": len(listed), **{f"total_{name}": total for name, total in counts.items()}}


def timed_runs(function, rounds: int) -> tuple[list[float], Any]:
    durations, last = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        last = function()
        durations.append(time.perf_counter() - started)
    return durations, last


def measure_inbox(api, users: dict[str, dict], rounds: int) -> dict[str, Any]:
    out = {}
    for who, user in users.items():
        for view in (AGENT_VIEWS if user["role"] == "agent" else MANAGER_VIEWS):
            def one(user=user, view=view):
                return refresh_inbox(api, user["token"], user["id"], user["role"], view)

            one()  # warm: the connection pool, the plans
            durations, shape = timed_runs(one, rounds)
            out[f"{who}:{view}"] = {"latency": stats.latency_summary(durations), "shape": shape}
            report.log(f"inbox {who}:{view}: p95 {out[f'{who}:{view}']['latency']['p95_ms']} ms, {shape}")
    return out


def _search(api, token: str, q: str) -> dict:
    """The page, or {"total": None} when the API did not answer within the client's timeout (counted at it)."""
    from dash_app.workspace.client import ApiError

    try:
        return api.get(token, "/search", q=q)
    except ApiError as exc:
        if exc.status:
            raise
        return {"total": None}


def measure_search(api, users: dict[str, dict], queries: dict[str, str], rounds: int) -> dict[str, Any]:
    out = {}
    for who, user in users.items():
        durations, per_query = [], {}
        for q, kind in queries.items():
            _search(api, user["token"], q)  # warm
            times, page = timed_runs(lambda q=q, user=user: _search(api, user["token"], q), rounds)
            durations += times
            per_query[q] = {"kind": kind, "total": page["total"], "p50_ms": stats.latency_summary(times)["p50_ms"],
                            "max_ms": stats.latency_summary(times)["max_ms"]}
        out[who] = {"latency": stats.latency_summary(durations), "queries": per_query}
        slowest = max(per_query.items(), key=lambda item: item[1]["max_ms"])
        report.log(f"search {who}: p95 {out[who]['latency']['p95_ms']} ms; slowest {slowest[0]!r} "
                   f"{slowest[1]['max_ms']} ms ({slowest[1]['total']} hits)")
    return out


# ---------------------------------------------------------------- the live socket


class LiveSocket:
    """One workspace's socket: authenticated by the first frame, as assets/workspace.js; remembers when each
    conversation's events arrived."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.arrived: dict[tuple[str, str | None], float] = {}
        self.changed = asyncio.Condition()

    async def __aenter__(self) -> LiveSocket:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url)
        await self.ws.send(json.dumps({"type": "auth", "token": self.token}))
        ready = json.loads(await asyncio.wait_for(self.ws.recv(), 15))
        if ready.get("type") != "ready":
            raise RuntimeError(f"the live socket answered {ready}")
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        self.reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        async for frame in self.ws:
            at = time.perf_counter()
            event = json.loads(frame)
            key = (event.get("type"), event.get("conversation_id"))
            self.arrived.setdefault(key, at)
            async with self.changed:
                self.changed.notify_all()

    async def wait_for(self, event_type: str, conversation_id: str | None, timeout: float = 30) -> float:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: (event_type, conversation_id) in self.arrived),
                                   timeout)
        return self.arrived.pop((event_type, conversation_id))


async def _live_floor(ws_url: str, token: str, redis_url: str, tenant_id: str, count: int) -> list[float]:
    """A frame PUBLISHed straight on the tenant's Redis channel to its arrival on the socket."""
    import redis.asyncio as aioredis

    from api.engine.live import events_channel

    client = aioredis.Redis.from_url(redis_url)
    durations = []
    try:
        async with LiveSocket(ws_url, token) as socket:
            for n in range(count):
                marker = f"bench-floor-{n}"
                started = time.perf_counter()
                await client.publish(events_channel(tenant_id), json.dumps({"type": "bench.floor",
                                                                            "conversation_id": marker}))
                durations.append(await socket.wait_for("bench.floor", marker) - started)
    finally:
        await client.aclose()
    return durations


async def _webhooks_to_screen(api_url: str, ws_url: str, seeded, users: dict[str, dict], api,
                              customers: list[tuple[str, str]]) -> dict[str, Any]:
    path = f"/webhooks/uazapi/{seeded.webhook_key}"
    agent, manager = users["agente"], users["supervisora"]
    event_s: dict[str, list[float]] = {"agente": [], "supervisora": []}
    refresh_s, screen_s, statuses = [], [], {}
    texts = workspace_data.CUSTOMER_TEXTS
    async with (httpx.AsyncClient(base_url=api_url, timeout=30) as http, LiveSocket(ws_url, agent["token"]) as
                agent_socket, LiveSocket(ws_url, manager["token"]) as manager_socket):
        for n, (phone, conversation_id) in enumerate(customers):
            body = json.dumps(customer_messages.uazapi_inbound_payload(
                seeded.instance, seeded.channel_token, phone, texts[n % len(texts)])).encode()
            started = time.perf_counter()
            response = await http.post(path, content=body, headers={"content-type": "application/json"})
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            seen = await asyncio.gather(agent_socket.wait_for("message.created", conversation_id),
                                        manager_socket.wait_for("message.created", conversation_id))
            for who, at in zip(("agente", "supervisora"), seen, strict=True):
                event_s[who].append(at - started)
            # the agent's screen: the list refreshed once the coalescing window has passed
            refreshed = time.perf_counter()
            await asyncio.to_thread(refresh_inbox, api, agent["token"], agent["id"], "agent", "aguardando")
            refresh_s.append(time.perf_counter() - refreshed)
            screen_s.append(seen[0] - started + COALESCE_S + refresh_s[-1])
            await asyncio.sleep(0.2)  # one customer after another: latency, not throughput
    return {
        "customers": len(customers),  # fewer than asked when the team's queue on the channel holds fewer
        "webhook_status_counts": statuses,
        "event_latency": {who: stats.latency_summary(values) for who, values in event_s.items()},
        "inbox_refresh_after_event": stats.latency_summary(refresh_s),
        "screen_latency": stats.latency_summary(screen_s),
        "coalesce_window_ms": COALESCE_S * 1000,
    }


# ---------------------------------------------------------------- baselines


def measure_baselines(api_url: str, database_url: str, api, token: str, rounds: int) -> dict[str, Any]:
    import psycopg

    from niochat.database import libpq_url

    with httpx.Client(base_url=api_url, timeout=10) as http:
        http.get("/healthz")
        health, _ = timed_runs(lambda: http.get("/healthz").raise_for_status(), rounds)
    # an authenticated call that reads one row: what every REST call of the workspace pays before its own work
    me, _ = timed_runs(lambda: api.get(token, "/auth/me"), rounds)
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("select 1")
        select_one, _ = timed_runs(lambda: conn.execute("select 1").fetchone(), rounds)
    return {"healthz": stats.latency_summary(health), "auth_me": stats.latency_summary(me),
            "select_1": stats.latency_summary(select_one)}


def _ratios(summary: dict[str, Any], floor: dict[str, Any]) -> dict[str, float | None]:
    return {p: stats.ratio(summary[f"{p}_ms"], floor[f"{p}_ms"]) for p in ("p50", "p95", "p99")}


# ---------------------------------------------------------------- the run


def _log_in(api, email: str) -> dict[str, str]:
    token, _ = api.login(email, workspace_data.PASSWORD)
    me = api.get(token, "/auth/me")
    return {"token": token, "id": me["id"], "role": me["role"]}


def _data(env: environment.Environment, config: dict[str, Any], sandbox_url: str) -> workspace_data.Seeded:
    from niochat.secrets import Keyring

    size = size_of(config)
    seeded = workspace_data.Seeded.load(env.data_dir, size)
    if seeded is not None:
        report.log(f"reusing the data set in {env.data_dir} (seeded in {seeded.seconds}s)")
        workspace_data.point_channel_at(env.database_url, seeded, sandbox_url)
        return seeded
    if (env.data_dir / workspace_data.SEED_FILE).exists():
        raise SystemExit(f"{env.data_dir} holds a data set of another size: give another --data-dir")
    report.log(f"seeding {size}")
    seeded = workspace_data.seed(env.database_url, size, sandbox_url, Keyring(env.secret_key),
                                 "http://127.0.0.1:8000")
    seeded.save(env.data_dir)
    report.log(f"seeded in {seeded.seconds}s")
    return seeded


def run(args: argparse.Namespace) -> dict[str, Any]:
    from dash_app.workspace.client import ApiClient

    config = resolve(args)
    config["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with environment.environment(keep=args.keep, data_dir=args.data_dir) as env:
        sandbox, sandbox_url = servers.serve(env, "sandbox", "sandbox.whatsapp:create_app")
        seeded = _data(env, config, sandbox_url)
        data = workspace_data.counts(env.database_url, seeded.tenant_id)
        api_process, api_url = servers.serve(env, "api", "api.app:app_factory", ready_path="/readyz")
        ws_url = api_url.replace("http://", "ws://") + "/api/v1/ws"
        channel = environment.Channel(workspace_data.SLUG, seeded.tenant_id, seeded.instance, seeded.channel_token,
                                      seeded.webhook_key)
        environment.connect_sandbox(env, [channel], sandbox_url, api_url)
        env.spawn("worker", [sys.executable, "-m", "niochat", "worker"], env.env())
        api = ApiClient(api_url)
        try:
            users = {"agente": _log_in(api, seeded.agent_email), "supervisora": _log_in(api, seeded.manager_email)}
            rounds = max(config["rounds"], 20)
            baselines = measure_baselines(api_url, env.database_url, api, users["agente"]["token"], rounds)
            inbox_result = measure_inbox(api, users, config["rounds"])
            queries = search_queries(workspace_data.search_terms(env.database_url, seeded))
            search_result = measure_search(api, users, queries, config["search_rounds"])
            baselines["live_publish_to_frame"] = stats.latency_summary(asyncio.run(_live_floor(
                ws_url, users["supervisora"]["token"], env.redis_url, seeded.tenant_id, rounds)))
            customers = workspace_data.waiting_customers(env.database_url, seeded, workspace_data.TEAMS[0][0],
                                                         config["customers"])
            live = asyncio.run(_webhooks_to_screen(api_url, ws_url, seeded, users, api, customers))
            report.log(f"webhook-to-screen: p95 {live['screen_latency']['p95_ms']} ms")
        finally:
            api.close()
        machine = report.machine_info(env.database_url, env.redis_url)
        services = {"embedded": env.embedded}
    result = summarize(config, seeded, data, baselines, inbox_result, search_result, live)
    result.update(machine=machine, services=services)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = report.write_result(f"workspace-{stamp}", result, args.output)
    print_summary(result)
    print(f"results: {path}")
    return result


def summarize(config, seeded, data, baselines, inbox_result, search_result, live) -> dict[str, Any]:
    health, me, live_floor = baselines["healthz"], baselines["auth_me"], baselines["live_publish_to_frame"]
    inbox_p95 = max(entry["latency"]["p95_ms"] for entry in inbox_result.values())
    search_p95 = max(entry["latency"]["p95_ms"] for entry in search_result.values())
    screen_p95 = live["screen_latency"]["p95_ms"]
    return {
        "benchmark": "workspace",
        "started_at": report.utc_stamp(),
        "config": config,
        "data": {**data, "seed_seconds": seeded.seconds, "size": asdict(workspace_data.Size(**seeded.size))},
        "baselines": baselines,
        "inbox": inbox_result,
        "search": search_result,
        "webhook_to_screen": live,
        "ratios": {
            "inbox_over_healthz": {key: _ratios(entry["latency"], health) for key, entry in inbox_result.items()},
            "search_over_healthz": {key: _ratios(entry["latency"], health) for key, entry in search_result.items()},
            "inbox_over_auth_me": {key: _ratios(entry["latency"], me) for key, entry in inbox_result.items()},
            "search_over_auth_me": {key: _ratios(entry["latency"], me) for key, entry in search_result.items()},
            "event_over_live_floor": {who: _ratios(summary, live_floor)
                                      for who, summary in live["event_latency"].items()},
            "screen_over_healthz": _ratios(live["screen_latency"], health),
        },
        "targets_ms": TARGETS_MS,
        "met": {"inbox": inbox_p95 <= TARGETS_MS["inbox"], "search": search_p95 <= TARGETS_MS["search"],
                "webhook_to_screen": screen_p95 <= TARGETS_MS["webhook_to_screen"]},
        # every customer found wrote, was answered 200 and reached both sockets (a missing event raises)
        "ok": bool(live["customers"]) and live["webhook_status_counts"] == {"200": live["customers"]},
    }


def _row(name: str, summary: dict[str, Any], ratios: dict[str, Any] | None, floor_name: str) -> str:
    figures = " ".join(f"{summary[f'{p}_ms']:>9.1f}" for p in ("p50", "p95", "p99"))
    if not ratios:
        return f"   {name:<34} {figures}"
    return f"   {name:<34} {figures}   x{ratios['p50']} / x{ratios['p95']} / x{ratios['p99']} {floor_name}"


def print_summary(result: dict[str, Any]) -> None:
    data, ratios = result["data"], result["ratios"]
    print(f"\n== workspace: {data['active_conversations']} open/waiting conversations, {data['conversations']} in all, "
          f"{data['messages']} messages, one tenant")
    print(f"   {'':<34} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}   ratio p50 / p95 / p99")
    for name, summary in result["baselines"].items():
        print(_row(f"baseline {name}", summary, None, ""))
    for key, entry in result["inbox"].items():
        print(_row(f"inbox {key}", entry["latency"], ratios["inbox_over_healthz"][key], "healthz")
              + f", p95 x{ratios['inbox_over_auth_me'][key]['p95']} auth/me")
    for who, entry in result["search"].items():
        print(_row(f"search {who}", entry["latency"], ratios["search_over_healthz"][who], "healthz")
              + f", p95 x{ratios['search_over_auth_me'][who]['p95']} auth/me")
    live = result["webhook_to_screen"]
    for who, summary in live["event_latency"].items():
        print(_row(f"webhook -> socket event ({who})", summary, ratios["event_over_live_floor"][who], "live floor"))
    print(_row("inbox refresh after the event", live["inbox_refresh_after_event"], None, ""))
    print(_row("webhook -> screen (agent)", live["screen_latency"], ratios["screen_over_healthz"], "healthz"))
    met = ", ".join(f"{name} {'met' if ok else 'MISSED'} (p95 <= {result['targets_ms'][name]} ms)"
                    for name, ok in result["met"].items())
    print(f"   targets: {met}")
