"""The incremental sync (ingest/sync.py) against a plain `COPY` of the same rows into the same warehouse database.

Data: bench/pipeline.py's generator (default 100k conversations, 1M messages, 50 tenants; --quick 2k, 5 tenants)
in a fresh operational database; the warehouse is a fresh database on the same server (embedded pgserver unless
--pg-url). Two comparisons, each reading the same rows from the same snapshot role (`niochat_ingest`):

- full: `sync(full=True)` (binary COPY into `raw.*` + watermarks + ANALYZE, documents masked on the way) against a
  binary COPY of every table's synced columns, unmasked, into plain tables (no key, no index) of a `copy_bench`
  schema in the warehouse; best of --repeat runs of each, alternated so caches favour neither;
- incremental: after 1% new conversations, `sync()` (COPY of the rows changed since the watermark minus the
  overlap into a temporary stage, then an upsert) against a plain COPY of exactly those rows.

Beside them, the same full COPY reading with the sync's own query (documents masked) splits the gap into the
masking and the rest. rows/s = rows read from the source / wall seconds. Prints sync/COPY ratios; writes
bench/results/sync_copy.json.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import psycopg
from psycopg import IsolationLevel, sql

from bench import datasets, environment, pipeline, report, stats

SCHEMA = "copy_bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    datasets.add_dataset_arguments(parser)
    parser.add_argument("--repeat", type=int, help="full runs of each, best kept (default 3; --quick 1)")
    parser.add_argument("--pg-url", help="PostgreSQL server URL (default: an embedded pgserver in a temp dir)")
    parser.add_argument("--output", help="result JSON path (default bench/results/sync_copy.json)")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    config = {
        **datasets.dataset_config(args),
        "repeat": args.repeat or (1 if args.quick else 3),
    }
    if min(config["conversations"], config["tenants"], config["repeat"], config["messages_per_conversation"]) < 1:
        raise SystemExit("--conversations, --tenants, --repeat and --messages-per-conversation must be positive")
    return config


def rows_per_second(rows: int, seconds: float) -> float | None:
    return round(rows / seconds) if seconds > 0 else None


def _source(database_url: str) -> psycopg.Connection:
    """A read-only repeatable-read snapshot as the ingest role: what sync reads with."""
    from niochat.database import INGEST_ROLE, libpq_url

    conn = psycopg.connect(libpq_url(database_url))
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(INGEST_ROLE)))
    return conn


def plain_copy(database_url: str, warehouse_url: str, since: dict[str, Any] | None = None,
               masked: bool = False) -> dict[str, Any]:
    """COPY each synced table's columns (rows changed since `since[table]`, or all) into plain tables; `masked`
    reads with the sync's own query (documents masked in free text), to tell the masking's cost apart."""
    from ingest.sync import source_query
    from ingest.tables import TABLES
    from niochat.database import libpq_url

    per_table: dict[str, int] = {}
    started = time.perf_counter()
    with _source(database_url) as source, psycopg.connect(libpq_url(warehouse_url), autocommit=True) as target:
        target.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
        for table in TABLES:
            columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
            plain = sql.Identifier(SCHEMA, table.name)
            where = sql.SQL("")
            if since is not None and since.get(table.name) is not None:
                where = sql.SQL(" where updated_at >= {}").format(sql.Literal(since[table.name]))
            with target.transaction():
                target.execute(sql.SQL("drop table if exists {}").format(plain))
                target.execute(sql.SQL("create table {} as select {} from {} with no data").format(
                    plain, columns, sql.Identifier("raw", table.name)))
                query = sql.SQL("copy (select {} from {}{}) to stdout (format binary)").format(
                    columns, sql.Identifier("public", table.name), where)
                if masked:
                    query = source_query(table, since.get(table.name) if since else None)
                copy_in = sql.SQL("copy {} ({}) from stdin (format binary)").format(plain, columns)
                with source.cursor() as out_cur, target.cursor() as in_cur:
                    with out_cur.copy(query) as out, in_cur.copy(copy_in) as into:
                        for block in out:
                            into.write(block)
                    per_table[table.name] = in_cur.rowcount
        source.rollback()
    seconds = time.perf_counter() - started
    rows = sum(per_table.values())
    return {"seconds": round(seconds, 3), "rows": rows, "rows_per_second": rows_per_second(rows, seconds),
            "per_table_rows": per_table}


def timed_sync(database_url: str, warehouse_url: str, full: bool) -> dict[str, Any]:
    from ingest.sync import sync

    started = time.perf_counter()
    results = sync(database_url, warehouse_url, full=full)
    seconds = time.perf_counter() - started
    rows = sum(result.rows_read for result in results)
    return {"seconds": round(seconds, 3), "rows": rows, "rows_per_second": rows_per_second(rows, seconds),
            "rows_written": sum(result.rows_written for result in results),
            "per_table_seconds": {result.table: round(result.seconds, 3) for result in results}}


def watermarks_minus_overlap(warehouse_url: str) -> dict[str, Any]:
    """Per table, the `updated_at` from which the next incremental sync reads (its watermark minus the overlap)."""
    from ingest import warehouse
    from ingest.sync import OVERLAP
    from ingest.tables import TABLES
    from niochat.database import libpq_url

    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        marks = {table.name: warehouse.watermark(conn, table) for table in TABLES}
    return {name: mark - OVERLAP if mark is not None else None for name, mark in marks.items()}


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = min(runs, key=lambda run: run["seconds"])
    return {**chosen, "all_seconds": [run["seconds"] for run in runs]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = resolve(args)
    config["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    with environment.postgres_databases(args.pg_url, "op", "wh") as (database_url, warehouse_url):
        report.log(f"generating {config['conversations']:,} conversations x {config['messages_per_conversation']} "
                   f"messages, {config['tenants']} tenants")
        generate_s = pipeline.populate(database_url, config["conversations"], config["tenants"],
                                       config["messages_per_conversation"])
        runs: dict[str, list[dict[str, Any]]] = {"sync": [], "copy": [], "copy_masked": []}
        for attempt in range(config["repeat"]):
            order = ("sync", "copy", "copy_masked")
            for kind in order if attempt % 2 == 0 else order[::-1]:
                if kind == "sync":  # the first one also creates raw.*, whose column types the COPY tables take
                    runs["sync"].append(timed_sync(database_url, warehouse_url, full=True))
                else:
                    if not runs["sync"]:
                        timed_sync(database_url, warehouse_url, full=True)
                    runs[kind].append(plain_copy(database_url, warehouse_url, masked=kind == "copy_masked"))
                report.log(f"full {kind} {attempt + 1}/{config['repeat']}: {runs[kind][-1]['seconds']} s")
        new = max(1, config["conversations"] // 100)
        report.log(f"incremental: {new:,} new conversations (1%)")
        first = config["conversations"]
        pipeline.generate(database_url, first, first + new - 1, config["tenants"], config["messages_per_conversation"])
        since = watermarks_minus_overlap(warehouse_url)
        incremental_copy = plain_copy(database_url, warehouse_url, since)
        incremental_sync = timed_sync(database_url, warehouse_url, full=False)
        machine = report.machine_info(database_url)
    full_sync, full_copy, full_masked = best(runs["sync"]), best(runs["copy"]), best(runs["copy_masked"])
    result = {
        "benchmark": "sync_copy",
        "started_at": report.utc_stamp(),
        "config": {**config, "generate_seconds": round(generate_s, 2)},
        "machine": machine,
        "full": {"sync": full_sync, "copy": full_copy, "copy_masked": full_masked},
        "incremental": {"new_conversations": new, "sync": incremental_sync, "copy": incremental_copy},
        "ratios": {
            "full_sync_over_copy_rows_per_second": stats.ratio(full_sync["rows_per_second"],
                                                                full_copy["rows_per_second"]),
            "incremental_sync_over_copy_rows_per_second": stats.ratio(incremental_sync["rows_per_second"],
                                                                       incremental_copy["rows_per_second"]),
            # how much of the gap is the masking of documents (the same COPY, reading with the sync's query)
            "full_masked_copy_over_copy_rows_per_second": stats.ratio(full_masked["rows_per_second"],
                                                                       full_copy["rows_per_second"]),
            "full_sync_over_masked_copy_rows_per_second": stats.ratio(full_sync["rows_per_second"],
                                                                       full_masked["rows_per_second"]),
        },
        "ok": full_sync["rows"] == full_copy["rows"] == full_masked["rows"]
        and incremental_sync["rows"] == incremental_copy["rows"],
    }
    path = report.write_result("sync_copy", result, args.output)
    print_summary(result)
    print(f"results: {path}")
    return result


def print_summary(result: dict[str, Any]) -> None:
    config = result["config"]
    print(f"\n== sync vs plain COPY: {config['conversations']:,} conversations, {config['tenants']} tenants")
    for phase in ("full", "incremental"):
        sync_run, copy_run = result[phase]["sync"], result[phase]["copy"]
        key = f"{phase}_sync_over_copy_rows_per_second"
        print(f"   {phase:<11}: sync {sync_run['rows']:,} rows in {sync_run['seconds']} s "
              f"({sync_run['rows_per_second']:,} rows/s); COPY {copy_run['rows']:,} rows in {copy_run['seconds']} s "
              f"({copy_run['rows_per_second']:,} rows/s); sync/COPY x{result['ratios'][key]}")
    masked, ratios = result["full"]["copy_masked"], result["ratios"]
    print(f"   full COPY reading with the sync's masking query: {masked['seconds']} s "
          f"({masked['rows_per_second']:,} rows/s): masking x{ratios['full_masked_copy_over_copy_rows_per_second']}, "
          f"the rest of the sync (keys, indexes, ANALYZE, watermarks) x"
          f"{ratios['full_sync_over_masked_copy_rows_per_second']}")
    if not result["ok"]:
        print("   WARNING: sync and COPY did not read the same number of rows")
