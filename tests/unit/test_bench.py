"""The benchmarks' pure parts, and one tiny real run of `python -m bench webhook`. Never a timing assertion."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import (
    customer_messages,
    dash,
    e2e,
    environment,
    export,
    process_memory,
    stats,
    sync_copy,
    webhook,
    workspace,
)
from bench.__main__ import _parser
from tests.support.basics import ROOT

ROOT = ROOT


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
    assert stats.percentile(values, q) == pytest.approx(expected)


def test_percentile_edges():
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_latency_summary_is_in_milliseconds():
    summary = stats.latency_summary([0.001, 0.002, 0.003, 0.004])
    assert summary["count"] == 4
    assert summary["p50_ms"] == pytest.approx(2.5)
    assert summary["max_ms"] == pytest.approx(4.0)
    assert summary["mean_ms"] == pytest.approx(2.5)
    assert stats.latency_summary([])["p99_ms"] is None


def test_ratio():
    assert stats.ratio(50, 200) == 0.25
    assert stats.ratio(None, 2) is None
    assert stats.ratio(1, 0) is None


def test_customer_phones_are_distinct_brazilian_mobiles():
    phones = {customer_messages.customer_phone(n) for n in range(1000)}
    assert len(phones) == 1000
    assert all(len(p) == 13 and p.startswith("55119") for p in phones)
    with pytest.raises(ValueError):
        customer_messages.customer_phone(100_000_000)


def test_payload_is_a_uazapi_inbound_the_api_parses():
    from api.webhooks import uazapi
    from api.webhooks.events import InboundMessage

    payload = customer_messages.uazapi_inbound_payload("inst-1", "tok-1", "5511900000001", "oi")
    assert payload["EventType"] == "messages" and payload["token"] == "tok-1"
    assert payload["message"]["fromMe"] is False and payload["message"]["text"] == "oi"
    parsed = uazapi.parse(json.loads(json.dumps(payload)))
    assert parsed.token == "tok-1"
    (event,) = parsed.events
    assert isinstance(event, InboundMessage) and event.phone == "5511900000001" and event.text == "oi"


def test_build_requests_spreads_customers_tenants_and_message_ids():
    channels = [environment.Channel(f"t{n}", n, f"inst-{n}", f"tok-{n}", f"key-{n}") for n in range(2)]
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
    assert full["rate"] is None and webhook.resolve(parser.parse_args(["webhook", "--rate", "200"]))["rate"] == 200
    with pytest.raises(SystemExit):
        webhook.resolve(parser.parse_args(["webhook", "--rate", "0"]))


def test_open_loop_schedule_spreads_customers_evenly_at_the_rate():
    customers, rate = 4, 2.0
    due = sorted(webhook.scheduled_at(c, n, customers, rate) for c in range(customers) for n in range(3))
    assert due == [k / rate for k in range(12)]  # one every 0.5 s, none twice
    assert webhook.scheduled_at(1, 1, customers, rate) - webhook.scheduled_at(1, 0, customers, rate) == 2.0


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
    assert "webhook" in out and "e2e" in out and "dash" in out and "all" in out
    assert "sync-copy" in out and "export" in out and "workspace" in out


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
        assert run["server_memory"]["vmhwm_max_mb"] > 0 and run["server_memory"]["vmhwm_per_process_mb"]
    assert set(result["ratios"]) == {"throughput_webhook_over_bare", "p50_webhook_over_bare",
                                     "p95_webhook_over_bare", "p99_webhook_over_bare"}


def test_dash_defaults_and_quick():
    parser = _parser()
    full = dash.resolve(parser.parse_args(["dash"]))
    assert (full["conversations"], full["tenants"], full["rounds"]) == (100_000, 50, 30)
    quick = dash.resolve(parser.parse_args(["dash", "--quick", "--rounds", "3"]))
    assert (quick["conversations"], quick["tenants"], quick["rounds"]) == (2_000, 5, 3)


def test_dash_payloads_are_what_the_browser_posts():
    from dash import dcc, html

    assert dash.outputs_of("a.figure") == [{"id": "a", "property": "figure"}]
    assert dash.outputs_of("..a.figure...b.children..") == [{"id": "a", "property": "figure"},
                                                            {"id": "b", "property": "children"}]
    tree = html.Div([html.H2("x"), dcc.Loading(dcc.Graph(id="g")), html.Div(id="t", children=[html.Span(id="s")])])
    assert dash.component_ids(tree) == {"g", "t", "s"}
    spec = {"inputs": [{"id": "periodo", "property": "data"}, {"id": "b", "property": "n_clicks"}],
            "state": [{"id": "periodo", "property": "data"}]}
    body = dash.payload("..a.figure...b.children..", spec, {"start": "2026-01-01", "end": "2026-01-31"})
    assert body["outputs"] == dash.outputs_of("..a.figure...b.children..")
    assert [item["value"] for item in body["inputs"]] == [{"start": "2026-01-01", "end": "2026-01-31"}, 1]
    assert body["changedPropIds"] == ["periodo.data", "b.n_clicks"]
    assert dash.payload("a.figure", spec, dash.PERIOD)["outputs"] == {"id": "a", "property": "figure"}


def test_tiny_dash_run_writes_the_expected_json(tmp_path):
    output = tmp_path / "dash.json"
    subprocess.run(
        [sys.executable, "-m", "bench", "dash", "--quick", "--conversations", "60", "--tenants", "2", "--rounds", "2",
         "--output", str(output)],
        cwd=ROOT, check=True, timeout=300, capture_output=True,
    )
    result = json.loads(output.read_text())
    assert set(result) >= {"benchmark", "config", "machine", "data", "phases", "ratios", "ok", "empty_answers"}
    assert result["ok"] and result["data"]["mart_rows"]["fct_conversations"] == 60
    assert result["data"]["mart_rows"]["agg_tenant_daily_intents"] > 0
    for phase in ("uncached", "cached"):
        callbacks = result["phases"][phase]["callbacks"]
        pages = {entry["page"] for entry in callbacks.values()}
        assert {"Visão geral", "IA & SGP", "Atendentes", "Ao vivo", "shell"} <= pages
        assert any("ai-intents-graph" in output for output in callbacks)
        for entry in callbacks.values():
            assert entry["latency"]["count"] == 2 and set(entry["status_counts"]) <= {"200", "204"}
        assert set(result["phases"][phase]["pages"]) >= {"Visão geral", "IA & SGP"}
        assert result["phases"][phase]["bare"]["count"] == 2
        assert set(result["ratios"]["over_bare"][phase]) == set(callbacks)
    assert set(result["ratios"]["uncached_over_cached_page_p50"]) == set(result["phases"]["uncached"]["pages"])


def test_vm_hwm_is_read_from_proc_status():
    status = "Name:\tpython\nVmPeak:\t  300000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n"
    assert process_memory.parse_vm_hwm(status) == 123456 * 1024
    assert process_memory.parse_vm_hwm("Name:\tkthreadd\n") is None  # kernel threads have no VmHWM
    with pytest.raises(ValueError):
        process_memory.parse_vm_hwm("VmHWM:\t 1 MB\n")
    assert process_memory.vm_hwm_bytes(os.getpid()) > 0
    assert process_memory.vm_hwm_bytes(2**22 + 1) is None  # no such process


def test_high_water_summary_sums_and_labels_per_process():
    summary = process_memory.high_water_summary({10: 100 * 2**20, 11: 50 * 2**20}, {10: "10 uvicorn"})
    assert summary == {"vmhwm_max_mb": 100.0, "vmhwm_sum_mb": 150.0,
                       "vmhwm_per_process_mb": {"10 uvicorn": 100.0, "11": 50.0}}
    assert process_memory.high_water_summary({})["vmhwm_max_mb"] == 0


def test_sync_copy_and_export_defaults_and_quick():
    parser = _parser()
    full = sync_copy.resolve(parser.parse_args(["sync-copy"]))
    assert (full["conversations"], full["tenants"], full["repeat"]) == (100_000, 50, 3)
    quick = sync_copy.resolve(parser.parse_args(["sync-copy", "--quick"]))
    assert (quick["conversations"], quick["tenants"], quick["repeat"]) == (2_000, 5, 1)
    full = export.resolve(parser.parse_args(["export"]))
    assert (full["conversations"], full["tenants"], full["exported_tenants"]) == (100_000, 50, 50)
    capped = export.resolve(parser.parse_args(["export", "--quick", "--max-tenants", "9"]))
    assert (capped["conversations"], capped["tenants"], capped["exported_tenants"]) == (2_000, 5, 5)


def test_export_summary_maths():
    per_tenant = [{"rows": 100, "seconds": 1.0, "rows_per_second": 100, "export_over_copy": 4.0},
                  {"rows": 300, "seconds": 3.0, "rows_per_second": 100, "export_over_copy": 6.0}]
    summary = export.summarize(per_tenant)
    assert (summary["rows"], summary["total_seconds"], summary["rows_per_second_overall"]) == (400, 4.0, 100)
    assert (summary["seconds_p50"], summary["seconds_max"], summary["export_over_copy_p50"]) == (2.0, 3.0, 5.0)
    assert sync_copy.rows_per_second(1000, 0.5) == 2000 and sync_copy.rows_per_second(10, 0) is None


def test_tiny_sync_copy_and_export_runs_write_the_expected_json(tmp_path):
    for name, extra in (("sync-copy", []), ("export", ["--max-tenants", "2"])):
        output = tmp_path / f"{name}.json"
        subprocess.run([sys.executable, "-m", "bench", name, "--quick", "--conversations", "60", "--tenants", "3",
                        *extra, "--output", str(output)], cwd=ROOT, check=True, timeout=300, capture_output=True)
        result = json.loads(output.read_text())
        assert result["ok"] and set(result) >= {"benchmark", "config", "machine", "ratios"}, result
        assert all(value is not None and value > 0 for value in result["ratios"].values()), result["ratios"]
    synced = json.loads((tmp_path / "sync-copy.json").read_text())
    assert synced["full"]["sync"]["rows"] == synced["full"]["copy"]["rows"] > 600  # 60 conversations x 10 messages
    assert 0 < synced["incremental"]["copy"]["rows"] < synced["full"]["copy"]["rows"]
    exported = json.loads((tmp_path / "export.json").read_text())
    assert [tenant["tenant"] for tenant in exported["per_tenant"]] == ["bench-1", "bench-2"]
    assert all(tenant["rows_per_table"]["fct_conversations"] == 20 for tenant in exported["per_tenant"])


def test_workspace_defaults_and_quick():
    parser = _parser()
    full = workspace.resolve(parser.parse_args(["workspace"]))
    assert (full["conversations"], full["closed"], full["messages"], full["customers"]) == (10_000, 20_000,
                                                                                           1_000_000, 100)
    quick = workspace.resolve(parser.parse_args(["workspace", "--quick", "--closed", "0", "--rounds", "2"]))
    assert (quick["conversations"], quick["closed"], quick["messages"], quick["rounds"]) == (300, 0, 20_000, 2)
    with pytest.raises(SystemExit):
        workspace.resolve(parser.parse_args(["workspace", "--agents", "2"]))  # fewer agents than teams


def test_workspace_search_mix_has_every_kind_of_query():
    queries = workspace.search_queries({"phone": "2190000", "protocol": "202600000003", "document": "037.091"})
    kinds = set(queries.values())
    assert {"words", "accented", "unaccented", "typo", "phrase", "name", "phone digits", "protocol"} <= kinds
    assert queries["202600000003"] == "protocol"


def test_tiny_workspace_run_writes_the_expected_json(tmp_path):
    output = tmp_path / "workspace.json"
    subprocess.run(
        [sys.executable, "-m", "bench", "workspace", "--quick", "--conversations", "120", "--closed", "20",
         "--messages", "600", "--agents", "4", "--rounds", "1", "--search-rounds", "1", "--customers", "2",
         "--output", str(output)],
        cwd=ROOT, check=True, timeout=300, capture_output=True,
    )
    result = json.loads(output.read_text())
    assert result["ok"] and set(result) >= {"benchmark", "config", "machine", "data", "baselines", "inbox", "search",
                                            "webhook_to_screen", "ratios", "met"}
    assert result["data"]["active_conversations"] == 120 and result["data"]["messages"] >= 600
    assert set(result["baselines"]) == {"healthz", "auth_me", "select_1", "live_publish_to_frame"}
    assert {"agente:aguardando", "agente:minhas", "supervisora:todas"} <= set(result["inbox"])
    assert result["inbox"]["supervisora:todas"]["shape"]["total_todas"] == 120
    assert set(result["search"]) == {"agente", "supervisora"}
    assert result["search"]["supervisora"]["queries"]["boleto"]["total"] > 0
    live = result["webhook_to_screen"]
    assert live["customers"] == 2 and live["webhook_status_counts"] == {"200": 2}
    assert live["screen_latency"]["count"] == 2
    assert set(live["event_latency"]) == {"agente", "supervisora"}
    assert all(value is not None for value in result["ratios"]["screen_over_healthz"].values())
