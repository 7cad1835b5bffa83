"""Extract-load: operational tables -> warehouse `raw.*`, incremental and idempotent.

- The source is read as `niochat_ingest` (bypasses RLS, read-only) in ONE repeatable-read snapshot for all
  tables, so raw never holds a message whose conversation was created after the conversations were copied.
- Incremental by an `(updated_at, id)` watermark kept in `raw._watermarks`. `updated_at` is set at insert
  (transaction start) and by a trigger with `clock_timestamp()`, and transactions commit out of order: a row can
  become visible with an `updated_at` older than the watermark. Each run therefore re-reads an overlap window
  (`OVERLAP`, 5 minutes) before the watermark; the upsert makes re-reading harmless.
- Rows stream with binary COPY from the source straight into the warehouse (into a temporary stage, then
  `INSERT ... ON CONFLICT DO UPDATE`, touching only rows that really changed).
- One warehouse transaction per table: a crash leaves that table and its watermark as they were.
- One sync at a time (an advisory lock in the warehouse): loads commit in the order of their `_loaded_at`,
  which is what dbt's incremental models rely on.
- Rows deleted at the source leave a tombstone in `deleted_rows` (a trigger, migration 0011): each incremental
  load removes from raw the rows of its table whose tombstone it reads (same overlap window) and that are absent
  from the snapshot (a key deleted and written again stays). A tenant deleted with everything it had leaves no
  tombstones: `full=True` truncates and reloads, which mirrors every delete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import IsolationLevel, sql

from ingest import warehouse
from ingest.masking import masked_json, masked_text
from ingest.tables import TOMBSTONED, RawTable, select
from niochat.database import INGEST_ROLE, libpq_url

OVERLAP = timedelta(minutes=5)
LOCK = "niochat.ingest"
ANALYZE_AFTER = 10_000  # rows written by one load that make the table's planner statistics worth refreshing
_STAGE = "_ingest_stage"
_GONE = "_ingest_gone"


@dataclass(frozen=True)
class TableSync:
    table: str
    full: bool
    rows_read: int  # rows copied from the source (changed since the watermark, overlap included)
    rows_written: int  # rows inserted or changed in raw
    watermark: datetime | None
    seconds: float
    rows_deleted: int = 0  # raw rows removed because their source row was deleted (tombstones)


# Called with (table, None) when a table starts and (table, result) when it is committed.
Progress = Callable[[str, TableSync | None], None]


def source_query(table: RawTable, since: datetime | None) -> sql.Composable:
    """The COPY that reads one table's allowed columns (documents masked) changed since `since`."""
    exprs = []
    for name in table.columns:
        column = sql.Identifier(name)
        if name in table.masked_text:
            exprs.append(sql.SQL("{} as {}").format(masked_text(column), column))
        elif name in table.masked_json:
            exprs.append(sql.SQL("{} as {}").format(masked_json(column), column))
        else:
            exprs.append(column)
    where = sql.SQL("")
    if since is not None:
        where = sql.SQL(" where updated_at >= {}").format(sql.Literal(since))
    return sql.SQL("copy (select {} from {}{}) to stdout (format binary)").format(
        sql.SQL(", ").join(exprs), sql.Identifier("public", table.name), where
    )


def _copy(source: psycopg.Connection, target: psycopg.Connection, query: sql.Composable,
          into: sql.Composable, columns: Iterable[str]) -> int:
    copy_in = sql.SQL("copy {} ({}) from stdin (format binary)").format(
        into, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with source.cursor() as out_cur, target.cursor() as in_cur:
        with out_cur.copy(query) as out, in_cur.copy(copy_in) as into_copy:
            for block in out:
                into_copy.write(block)
        return in_cur.rowcount


def _upsert(conn: psycopg.Connection, table: RawTable) -> int:
    cols = [sql.Identifier(name) for name in table.columns]
    others = [sql.Identifier(name) for name in table.columns if name not in table.key]
    loaded = sql.Identifier(warehouse.LOADED_AT)
    query = sql.SQL("""
        insert into {target} as r ({cols}, {loaded})
        select {cols}, now() from {stage}
        on conflict ({key}) do update set {assignments}, {loaded} = excluded.{loaded}
        where excluded.updated_at >= r.updated_at and ({r_cols}) is distinct from ({x_cols})
    """).format(
        target=sql.Identifier(warehouse.SCHEMA, table.name),
        cols=sql.SQL(", ").join(cols),
        loaded=loaded,
        stage=sql.Identifier(_STAGE),
        key=sql.SQL(", ").join(map(sql.Identifier, table.key)),
        assignments=sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=c) for c in others),
        r_cols=sql.SQL(", ").join(sql.SQL("r.{}").format(c) for c in others),
        x_cols=sql.SQL(", ").join(sql.SQL("excluded.{}").format(c) for c in others),
    )
    return conn.execute(query).rowcount


def _remove_deleted(source: psycopg.Connection, target: psycopg.Connection, table: RawTable,
                    since: datetime) -> int:
    """Delete from raw the rows of `table` whose tombstones changed since `since` and that the source snapshot
    no longer has."""
    gone = sql.Identifier(_GONE)
    target.execute(sql.SQL("create temp table {} (row_id uuid) on commit drop").format(gone))
    query = sql.SQL(
        "copy (select d.row_id from public.deleted_rows d where d.table_name = {name} and d.updated_at >= {since}"
        " and not exists (select 1 from {source} s where s.id = d.row_id)) to stdout (format binary)"
    ).format(name=sql.Literal(table.name), since=sql.Literal(since), source=sql.Identifier("public", table.name))
    if not _copy(source, target, query, gone, ["row_id"]):
        return 0
    return target.execute(sql.SQL("delete from {} r using {} g where r.id = g.row_id").format(
        sql.Identifier(warehouse.SCHEMA, table.name), gone)).rowcount


def _newest(conn: psycopg.Connection, relation: sql.Composable, table: RawTable) -> tuple[datetime | None, str | None]:
    key = sql.SQL(" || ',' || ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in table.key)
    order = sql.SQL(", ").join(sql.SQL("{} desc").format(sql.Identifier(k)) for k in table.key)
    row = conn.execute(
        sql.SQL("select updated_at, {} from {} order by updated_at desc, {} limit 1").format(key, relation, order)
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def sync_table(source: psycopg.Connection, target: psycopg.Connection, table: RawTable, *, full: bool,
               overlap: timedelta = OVERLAP) -> TableSync:
    """Load one table in one warehouse transaction (the source transaction is the caller's snapshot).

    Callers serialize loads (`sync` holds the ingest lock), so each load's `_loaded_at` (its transaction's
    now()) is later than that of every load committed before it.
    """
    started = time.perf_counter()
    raw = sql.Identifier(warehouse.SCHEMA, table.name)
    rows_deleted = 0
    with target.transaction():
        created = warehouse.ensure_table(target, table, warehouse.source_columns(source, table))
        since = None if full or created else warehouse.watermark(target, table)
        if since is None:
            target.execute(sql.SQL("truncate {}").format(raw))
            rows_read = _copy(source, target, source_query(table, None), raw, table.columns)
            rows_written = rows_read
            newest, last_key = _newest(target, raw, table)
            full = True
        else:
            stage = sql.Identifier(_STAGE)
            target.execute(
                sql.SQL("create temp table {} on commit drop as select {} from {} with no data").format(
                    stage, sql.SQL(", ").join(map(sql.Identifier, table.columns)), raw
                )
            )
            rows_read = _copy(source, target, source_query(table, since - overlap), stage, table.columns)
            rows_written = _upsert(target, table)
            newest, last_key = _newest(target, stage, table)
            if table.name in TOMBSTONED:
                rows_deleted = _remove_deleted(source, target, table, since - overlap)
        if full or rows_written + rows_deleted >= ANALYZE_AFTER:
            # fresh statistics, or the next dbt run plans its joins for the table as it was before the load
            target.execute(sql.SQL("analyze {}").format(raw))
        warehouse.save_watermark(target, table, newest, last_key, rows_written, full)
        mark = warehouse.watermark(target, table)
    return TableSync(table.name, full, rows_read, rows_written, mark, time.perf_counter() - started, rows_deleted)


def sync(
    database_url: str,
    warehouse_url: str,
    *,
    tables: list[str] | tuple[str, ...] | None = None,
    full: bool = False,
    overlap: timedelta = OVERLAP,
    progress: Progress | None = None,
) -> list[TableSync]:
    """Bring `raw.*` up to date with the operational database; safe to rerun and to run concurrently."""
    chosen = select(tables)
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as target:
        # One sync at a time, the lock taken before the source snapshot and before any load transaction starts:
        # loads then commit in the order of their `_loaded_at`, so dbt's incremental models, which take the rows
        # loaded after the newest they have seen, can never skip a load that committed late.
        target.execute("select pg_advisory_lock(hashtext(%s))", (LOCK,))
        try:
            with target.transaction():
                warehouse.ensure_schema(target)
            results = _sync_tables(database_url, target, chosen, full, overlap, progress)
        finally:
            target.execute("select pg_advisory_unlock(hashtext(%s))", (LOCK,))
    return results


def _sync_tables(database_url: str, target: psycopg.Connection, chosen: tuple[RawTable, ...], full: bool,
                 overlap: timedelta, progress: Progress | None) -> list[TableSync]:
    results = []
    with psycopg.connect(libpq_url(database_url)) as source:
        source.isolation_level = IsolationLevel.REPEATABLE_READ
        source.read_only = True
        source.execute(sql.SQL("set local role {}").format(sql.Identifier(INGEST_ROLE)))
        for table in chosen:
            if progress:
                progress(table.name, None)
            result = sync_table(source, target, table, full=full, overlap=overlap)
            results.append(result)
            if progress:
                progress(table.name, result)
        source.rollback()
    return results
