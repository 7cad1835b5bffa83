"""Per-tenant DuckDB files: only that tenant's rows on every table, typed columns, a README, atomic replace,
and `niochat export`. Built on a private operational database + warehouse (ingest + dbt build)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb
import psycopg
import pytest
from sqlalchemy import func, insert, update
from typer.testing import CliRunner

from ingest import export as export_module
from ingest.dbt_command import run_dbt
from ingest.export import TABLES, ExportError, export_tenant
from ingest.sync import sync
from niochat import migrate
from niochat.database import drop_database, ensure_database, libpq_url, sync_engine
from niochat.tables import conversations, csat_responses, messages
from tests.support.basics import TEST_SECRET
from tests.support.factories import full_tenant

# A customer's CPF and CNPJ written the ways customers write them (spaces, odd groupings, glued to a number).
DOCUMENTS = ("52998224725", "11444777000161", "15881399803")
DOCUMENTS_SAID = "meu cpf 529 982 247 25, o cnpj 11 444 777 0001 61 e o da minha mãe 158.813.99803 2 vias"


@dataclass
class Warehouse:
    database_url: str
    warehouse_url: str
    tenants: dict  # slug -> tenant_id


@pytest.fixture(scope="module")
def warehouse(pg_server_url) -> Warehouse:
    op_name, wh_name = f"niochat_exp_op_{uuid.uuid4().hex[:8]}", f"niochat_exp_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    try:
        migrate.upgrade(database_url)
        tenants = {}
        with engine.begin() as conn:
            for _ in range(2):
                rows = full_tenant(conn)
                tenants[rows.slug] = rows.tenant_id
                conversation_id, channel_id = rows.ids["conversations"][0], rows.ids["channels"][0]
                conn.execute(insert(messages).values(
                    tenant_id=rows.tenant_id, conversation_id=conversation_id, channel_id=channel_id,
                    direction="outbound", sender_kind="bot", status="sent",
                    text='linha 1\nlinha 2, com "aspas", vírgula e \\N literal', created_at="2026-03-02T12:00:00Z",
                ))
                conn.execute(insert(messages).values(
                    tenant_id=rows.tenant_id, conversation_id=conversation_id, channel_id=channel_id,
                    direction="outbound", sender_kind="bot", status="sent", text="",
                ))
                conn.execute(insert(messages).values(
                    tenant_id=rows.tenant_id, conversation_id=conversation_id, channel_id=channel_id,
                    direction="inbound", sender_kind="customer", status="received", text=DOCUMENTS_SAID,
                ))
                conn.execute(update(csat_responses).where(csat_responses.c.tenant_id == rows.tenant_id)
                             .values(comment=DOCUMENTS_SAID, raw_text=f"5 {DOCUMENTS_SAID}"))
                conn.execute(update(messages).where(messages.c.tenant_id == rows.tenant_id,
                                                    messages.c.direction == "inbound").values(intent="second_copy"))
                conn.execute(update(conversations).where(conversations.c.id == conversation_id)  # a handoff reason
                             .values(handoff_at=func.now(), handoff_reason="customer_request"))
        sync(database_url, warehouse_url)
        build = run_dbt(warehouse_url, "build")
        assert build.returncode == 0, build.stdout[-4000:]
        yield Warehouse(database_url, warehouse_url, tenants)
    finally:
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


def _file_tables(path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute("select table_name from information_schema.tables order by 1").fetchall()
    return [row[0] for row in rows]


def test_a_tenant_file_holds_zero_rows_of_another_tenant_on_every_table(warehouse, tmp_path):
    (a, a_id), (b, b_id) = warehouse.tenants.items()
    path = tmp_path / f"{a}.duckdb"
    result = export_tenant(warehouse.warehouse_url, a, path)
    assert set(_file_tables(path)) == {*TABLES, "README"}
    with duckdb.connect(str(path), read_only=True) as conn:  # a plain client, no extension, no NioChat code
        for table in TABLES:
            others = conn.execute(f"select count(*) from {table} where tenant_id <> ?", [a_id]).fetchone()[0]
            assert others == 0, f"{table} holds other tenants' rows"
            of_b = conn.execute(f"select count(*) from {table} where tenant_id = ?", [b_id]).fetchone()[0]
            assert of_b == 0
            mine = conn.execute(f"select count(*) from {table}").fetchone()[0]
            assert mine == result.rows[table] and mine >= 1, table
        dump = " ".join(str(row) for table in TABLES for row in conn.execute(f"select * from {table}").fetchall())
    assert str(b_id) not in dump and b not in dump
    with psycopg.connect(libpq_url(warehouse.warehouse_url)) as pg:
        source = pg.execute("select count(*) from marts.fct_messages where tenant_id = %s", (a_id,)).fetchone()[0]
    assert result.rows["fct_messages"] == source == 4


def test_no_document_in_any_grouping_reaches_the_file(warehouse, tmp_path):
    """Messages and CSAT comments written with spaces or odd groupings are exported masked."""
    import re

    slug = next(iter(warehouse.tenants))
    path = tmp_path / "masked.duckdb"
    export_tenant(warehouse.warehouse_url, slug, path)
    with duckdb.connect(str(path), read_only=True) as conn:
        dump = " ".join(str(row) for table in TABLES for row in conn.execute(f"select * from {table}").fetchall())
        comments = [row[0] for row in conn.execute("select comment from fct_csat_responses").fetchall()]
    assert any(comment and "***.982.247-**" in comment for comment in comments), comments
    digits_only = re.sub(r"\D", "", dump)
    for number in DOCUMENTS:
        assert number not in digits_only, f"{number} reached the DuckDB file"


def test_columns_are_typed_and_text_survives_the_trip(warehouse, tmp_path):
    slug, tenant_id = next(iter(warehouse.tenants.items()))
    path = tmp_path / "typed.duckdb"
    export_tenant(warehouse.warehouse_url, slug, path)
    with duckdb.connect(str(path), read_only=True) as conn:
        types = dict(conn.execute(
            "select table_name || '.' || column_name, data_type from information_schema.columns").fetchall())
        assert types["fct_conversations.created_at"] == "TIMESTAMP WITH TIME ZONE"
        assert types["fct_conversations.resolution_seconds"] == "DECIMAL(14,3)"
        assert types["agg_tenant_daily_kpis.csat_score_pct"] == "DECIMAL(5,2)"
        assert types["agg_tenant_daily_kpis.activity_date"] == "DATE"
        assert types["agg_tenant_hourly_volume.hour_start_local"] == "TIMESTAMP"
        assert types["fct_messages.tenant_id"] == "UUID" and types["fct_messages.is_failed"] == "BOOLEAN"
        texts = {row[0] for row in conn.execute("select message_text from fct_messages").fetchall()}
        assert 'linha 1\nlinha 2, com "aspas", vírgula e \\N literal' in texts
        assert "" in texts, "an empty text stays an empty string, not NULL"
        created = conn.execute("select created_at from fct_messages where message_text like 'linha 1%'").fetchone()[0]
        assert created.isoformat().startswith("2026-03-02T12:00:00")
        readme = {row[0]: row[1:] for row in conn.execute(
            'select table_name, description, row_count, columns, tenant_slug from "README"').fetchall()}
        assert set(readme) == set(TABLES)
        description, rows, columns, readme_slug = readme["agg_tenant_daily_kpis"]
        assert "timezone" in description and readme_slug == slug
        assert "csat_score_pct (DECIMAL(5,2)): CSAT score" in columns
        comment = conn.execute("select comment from duckdb_columns() where table_name = 'fct_conversations' "
                               "and column_name = 'human_first_response_seconds'").fetchone()[0]
        assert "from the handoff" in comment


def test_a_failed_export_leaves_the_previous_file_untouched(warehouse, tmp_path, monkeypatch):
    slug = next(iter(warehouse.tenants))
    path = tmp_path / "stable.duckdb"
    export_tenant(warehouse.warehouse_url, slug, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "_write_readme", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_tenant(warehouse.warehouse_url, slug, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stable.duckdb"], "no partial file left behind"


def test_unknown_tenant_is_a_clear_error(warehouse, tmp_path):
    with pytest.raises(ExportError, match="not in the warehouse"):
        export_tenant(warehouse.warehouse_url, "no-such-tenant", tmp_path / "x.duckdb")
    assert not (tmp_path / "x.duckdb").exists()


def test_niochat_export_command(warehouse, tmp_path, redis_url):
    from cli import app

    slug = next(iter(warehouse.tenants))
    env = {
        "NIOCHAT_DATABASE_URL": warehouse.database_url, "NIOCHAT_WAREHOUSE_URL": warehouse.warehouse_url,
        "NIOCHAT_REDIS_URL": redis_url, "NIOCHAT_SECRET_KEY": TEST_SECRET, "NIOCHAT_DATA_DIR": str(tmp_path),
    }
    out = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(app, ["export", "--tenant", slug, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "fct_messages" in result.output
    assert set(_file_tables(out)) == {*TABLES, "README"}
    missing = CliRunner().invoke(app, ["export", "--tenant", "nope", "--out", str(out)], env=env)
    assert missing.exit_code == 1 and "not in the warehouse" in missing.output
