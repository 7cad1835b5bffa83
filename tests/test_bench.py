"""The benchmarks' pure parts, and one tiny real run of `python -m bench webhook`. Never a timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import common, e2e, webhook
from bench.__main__ import _parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0], 50, 1.5),
        ([3.0, 1.0, 2.0], 50, 2.0),
        (list(range(1, 101)), 0, 1.0),
        (list(range(1, 101)), 100, 100.0),
        (list(range(1, 101)), 95, 95.05),
        (list(range(1, 101)), 99, 99.01),
        ([10.0, 20.0, 30.0, 40.0], 25, 17.5),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, q, expected):
    assert common.percentile(values, q) == pytest.approx(expected)


def test_percentile_edges():
    assert common.percentile([], 50) is None
    with pytest.raises(ValueError):
        common.percentile([1.0], 101)


def test_latency_summary_is_in_milliseconds():
    summary = common.latency_summary([0.001, 0.002, 0.003, 0.004])
    assert summary["count"] == 4
    assert summary["p50_ms"] == pytest.approx(2.5)
    assert summary["max_ms"] == pytest.approx(4.0)
    assert summary["mean_ms"] == pytest.approx(2.5)
    assert common.latency_summary([])["p99_ms"] is None


def test_ratio():
    assert common.ratio(50, 200) == 0.25
    assert common.ratio(None, 2) is None
    assert common.ratio(1, 0) is None


def test_customer_phones_are_distinct_brazilian_mobiles():
    phones = {common.customer_phone(n) for n in range(1000)}
    assert len(phones) == 1000
    assert all(len(p) == 13 and p.startswith("55119") for p in phones)
    with pytest.raises(ValueError):
        common.customer_phone(100_000_000)


def test_payload_is_a_uazapi_inbound_the_api_parses():
    from api.webhooks import uazapi
    from api.webhooks.events import InboundMessage

    payload = common.uazapi_inbound_payload("inst-1", "tok-1", "5511900000001", "oi")
    assert payload["EventType"] == "messages" and payload["token"] == "tok-1"
    assert payload["message"]["fromMe"] is False and payload["message"]["text"] == "oi"
    parsed = uazapi.parse(json.loads(json.dumps(payload)))
    assert parsed.token == "tok-1"
    (event,) = parsed.events
    assert isinstance(event, InboundMessage) and event.phone == "5511900000001" and event.text == "oi"


def test_build_requests_spreads_customers_tenants_and_message_ids():
    channels = [common.Channel(f"t{n}", n, f"inst-{n}", f"tok-{n}", f"key-{n}") for n in range(2)]
    per_customer = webhook.build_requests(channels, customers=3, requests=7)
    assert [len(r) for r in per_customer] == [3, 2, 2]
    ids, phones_by_customer = set(), []
    for requests in per_customer:
        bodies = [json.loads(r.body) for r in requests]
        ids |= {b["message"]["messageid"] for b in bodies}
        phones_by_customer.append({b["chat"]["wa_chatid"] for b in bodies})
        assert len({r.path for r in requests}) == 1  # one customer writes to one provider
    assert len(ids) == 7
    assert all(len(p) == 1 for p in phones_by_customer)
    assert len(set().union(*phones_by_customer)) == 3
    assert per_customer[0][0].path == "/webhooks/uazapi/key-0" and per_customer[1][0].path == "/webhooks/uazapi/key-1"


def test_webhook_defaults_and_quick():
    parser = _parser()
    full = webhook.resolve(parser.parse_args(["webhook"]))
    assert (full["customers"], full["requests"], full["api_procs"]) == (1000, 20000, 1)
    assert full["tenants"] * webhook.TENANT_BUDGET >= full["requests"] + full["warmup"]
    quick = webhook.resolve(parser.parse_args(["webhook", "--quick"]))
    assert (quick["customers"], quick["requests"]) == (200, 2000)


def test_e2e_defaults_and_quick():
    parser = _parser()
    full = e2e.resolve(parser.parse_args(["e2e"]))
    assert (full["rate_per_s"], full["duration_s"], full["workers"]) == (50.0, 20.0, [1, 2])
    quick = e2e.resolve(parser.parse_args(["e2e", "--quick", "--workers", "1", "3"]))
    assert (quick["rate_per_s"], quick["duration_s"], quick["workers"]) == (20.0, 10.0, [1, 3])


def test_reply_latencies_use_the_first_bot_message_per_number():
    posted = {"5511900000001": 1000.0, "5511900000002": 1000.5, "5511900000003": 1001.0}
    sent = [
        {"number": "5511900000001", "sent_at": "1970-01-01T00:16:40.250Z"},  # 1000.25
        {"number": "5511900000001", "sent_at": "1970-01-01T00:16:41.000Z"},  # a second message: ignored
        {"number": "5511900000002", "sent_at": "1970-01-01T00:16:41.000Z"},  # 1001.0
        {"number": "5599999999999", "sent_at": "1970-01-01T00:16:41.000Z"},  # someone else
    ]
    latencies, first = e2e.reply_latencies(posted, sent)
    assert sorted(latencies) == pytest.approx([0.25, 0.5])
    assert set(first) == {"5511900000001", "5511900000002"}


def test_help_lists_every_benchmark():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "webhook" in out and "e2e" in out and "all" in out


def test_tiny_webhook_run_writes_the_expected_json(tmp_path):
    output = tmp_path / "webhook.json"
    subprocess.run(
        [sys.executable, "-m", "bench", "webhook", "--quick", "--customers", "5", "--requests", "20",
         "--output", str(output)],
        cwd=ROOT, check=True, timeout=180, capture_output=True,
    )
    result = json.loads(output.read_text())
    assert set(result) >= {"benchmark", "config", "machine", "webhook", "bare", "ratios"}
    assert result["config"]["customers"] == 5 and result["config"]["requests"] == 20
    assert set(result["machine"]) >= {"cpu_count_logical", "memory_total_mb", "python", "postgres", "redis"}
    for target in ("webhook", "bare"):
        run = result[target]
        assert run["requests"] == 20 and run["ok"] == 20 and run["errors"] == 0, run
        assert run["status_counts"] == {"200": 20} and run["exceptions"] == {}
        assert set(run["latency"]) == {"count", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"}
        assert run["latency"]["count"] == 20
        assert run["server_memory"]["peak_rss_mb"] > 0
    assert set(result["ratios"]) == {"throughput_webhook_over_bare", "p50_webhook_over_bare",
                                     "p95_webhook_over_bare", "p99_webhook_over_bare"}
