"""One tenant's analytics as a single DuckDB file: the marts (that tenant's rows only) and a README table.

No DuckDB postgres extension (it downloads itself at first use): rows leave PostgreSQL with `COPY ... TO STDOUT`
as CSV into a scratch file, and DuckDB loads that into tables created with the marts' own types (timestamps with
time zone, exact decimals, uuids). The warehouse is read as the dashboard role bound to the tenant, so row-level
security stands behind the `where tenant_id = ...` of every query. The file is written under a temporary name
beside the target and renamed when complete: a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from niochat.database import TENANT_SETTING, libpq_url

MARTS_SCHEMA = "marts"
DASHBOARD_ROLE = "niochat_dash"
# Exported in this order; each is filtered on tenant_id.
TABLES = (
    "dim_tenants",
    "dim_contacts",
    "dim_users",
    "dim_labels",
    "fct_conversations",
    "fct_conversation_labels",
    "fct_messages",
    "fct_csat_responses",
    "fct_tool_calls",
    "agg_tenant_daily_kpis",
    "agg_agent_daily_kpis",
    "agg_tenant_hourly_volume",
    "agg_tenant_daily_intents",
    "agg_tenant_daily_tool_outcomes",
    "agg_tenant_daily_handoff_reasons",
    "agg_tenant_daily_labels",
)
_SIMPLE_TYPES = {
    "uuid": "UUID",
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "REAL",
    "double precision": "DOUBLE",
    "date": "DATE",
    "timestamp with time zone": "TIMESTAMPTZ",
    "timestamp without time zone": "TIMESTAMP",
    "jsonb": "VARCHAR",
    "json": "VARCHAR",
}
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")


class ExportError(RuntimeError):
    pass


@dataclass
class Column:
    name: str
    pg_type: str
    description: str | None

    @property
    def duckdb_type(self) -> str:
        return duckdb_type(self.pg_type)


@dataclass
class ExportResult:
    path: Path
    tenant_slug: str
    tenant_id: uuid.UUID
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def duckdb_type(pg_type: str) -> str:
    """PostgreSQL type -> DuckDB type; exact decimals keep their precision (unbounded numeric: DECIMAL(38,10))."""
    if pg_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[pg_type]
    if match := _NUMERIC.match(pg_type.replace(" ", "")):
        precision, scale = int(match[1]), int(match[2])
        if precision > 38:
            raise ExportError(f"{pg_type} does not fit DuckDB's DECIMAL (38 digits at most)")
        return f"DECIMAL({precision},{scale})"
    if pg_type == "numeric":
        return "DECIMAL(38,10)"
    raise ExportError(f"no DuckDB type for PostgreSQL type {pg_type!r}")


def _columns(conn: psycopg.Connection, table: str) -> list[Column]:
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum)
        from pg_attribute a
        where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (f"{MARTS_SCHEMA}.{table}",),
    ).fetchall()
    if not rows:
        raise ExportError(f"{MARTS_SCHEMA}.{table} does not exist: run the pipeline (niochat pipeline run) first")
    return [Column(*row) for row in rows]


def _description(conn: psycopg.Connection, table: str) -> str:
    row = conn.execute("select obj_description(to_regclass(%s), 'pg_class')", (f"{MARTS_SCHEMA}.{table}",)).fetchone()
    return " ".join((row[0] or "").split())


def _tenant(conn: psycopg.Connection, slug: str) -> uuid.UUID:
    row = conn.execute(
        sql.SQL("select tenant_id from {} where tenant_slug = %s").format(sql.Identifier(MARTS_SCHEMA, "dim_tenants")),
        (slug,),
    ).fetchone()
    if row is None:
        raise ExportError(f"tenant {slug!r} is not in the warehouse (unknown, or the pipeline has not run since)")
    return row[0]


def _bind_to_tenant(conn: psycopg.Connection, tenant_id: uuid.UUID) -> None:
    """From here on the connection sees only the tenant's rows (RLS), whatever a query forgets."""
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(DASHBOARD_ROLE)))
    conn.execute("select set_config(%s, %s, false)", (TENANT_SETTING, str(tenant_id)))


def _copy_table(conn: psycopg.Connection, duck: duckdb.DuckDBPyConnection, table: str, columns: list[Column],
                tenant_id: uuid.UUID, scratch: Path) -> int:
    names = sql.SQL(", ").join(sql.Identifier(column.name) for column in columns)
    query = sql.SQL(
        "copy (select {} from {} where tenant_id = {} order by 1, 2) to stdout (format csv, null '\\N')"
    ).format(names, sql.Identifier(MARTS_SCHEMA, table), sql.Literal(str(tenant_id)))
    with open(scratch, "wb") as out, conn.cursor() as cur, cur.copy(query) as copy:
        for block in copy:
            out.write(block)
    definition = ", ".join(f'"{column.name}" {column.duckdb_type}' for column in columns)
    duck.execute(f'create table "{table}" ({definition})')
    duck.execute(
        f"copy \"{table}\" from '{scratch}' "
        "(format csv, auto_detect false, header false, delim ',', quote '\"', escape '\"', nullstr '\\N', "
        "allow_quoted_nulls false)"
    )
    return duck.execute(f'select count(*) from "{table}"').fetchone()[0]


def _document(duck: duckdb.DuckDBPyConnection, table: str, description: str, columns: list[Column]) -> None:
    duck.execute(f'comment on table "{table}" is {_quote(description)}')
    for column in columns:
        if column.description:
            text = _quote(" ".join(column.description.split()))
            duck.execute(f'comment on column "{table}"."{column.name}" is {text}')


def _column_line(column: Column) -> str:
    described = f": {' '.join(column.description.split())}" if column.description else ""
    return f"{column.name} ({column.duckdb_type}){described}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_readme(duck: duckdb.DuckDBPyConnection, slug: str, entries: list[tuple[str, str, int, str]]) -> None:
    duck.execute(
        """
        create table "README" (
            table_name varchar primary key, description varchar, row_count bigint, columns varchar,
            tenant_slug varchar, exported_at timestamptz
        )
        """
    )
    exported_at = datetime.now(UTC)
    duck.executemany(
        'insert into "README" values (?, ?, ?, ?, ?, ?)',
        [(name, description, rows, columns, slug, exported_at) for name, description, rows, columns in entries],
    )
    duck.execute(
        "comment on table \"README\" is 'What each table of this file holds (one row per table); columns are "
        "described too in duckdb_columns().comment.'"
    )


def export_tenant(warehouse_url: str, tenant_slug: str, out_path: str | Path) -> ExportResult:
    """Write `out_path` (a .duckdb file) with the marts' rows of one tenant; replaces the file atomically."""
    started = time.perf_counter()
    out_path = Path(out_path).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.partial")
    with psycopg.connect(libpq_url(warehouse_url)) as conn, tempfile.TemporaryDirectory() as scratch_dir:
        conn.execute("set timezone = 'UTC'")
        tenant_id = _tenant(conn, tenant_slug)
        _bind_to_tenant(conn, tenant_id)
        result = ExportResult(out_path, tenant_slug, tenant_id)
        readme = []
        try:
            duck = duckdb.connect(str(partial))
            try:
                for table in TABLES:
                    columns = _columns(conn, table)
                    if not any(column.name == "tenant_id" for column in columns):
                        raise ExportError(f"{MARTS_SCHEMA}.{table} has no tenant_id: it cannot be split per tenant")
                    scratch = Path(scratch_dir) / f"{table}.csv"
                    result.rows[table] = _copy_table(conn, duck, table, columns, tenant_id, scratch)
                    scratch.unlink()
                    description = _description(conn, table)
                    _document(duck, table, description, columns)
                    listing = "\n".join(_column_line(column) for column in columns)
                    readme.append((table, description, result.rows[table], listing))
                _write_readme(duck, tenant_slug, readme)
                duck.execute("checkpoint")
            finally:
                duck.close()
            os.replace(partial, out_path)
        finally:
            for leftover in (partial, partial.with_name(partial.name + ".wal")):
                leftover.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    return result
