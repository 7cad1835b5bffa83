"""DuckDB export per tenant (ingest/export.py, what `niochat export` runs) on the pipeline benchmark's data.

bench/pipeline.py's generator (default 100k conversations, 1M messages, 50 tenants; --quick 2k, 5 tenants) in a
fresh operational database, a full sync and dbt (seeds, models) into a fresh warehouse, then every tenant (or
--max-tenants of them) is exported one after another to its own .duckdb file. The floor beside each export: the
same rows read with a plain `COPY (select ... where tenant_id = ...) TO STDOUT` and thrown away, i.e. what
leaving PostgreSQL costs before DuckDB does anything. Prints per-tenant seconds, rows/s and export/COPY ratios;
writes bench/results/export.json.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import datasets, environment, pipeline, report, stats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    datasets.add_dataset_arguments(parser)
    parser.add_argument("--max-tenants", type=int, help="export only the first N tenants (default: all)")
    parser.add_argument("--pg-url", help="PostgreSQL server URL (default: an embedded pgserver in a temp dir)")
    parser.add_argument("--output", help="result JSON path (default bench/results/export.json)")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    config = {
        **datasets.dataset_config(args),
    }
    config["exported_tenants"] = min(args.max_tenants or config["tenants"], config["tenants"])
    if min(config["conversations"], config["tenants"], config["exported_tenants"]) < 1:
        raise SystemExit("--conversations, --tenants and --max-tenants must be positive")
    return config


def copy_out_seconds(warehouse_url: str, tenant_id: Any) -> tuple[float, int]:
    """Seconds to read the tenant's rows of every exported mart with a plain COPY TO STDOUT, and the rows."""
    from ingest.export import MARTS_SCHEMA, TABLES
    from niochat.database import libpq_url

    rows = 0
    started = time.perf_counter()
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        for table in TABLES:
            query = sql.SQL("copy (select * from {} where tenant_id = {}) to stdout (format csv)").format(
                sql.Identifier(MARTS_SCHEMA, table), sql.Literal(str(tenant_id)))
            with conn.cursor() as cur:
                with cur.copy(query) as copy:
                    for _block in copy:
                        pass
                rows += cur.rowcount  # from the server's "COPY n"
    return time.perf_counter() - started, rows


def summarize(per_tenant: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [tenant["seconds"] for tenant in per_tenant]
    rates = [tenant["rows_per_second"] for tenant in per_tenant if tenant["rows_per_second"]]
    ratios = [tenant["export_over_copy"] for tenant in per_tenant if tenant["export_over_copy"]]
    rows = sum(tenant["rows"] for tenant in per_tenant)
    total = sum(seconds)
    return {
        "tenants": len(per_tenant),
        "rows": rows,
        "total_seconds": round(total, 3),
        "rows_per_second_overall": round(rows / total) if total else None,
        "seconds_p50": round(stats.percentile(seconds, 50), 3) if seconds else None,
        "seconds_max": round(max(seconds), 3) if seconds else None,
        "rows_per_second_p50": round(stats.percentile(rates, 50)) if rates else None,
        "export_over_copy_p50": round(stats.percentile(ratios, 50), 2) if ratios else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from ingest.dbt_command import BUILD_WITHOUT_TESTS, run_dbt
    from ingest.export import export_tenant
    from ingest.sync import sync

    config = resolve(args)
    config["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with environment.postgres_databases(args.pg_url, "op", "wh") as (database_url, warehouse_url), \
            tempfile.TemporaryDirectory(prefix="niochat-bench-export-") as out_dir:
        report.log(f"generating {config['conversations']:,} conversations, {config['tenants']} tenants; sync; dbt run")
        generate_s = pipeline.populate(database_url, config["conversations"], config["tenants"],
                                       config["messages_per_conversation"])
        sync(database_url, warehouse_url, full=True)
        built = run_dbt(warehouse_url, *BUILD_WITHOUT_TESTS)
        if built.returncode != 0:
            raise RuntimeError(f"dbt seed and run failed:\n{built.stdout[-3000:]}")
        per_tenant = []
        for n in range(1, config["exported_tenants"] + 1):
            slug = f"bench-{n}"
            result = export_tenant(warehouse_url, slug, Path(out_dir) / f"{slug}.duckdb")
            floor_s, floor_rows = copy_out_seconds(warehouse_url, result.tenant_id)
            rows = sum(result.rows.values())
            per_tenant.append({
                "tenant": slug, "rows": rows, "seconds": round(result.seconds, 3),
                "rows_per_second": round(rows / result.seconds) if result.seconds else None,
                "file_mb": round(result.path.stat().st_size / 2**20, 2),
                "copy_out_seconds": round(floor_s, 3), "copy_out_rows": floor_rows,
                "export_over_copy": stats.ratio(result.seconds, floor_s, 2),
                "rows_per_table": result.rows,
            })
            report.log(f"{slug}: {rows:,} rows in {result.seconds:.2f} s (plain COPY out {floor_s:.2f} s)")
        machine = report.machine_info(database_url)
    summary = summarize(per_tenant)
    result = {
        "benchmark": "export",
        "started_at": report.utc_stamp(),
        "config": {**config, "generate_seconds": round(generate_s, 2)},
        "machine": machine,
        "per_tenant": per_tenant,
        "summary": summary,
        "ratios": {"export_over_plain_copy_out_p50": summary["export_over_copy_p50"]},
        "ok": all(tenant["rows"] == tenant["copy_out_rows"] for tenant in per_tenant),
    }
    path = report.write_result("export", result, args.output)
    print_summary(result)
    print(f"results: {path}")
    return result


def print_summary(result: dict[str, Any]) -> None:
    config, summary = result["config"], result["summary"]
    print(f"\n== DuckDB export: {summary['tenants']} of {config['tenants']} tenants, "
          f"{config['conversations']:,} conversations in all")
    for tenant in result["per_tenant"][:10]:
        print(f"   {tenant['tenant']:<10} {tenant['rows']:>9,} rows {tenant['seconds']:>7.2f} s "
              f"{tenant['rows_per_second'] or 0:>9,} rows/s  {tenant['file_mb']:>6} MB  "
              f"export/COPY x{tenant['export_over_copy']}")
    if len(result["per_tenant"]) > 10:
        print(f"   ... {len(result['per_tenant']) - 10} more in the JSON")
    print(f"   all: {summary['rows']:,} rows in {summary['total_seconds']} s ({summary['rows_per_second_overall']:,} "
          f"rows/s); per tenant p50 {summary['seconds_p50']} s, max {summary['seconds_max']} s; "
          f"export/plain COPY out p50 x{summary['export_over_copy_p50']}")
    if not result["ok"]:
        print("   WARNING: an export's row count differs from the plain COPY's")
