"""The warehouse's `raw` schema: one table per operational table, plus `raw._watermarks`.

Raw tables take the source's column types (read from the source catalog), the source key as primary key, and a
`_loaded_at` column (the load transaction's time) that dbt's incremental models select on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ingest.tables import RawTable
from niochat.database import libpq_url

SCHEMA = "raw"
WATERMARKS = "_watermarks"
LOADED_AT = "_loaded_at"

_WATERMARKS_DDL = sql.SQL("""
create table if not exists {schema}.{table} (
    table_name text primary key,
    updated_at timestamptz,
    last_key text,
    rows_last_sync bigint not null default 0,
    synced_at timestamptz not null,
    full_sync_at timestamptz
)""")


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def ensure_schema(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
    conn.execute(_WATERMARKS_DDL.format(schema=sql.Identifier(SCHEMA), table=sql.Identifier(WATERMARKS)))


def source_columns(conn: psycopg.Connection, table: RawTable) -> dict[str, str]:
    """Every column of the operational table and its full type (e.g. `timestamp with time zone`)."""
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (f"public.{table.name}",),
    ).fetchall()
    if not rows:
        raise LookupError(f"operational table public.{table.name} not found (is the database migrated?)")
    return dict(rows)


def raw_columns(conn: psycopg.Connection, table: RawTable) -> dict[str, str]:
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (f"{SCHEMA}.{table.name}",),
    ).fetchall()
    return dict(rows)


def ensure_table(conn: psycopg.Connection, table: RawTable, types: dict[str, str]) -> bool:
    """Create or widen `raw.<table>` to the copied columns' source types.

    Returns True when the table was (re)created and so must be loaded in full. A column whose type changed at
    the source makes the table be rebuilt rather than copied into a mismatching column.
    """
    missing = [name for name in table.columns if name not in types]
    if missing:
        raise LookupError(f"public.{table.name} has no column(s) {', '.join(missing)}")
    wanted = {name: types[name] for name in table.columns}
    existing = raw_columns(conn, table)
    ident = sql.Identifier(SCHEMA, table.name)
    if existing and any(existing.get(name, type_) != type_ for name, type_ in wanted.items()):
        conn.execute(sql.SQL("drop table {} cascade").format(ident))
        existing = {}
    if not existing:
        columns = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in wanted.items()]
        columns.append(sql.SQL("{} timestamptz not null default now()").format(sql.Identifier(LOADED_AT)))
        columns.append(sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, table.key))))
        conn.execute(sql.SQL("create table {} ({})").format(ident, sql.SQL(", ").join(columns)))
        for column in (LOADED_AT, "updated_at", *table.indexed):
            conn.execute(
                sql.SQL("create index {} on {} ({})").format(
                    sql.Identifier(f"{table.name}_{column.strip('_')}_idx"), ident, sql.Identifier(column)
                )
            )
        return True
    for name, type_ in wanted.items():
        if name not in existing:
            conn.execute(sql.SQL("alter table {} add column {} {}").format(ident, sql.Identifier(name), sql.SQL(type_)))
    return False


def watermark(conn: psycopg.Connection, table: RawTable):
    """The newest source `updated_at` loaded for the table, or None before its first load."""
    row = conn.execute(
        sql.SQL("select updated_at from {} where table_name = %s").format(sql.Identifier(SCHEMA, WATERMARKS)),
        (table.name,),
    ).fetchone()
    return row[0] if row else None


def save_watermark(conn: psycopg.Connection, table: RawTable, updated_at, last_key: str | None, rows: int,
                   full: bool) -> None:
    conn.execute(
        sql.SQL("""
            insert into {} as w (table_name, updated_at, last_key, rows_last_sync, synced_at, full_sync_at)
            values (%(table)s, %(updated_at)s, %(last_key)s, %(rows)s, now(), case when %(full)s then now() end)
            on conflict (table_name) do update set
                updated_at = case when %(full)s then excluded.updated_at
                                  else greatest(w.updated_at, excluded.updated_at) end,
                last_key = case when %(full)s or w.updated_at is null or excluded.updated_at >= w.updated_at
                                then excluded.last_key else w.last_key end,
                rows_last_sync = excluded.rows_last_sync,
                synced_at = excluded.synced_at,
                full_sync_at = coalesce(excluded.full_sync_at, w.full_sync_at)
        """).format(sql.Identifier(SCHEMA, WATERMARKS)),
        {"table": table.name, "updated_at": updated_at, "last_key": last_key, "rows": rows, "full": full},
    )


@contextmanager
def exclusive(warehouse_url: str, name: str) -> Iterator[None]:
    """Hold a warehouse-wide advisory lock while the block runs (e.g. one dbt build at a time, whoever starts
    it: the Dagster daemon's schedule or `niochat pipeline run`). Released if the process dies."""
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (name,))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (name,))
