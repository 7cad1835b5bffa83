"""Webhook acknowledgement under load: N concurrent customers posting Uazapi webhooks to the real API process(es).

Then the same load, same uvicorn settings, against a bare FastAPI endpoint (bench/bare.py) in the same run:
the webhook/bare ratios say what NioChat's own work costs relative to the framework's floor on this machine.
No worker runs: this measures the acknowledgement path (auth, parse, dedup, rate limits, insert, enqueue).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import psutil

from bench import customer_messages, environment, process_memory, report, servers, stats

TENANT_BUDGET = 4000  # requests per tenant per run: under PER_TENANT (6000/minute) whatever the speed
CONTACT_BUDGET = 40  # PER_CONTACT is 40/minute


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, help="concurrent simulated customers, one connection each "
                        "(default 1000; --quick 200)")
    parser.add_argument("--requests", type=int, help="webhooks posted in the measured phase (default 20000; "
                        "--quick 2000)")
    parser.add_argument("--rate", type=float, help="open loop: webhooks per second offered in all, spread evenly "
                        "over the customers (e.g. 1000 customers at 200/s: one message per customer every 5 s); "
                        "latency counts from the scheduled moment. Default: closed loop, each customer posts its "
                        "next webhook as soon as the last one is answered (saturation)")
    parser.add_argument("--api-procs", type=int, default=1, help="uvicorn worker processes of the API (default 1)")
    parser.add_argument("--tenants", type=int, help=f"tenants the customers are spread over (default: one per "
                        f"{TENANT_BUDGET} requests, to stay under the per-tenant rate limit)")
    parser.add_argument("--warmup", type=int, help="requests before measuring, one per connection (default: "
                        "--customers)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI baseline")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds (default 60)")
    parser.add_argument("--output", help="result JSON path (default bench/results/webhook.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (server logs) afterwards")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    customers = args.customers or (200 if args.quick else 1000)
    requests = args.requests or (2000 if args.quick else 20000)
    warmup = customers if args.warmup is None else args.warmup
    tenants = args.tenants or max(1, math.ceil((requests + warmup) / TENANT_BUDGET))
    if min(customers, requests, args.api_procs, tenants) < 1 or (args.rate is not None and args.rate <= 0):
        raise SystemExit("--customers, --requests, --api-procs, --tenants and --rate must be positive")
    per_contact = math.ceil(requests / customers)  # within a minute, at worst
    if args.rate:
        per_contact = min(per_contact, math.ceil(args.rate * 60 / customers))
    if per_contact > CONTACT_BUDGET:
        report.log(f"warning: {per_contact} requests per customer in a minute exceed the per-contact "
                   f"limit of {CONTACT_BUDGET}/minute: expect 429s")
    return {"customers": customers, "requests": requests, "warmup": warmup, "tenants": tenants,
            "api_procs": args.api_procs, "rate": args.rate, "timeout_s": args.timeout, "quick": bool(args.quick),
            "bare": not args.no_bare}


def build_requests(channels: list[environment.Channel], customers: int, requests: int,
                   first_customer: int = 0) -> list[list[Request]]:
    """Per customer, the webhooks it posts in order: distinct phones, distinct message ids, tenants round-robin."""
    per_customer: list[list[Request]] = [[] for _ in range(customers)]
    for n in range(requests):
        c = n % customers
        channel = channels[(first_customer + c) % len(channels)]
        phone = customer_messages.customer_phone(first_customer + c)
        payload = customer_messages.uazapi_inbound_payload(channel.instance, channel.token, phone, f"oi, mensagem {n}")
        per_customer[c].append(Request(channel.webhook_path(), json.dumps(payload).encode()))
    return per_customer


def scheduled_at(customer: int, nth: int, customers: int, rate: float) -> float:
    """Open loop: seconds after the start at which a customer's nth webhook is due; all customers' webhooks
    together arrive evenly at `rate` per second, each customer's `customers / rate` seconds apart."""
    return (customer + nth * customers) / rate


async def post_all(base_url: str, per_customer: list[list[Request]], timeout: float,
                   warmup: list[list[Request]] | None = None, on_start=None, on_end=None,
                   rate: float | None = None) -> dict[str, Any]:
    """Every customer posts its webhooks one after another on its own HTTP/1.1 keep-alive connection: as fast
    as answered (closed loop), or each at its scheduled moment (open loop, `rate`), latency then counting from
    that moment so that a slow server cannot hide its queue by delaying the next send.

    One httpx.AsyncClient (one pooled connection) per customer: httpcore's pool scans every connection on
    each request, so one shared pool of 1000 connections would make the load generator the bottleneck.
    """
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=120)

    warm: Counter[str] = Counter()
    waiting, clock = [len(per_customer)], [0.0]

    async def customer(index: int, requests: list[Request]) -> None:
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, verify=False) as client:
            for request in (warmup[index] if warmup and index < len(warmup) else []):
                try:
                    response = await client.post(request.path, content=request.body, headers=headers)
                    warm[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    warm[type(exc).__name__] += 1
            waiting[0] -= 1
            if waiting[0] == 0:
                if on_start:
                    on_start()
                clock[0] = time.perf_counter()
                ready.set()
            await ready.wait()
            for nth, request in enumerate(requests):
                started = time.perf_counter()
                if rate:
                    due = clock[0] + scheduled_at(index, nth, len(per_customer), rate)
                    if due > started:
                        await asyncio.sleep(due - started)
                    started = due
                try:
                    response = await client.post(request.path, content=request.body, headers=headers)
                except httpx.HTTPError as exc:
                    exceptions[type(exc).__name__] += 1
                    continue
                elapsed = time.perf_counter() - started
                statuses[str(response.status_code)] += 1
                if response.status_code == 200:
                    latencies.append(elapsed)

    ready = asyncio.Event()
    await asyncio.gather(*(customer(index, requests) for index, requests in enumerate(per_customer)))
    elapsed = time.perf_counter() - clock[0]
    if on_end:
        on_end()
    total = sum(len(requests) for requests in per_customer)
    ok = statuses.get("200", 0)
    return {
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "status_counts": dict(statuses),
        "exceptions": dict(exceptions),
        "elapsed_s": round(elapsed, 3),
        "throughput_rps": round(ok / elapsed, 1) if elapsed else None,
        "latency": stats.latency_summary(latencies),
        "warmup_status_counts": dict(warm),
    }


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(base_url: str, server_pid: int, warmup: list[list[Request]], load: list[list[Request]],
            timeout: float, rate: float | None = None) -> dict[str, Any]:
    """Warm-up on the same connections (fills caches), then the measured load with RSS and CPU sampled."""
    pids = process_memory.tree_pids(server_pid)
    me = psutil.Process()
    cpu: dict[str, float] = {}
    rss = process_memory.RssSampler([server_pid])

    def on_start() -> None:
        cpu["client"], cpu["server"] = sum(me.cpu_times()[:2]), cpu_seconds(pids)
        rss.__enter__()

    def on_end() -> None:
        rss.__exit__()
        cpu["client"] = sum(me.cpu_times()[:2]) - cpu["client"]
        cpu["server"] = cpu_seconds(pids) - cpu["server"]

    result = asyncio.run(post_all(base_url, load, timeout, warmup, on_start, on_end, rate))
    result["server_cpu_s"] = round(cpu["server"], 2)
    result["client_cpu_s"] = round(cpu["client"], 2)
    result["server_memory"] = rss.as_dict()
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = resolve(args)
    loop = servers.install_uvloop()
    config["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    servers.raise_fd_limit(config["customers"] * 2 + 256)
    with environment.environment(keep=args.keep) as env:
        channels = environment.provision(env, config["tenants"])
        report.log(f"building {config['requests'] + config['warmup']} Uazapi payloads for {config['customers']} "
                   f"customers over {config['tenants']} tenant(s)")
        started = time.perf_counter()
        load = build_requests(channels, config["customers"], config["requests"])
        warmup = build_requests(channels, config["warmup"], config["warmup"], first_customer=50_000_000) \
            if config["warmup"] else []
        build_s = time.perf_counter() - started

        report.log(f"API: {config['api_procs']} uvicorn process(es); {config['requests']} webhooks from "
                   f"{config['customers']} concurrent customers, {_pace(config)}")
        api, api_url = servers.serve(env, "api", "api.app:app_factory", procs=config["api_procs"],
                                    ready_path="/readyz")
        webhook = measure(api_url, api.pid, warmup, load, config["timeout_s"], config["rate"])
        env.stop(api)
        report.log(_line("webhook", webhook))

        bare = None
        if config["bare"]:
            report.log("bare FastAPI endpoint, same load")
            process, bare_url = servers.serve(env, "bare", "bench.bare:app_factory", procs=config["api_procs"])
            bare = measure(bare_url, process.pid, warmup, load, config["timeout_s"], config["rate"])
            env.stop(process)
            report.log(_line("bare", bare))
        machine = report.machine_info(env.database_url, env.redis_url)
        services = {"embedded": env.embedded}

    ratios = {}
    if bare is not None:
        ratios = {
            "throughput_webhook_over_bare": stats.ratio(webhook["throughput_rps"], bare["throughput_rps"]),
            **{f"{p}_webhook_over_bare": stats.ratio(webhook["latency"][f"{p}_ms"], bare["latency"][f"{p}_ms"])
               for p in ("p50", "p95", "p99")},
        }
    result = {
        "benchmark": "webhook",
        "started_at": report.utc_stamp(),
        "config": {**config, "client_loop": loop, "payload_build_s": round(build_s, 2),
                   "payload_bytes": len(load[0][0].body)},
        "machine": machine,
        "services": services,
        "webhook": webhook,
        "bare": bare,
        "ratios": ratios,
    }
    path = report.write_result("webhook", result, args.output)
    print_summary(result)
    print(f"results: {path}")
    return result


def _line(name: str, r: dict[str, Any]) -> str:
    lat = r["latency"]
    errors = {k: v for k, v in (r["status_counts"] | r["exceptions"]).items() if k != "200"} or 0
    return (f"{name}: {r['ok']}/{r['requests']} ok, {r['throughput_rps']} req/s, p50 {lat['p50_ms']} ms, "
            f"p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, errors {errors}, "
            f"peak RSS {r['server_memory']['peak_rss_mb']} MB sampled, "
            f"{r['server_memory']['vmhwm_sum_mb']} MB VmHWM over {len(r['server_memory']['vmhwm_per_process_mb'])} "
            f"process(es)")


def _pace(config: dict[str, Any]) -> str:
    if config.get("rate"):
        return f"open loop at {config['rate']:g} webhooks/s"
    return "closed loop: each posts again when answered"


def print_summary(result: dict[str, Any]) -> None:
    config = result["config"]
    print(f"\n== webhook: {config['requests']} webhooks, {config['customers']} concurrent customers "
          f"({_pace(config)}), {config['api_procs']} API process(es), {config['tenants']} tenant(s)")
    print("   " + _line("webhook", result["webhook"]))
    if result["bare"]:
        print("   " + _line("bare   ", result["bare"]))
        r = result["ratios"]
        print(f"   webhook/bare: throughput x{r['throughput_webhook_over_bare']}, p50 x{r['p50_webhook_over_bare']}, "
              f"p95 x{r['p95_webhook_over_bare']}, p99 x{r['p99_webhook_over_bare']}")
