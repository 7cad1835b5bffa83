"""End to end: a customer's "oi" webhook -> API -> Redis queue -> `niochat worker` -> reply at the WhatsApp sandbox.

Real processes: the API (uvicorn), the WhatsApp sandbox (uvicorn, its own process), 1 then 2 `niochat worker`
processes; rules brain (no model), debounce 0. New customers arrive at a steady rate; each one's webhook is
posted straight to the API (not through the sandbox's /sandbox/inbound, so the sandbox stays out of the send
path). Latency = the sandbox's `sent_at` of the bot's first message to that number minus the moment the
webhook POST started (same machine, same clock; the sandbox stamps milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

import httpx

from bench import customer_messages, environment, process_memory, report, servers, stats

GREETING_MARK = "assistente virtual"
PROVIDER_RETRIES = 3  # as the WhatsApp sandbox retries its webhook posts
RETRY_DELAY_S = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, help="new customers per second (default 50; --quick 20)")
    parser.add_argument("--duration", type=float, help="seconds of arrivals per phase (default 20; --quick 10)")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts to measure, one phase each "
                        "(default: 1 2)")
    parser.add_argument("--api-procs", type=int, default=1, help="uvicorn worker processes of the API (default 1)")
    parser.add_argument("--drain-timeout", type=float, default=60.0,
                        help="seconds to wait after the last arrival for every reply (default 60)")
    parser.add_argument("--api-target", default="api.app:app_factory",
                        help="ASGI app factory uvicorn serves as the API (default api.app:app_factory)")
    parser.add_argument("--output", help="result JSON path (default bench/results/e2e.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir (server and worker logs)")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    config = {
        "rate_per_s": args.rate or (20.0 if args.quick else 50.0),
        "duration_s": args.duration or (10.0 if args.quick else 20.0),
        "workers": args.workers or [1, 2],
        "api_procs": args.api_procs,
        "drain_timeout_s": args.drain_timeout,
        "quick": bool(args.quick),
        "debounce_seconds": 0,
        "brain": "rules (no model configured)",
    }
    if config["rate_per_s"] <= 0 or config["duration_s"] <= 0 or min(config["workers"]) < 1:
        raise SystemExit("--rate, --duration and --workers must be positive")
    return config


def parse_instant(value: str) -> float:
    """Seconds since the epoch of the sandbox's ISO-8601 `...Z` timestamps."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def reply_latencies(posted: dict[str, float], sent: list[dict[str, Any]]) -> tuple[list[float], dict[str, float]]:
    """Per number, the first message the bot sent there minus when that number's webhook POST started."""
    first: dict[str, float] = {}
    for message in sent:
        number = message["number"]
        if number in posted:
            at = parse_instant(message["sent_at"])
            first[number] = min(at, first.get(number, at))
    return [first[number] - posted[number] for number in posted if number in first], first


async def _paced_posts(api_url: str, channel: environment.Channel, phones: list[str], rate: float,
                       timeout: float = 30) -> tuple[dict[str, float], list[float], Counter[str]]:
    """POST one "oi" per phone at `rate` per second (scheduled on an absolute clock, so no drift)."""
    bodies = [json.dumps(customer_messages.uazapi_inbound_payload(channel.instance, channel.token, phone,
                                                                  "oi")).encode()
              for phone in phones]
    posted: dict[str, float] = {}
    acks: list[float] = []
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=api_url, limits=limits, timeout=timeout) as client:

        async def one(phone: str, body: bytes) -> None:
            posted[phone] = time.time()
            started = time.perf_counter()
            for attempt in range(1 + PROVIDER_RETRIES):  # like the providers: 5xx and network errors are retried
                if attempt:
                    statuses["retries"] += 1
                    await asyncio.sleep(RETRY_DELAY_S)
                try:
                    response = await client.post(channel.webhook_path(), content=body,
                                                 headers={"content-type": "application/json"})
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                statuses[str(response.status_code)] += 1
                if response.status_code == 200:
                    acks.append(time.perf_counter() - started)
                if response.status_code < 500:
                    return

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        tasks = []
        for i, (phone, body) in enumerate(zip(phones, bodies, strict=True)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(phone, body)))
        await asyncio.gather(*tasks)
    return posted, acks, statuses


def _sent_messages(sandbox_url: str, instance: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{sandbox_url}/sandbox/messages", params={"instance": instance}, timeout=30)
    response.raise_for_status()
    return response.json()


def _wait_replies(sandbox_url: str, instance: str, numbers: set[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        sent = _sent_messages(sandbox_url, instance)
        answered = {message["number"] for message in sent} & numbers
        if len(answered) >= len(numbers) or time.monotonic() > deadline:
            return sent
        time.sleep(0.25)


def run_phase(env: environment.Environment, api_url: str, sandbox_url: str, channel: environment.Channel, workers: int,
              config: dict[str, Any], first_customer: int) -> dict[str, Any]:
    httpx.post(f"{sandbox_url}/sandbox/reset", timeout=10).raise_for_status()
    processes = [env.spawn(f"worker-{workers}-{n}", [sys.executable, "-m", "niochat", "worker"], env.env())
                 for n in range(workers)]
    try:
        # warm-up: every worker connected and the code paths loaded before the clock starts
        warm = [customer_messages.customer_phone(first_customer + n, area=21) for n in range(2 * workers)]
        asyncio.run(_paced_posts(api_url, channel, warm, rate=10))
        sent = _wait_replies(sandbox_url, channel.instance, set(warm), 60)
        if not {m["number"] for m in sent} >= set(warm):
            tails = "\n".join(env.log_tail(p) for p in processes)
            raise RuntimeError(f"warm-up got no reply within 60 s; worker logs:\n{tails}")

        count = max(1, round(config["rate_per_s"] * config["duration_s"]))
        phones = [customer_messages.customer_phone(first_customer + 1000 + n, area=31) for n in range(count)]
        report.log(f"{workers} worker(s): {count} customers at {config['rate_per_s']}/s")
        with process_memory.RssSampler([p.pid for p in processes]) as rss:
            posted, acks, statuses = asyncio.run(_paced_posts(api_url, channel, phones, config["rate_per_s"]))
            last_post = time.time()
            sent = _wait_replies(sandbox_url, channel.instance, set(phones), config["drain_timeout_s"])
        drained_s = time.time() - last_post
    finally:
        for process in processes:
            env.stop(process)
    latencies, first = reply_latencies(posted, sent)
    replies = sum(1 for m in sent if m["number"] in posted)
    greeted = sum(1 for m in sent if m["number"] in posted and GREETING_MARK in m["text"])
    window = (max(first.values()) - min(posted.values())) if first else None
    return {
        "workers": workers,
        "customers": len(phones),
        "offered_rate_per_s": config["rate_per_s"],
        "webhook_status_counts": dict(statuses),
        "answered": len(first),
        "unanswered": len(phones) - len(first),
        "bot_messages": replies,
        "greetings": greeted,
        "throughput_answers_per_s": round(len(first) / window, 2) if window else None,
        "drain_after_last_post_s": round(drained_s, 2),
        "reply_latency": stats.latency_summary(latencies),
        "webhook_ack_latency": stats.latency_summary(acks),
        "worker_memory": rss.as_dict(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = resolve(args)
    config["client_loop"] = servers.install_uvloop()
    config["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with environment.environment(keep=args.keep) as env:
        sandbox, sandbox_url = servers.serve(env, "sandbox", "sandbox.whatsapp:create_app")
        channel = environment.provision(env, 1, sandbox_url=sandbox_url)[0]
        api, api_url = servers.serve(env, "api", args.api_target, procs=config["api_procs"],
                                    ready_path="/readyz")
        environment.connect_sandbox(env, [channel], sandbox_url, api_url)
        phases = []
        with process_memory.RssSampler([api.pid]) as api_rss:
            for n, workers in enumerate(config["workers"]):
                phase = run_phase(env, api_url, sandbox_url, channel, workers, config, first_customer=n * 100_000)
                report.log(_line(phase))
                phases.append(phase)
        machine = report.machine_info(env.database_url, env.redis_url)
        services = {"embedded": env.embedded}
    base = phases[0]
    ratios = {}
    for phase in phases[1:]:
        key = f"{phase['workers']}_over_{base['workers']}_workers"
        ratios[key] = {
            "throughput": stats.ratio(phase["throughput_answers_per_s"], base["throughput_answers_per_s"]),
            **{p: stats.ratio(phase["reply_latency"][f"{p}_ms"], base["reply_latency"][f"{p}_ms"])
               for p in ("p50", "p95", "p99")},
        }
    result = {
        "benchmark": "e2e",
        "started_at": report.utc_stamp(),
        "config": config,
        "machine": machine,
        "services": services,
        "phases": phases,
        "api_memory": api_rss.as_dict(),
        "ratios": ratios,
        "ok": all(phase["unanswered"] == 0 for phase in phases),
    }
    path = report.write_result("e2e", result, args.output)
    print_summary(result)
    print(f"results: {path}")
    return result


def _line(phase: dict[str, Any]) -> str:
    lat = phase["reply_latency"]
    return (f"{phase['workers']} worker(s): {phase['answered']}/{phase['customers']} answered, "
            f"{phase['throughput_answers_per_s']} answers/s, reply p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, "
            f"p99 {lat['p99_ms']} ms; webhook ack p50 {phase['webhook_ack_latency']['p50_ms']} ms; "
            f"workers peak RSS {phase['worker_memory']['peak_rss_mb']} MB sampled, VmHWM per worker "
            f"{_per_process(phase['worker_memory'])}")


def _per_process(memory: dict[str, Any]) -> str:
    return " + ".join(f"{mb} MB" for mb in memory["vmhwm_per_process_mb"].values()) or "n/a"


def print_summary(result: dict[str, Any]) -> None:
    config = result["config"]
    print(f"\n== e2e: {config['rate_per_s']} customers/s for {config['duration_s']} s, debounce 0, rules brain")
    for phase in result["phases"]:
        print("   " + _line(phase))
    for key, values in result["ratios"].items():
        print(f"   {key}: throughput x{values['throughput']}, p50 x{values['p50']}, p95 x{values['p95']}, "
              f"p99 x{values['p99']}")
    print(f"   API peak RSS {result['api_memory']['peak_rss_mb']} MB sampled, VmHWM "
          f"{_per_process(result['api_memory'])}")
