"""An erased person leaves the warehouse at the next pipeline run: `niochat pipeline run` (ingest, dbt build,
DuckDB exports) before and after `niochat privacy erase`, on a private operational database and warehouse.

Her history includes a WhatsApp account first known by its LID alone and later merged into her number's contact
(which deletes that contact and folds its conversation into hers): rows deleted at the source leave tombstones
that the incremental ingest and the incremental marts apply. Nobody else's rows change, and the incremental marts
equal a full rebuild.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import duckdb
import psycopg
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from api.webhooks import identity
from cli import app
from ingest.dbt_command import run_dbt
from niochat import accounts, migrate
from niochat.database import async_engine, drop_database, ensure_database, libpq_url, sync_engine, tenant_transaction
from niochat.secrets import Keyring
from niochat.tables import contacts, conversations, csat_requests, csat_responses, messages, tool_calls
from tests.support.basics import TEST_SECRET, unique_slug

PHONE, LID = "5511912348888", "300000000000003@lid"
MARIA = ("Maria Privada", PHONE, "300000000000003", "quero a segunda via, aqui é a Maria Privada",
         "Maria, segue seu boleto", "sem internet desde ontem (Maria pelo LID)", "atendimento excelente da Maria")


@pytest.fixture
def world(pg_server_url, tmp_path, redis_url):
    op_name, wh_name = f"niochat_lgpd_op_{uuid.uuid4().hex[:8]}", f"niochat_lgpd_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    try:
        migrate.upgrade(database_url)
        env = {"NIOCHAT_DATABASE_URL": database_url, "NIOCHAT_WAREHOUSE_URL": warehouse_url,
               "NIOCHAT_REDIS_URL": redis_url, "NIOCHAT_SECRET_KEY": TEST_SECRET, "NIOCHAT_DATA_DIR": str(tmp_path)}
        yield engine, database_url, warehouse_url, env
    finally:
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


def _history(engine) -> dict:
    slug = unique_slug("wh")
    start = datetime.now(UTC) - timedelta(hours=3)
    with engine.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug, "Provedor Armazém")
        channel = accounts.create_channel(conn, Keyring(TEST_SECRET), "http://x", slug, "uazapi", "WhatsApp",
                                       "http://127.0.0.1:9", slug, "tok")
        ids = {"slug": slug, "tenant": tenant_id}

        def person(key, talk_status, created, texts, **contact):
            ids[key] = conn.execute(insert(contacts).values(tenant_id=tenant_id, **contact)
                                    .returning(contacts.c.id)).scalar_one()
            talk = conn.execute(insert(conversations).values(
                tenant_id=tenant_id, channel_id=channel.id, contact_id=ids[key], status=talk_status,
                created_at=created, first_bot_reply_at=created + timedelta(seconds=5), sgp_customer_id="77",
            ).returning(conversations.c.id)).scalar_one()
            ids[f"{key}_talk"] = talk
            for offset, (direction, sender, text) in enumerate(texts):
                conn.execute(insert(messages).values(
                    tenant_id=tenant_id, conversation_id=talk, channel_id=channel.id, direction=direction,
                    sender_kind=sender, text=text, status="processed" if direction == "inbound" else "delivered",
                    created_at=created + timedelta(seconds=offset), intent="second_copy" if offset == 0 else None))
            return talk

        # her number's conversation is the one she writes in last: the LID one is folded into it at the merge
        lid_talk = person("maria_lid", "bot", start, [("inbound", "customer", MARIA[5])],
                          whatsapp_lid=LID, name="Maria P.")
        talk = person("maria", "bot", start + timedelta(minutes=30),
                      [("inbound", "customer", MARIA[3]), ("outbound", "bot", MARIA[4])], phone=PHONE, name=MARIA[0])
        conn.execute(conversations.update().where(conversations.c.id == lid_talk)
                     .values(last_message_at=start))
        conn.execute(conversations.update().where(conversations.c.id == talk)
                     .values(last_message_at=start + timedelta(minutes=30)))
        conn.execute(insert(tool_calls).values(tenant_id=tenant_id, conversation_id=talk, brain="rules",
                                               tool="second_copy", outcome="sent", arguments={"contract": "19180"},
                                               created_at=start + timedelta(minutes=30)))
        survey = conn.execute(insert(csat_requests).values(
            tenant_id=tenant_id, conversation_id=talk, contact_id=ids["maria"], status="answered",
            scheduled_for=start, sent_at=start + timedelta(minutes=40), answered_at=start + timedelta(minutes=41),
        ).returning(csat_requests.c.id)).scalar_one()
        conn.execute(insert(csat_responses).values(
            tenant_id=tenant_id, csat_request_id=survey, conversation_id=talk, rating=5, sentiment="positive",
            comment=MARIA[6], raw_text=f"5 {MARIA[6]}", created_at=start + timedelta(minutes=41)))
        person("pedro", "closed", start + timedelta(minutes=5),
               [("inbound", "customer", "Pedro Visível quer a segunda via"), ("outbound", "bot", "Pedro, segue")],
               phone="5511977776666", name="Pedro Visível")
    return ids


def _pipeline(env: dict) -> None:
    result = CliRunner().invoke(app, ["pipeline", "run"], env=env)
    assert result.exit_code == 0, result.output


def _warehouse_text(warehouse_url: str, schema: str, tenant_id) -> str:
    """Every row of the tenant in every table of `schema`, as one text."""
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        tables = [row[0] for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s and table_name <> '_watermarks'",
            (schema,))]
        dumps = []
        for table in tables:
            columns = {row[0] for row in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
                (schema, table))}
            where = " where t.tenant_id = %s" if "tenant_id" in columns else (" where t.id = %s" if table ==
                                                                              "tenants" else "")
            params = (tenant_id,) if where else ()
            dump = conn.execute(f'select string_agg(t::text, \' \') from "{schema}"."{table}" t{where}',
                                params).fetchone()[0]
            dumps.append(f"{table}: {dump or ''}")
    return "\n".join(dumps)


def _duckdb_text(path) -> str:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [row[0] for row in conn.execute("select table_name from information_schema.tables").fetchall()]
        return "\n".join(str(row) for table in tables for row in conn.execute(f'select * from "{table}"').fetchall())


def _count(warehouse_url: str, query: str, *params) -> int:
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_an_erased_person_is_gone_from_raw_marts_and_duckdb_after_the_next_run(world):
    engine, database_url, warehouse_url, env = world
    ids = _history(engine)
    _pipeline(env)
    export = env["NIOCHAT_DATA_DIR"] + f"/exports/{ids['slug']}.duckdb"
    # the checks below can see her: before the erasure every layer holds her data
    for layer in (_warehouse_text(warehouse_url, "raw", ids["tenant"]),
                  _warehouse_text(warehouse_url, "marts", ids["tenant"]), _duckdb_text(export)):
        assert MARIA[0] in layer and MARIA[3] in layer and "Pedro Visível" in layer
    assert LID in _warehouse_text(warehouse_url, "raw", ids["tenant"])
    daily_before = _count(warehouse_url, "select sum(inbound_messages) from marts.agg_tenant_daily_kpis "
                                         "where tenant_id = %s", ids["tenant"])

    async def merge() -> str:  # a later event pairs the LID with her number: one contact, one conversation
        engine_async = async_engine(database_url)
        try:
            async with tenant_transaction(engine_async, ids["tenant"]) as conn:
                return await identity.reveal(conn, ids["tenant"], phone=PHONE, lid=LID)
        finally:
            await engine_async.dispose()

    assert asyncio.run(merge()) == "merged"
    with engine.connect() as conn:
        assert conn.execute(select(contacts).where(contacts.c.id == ids["maria_lid"])).first() is None
        assert conn.execute(select(conversations).where(conversations.c.id == ids["maria_lid_talk"])).first() is None
    erased = CliRunner().invoke(app, ["privacy", "erase", "--tenant", ids["slug"], "--phone", PHONE, "--yes"], env=env)
    assert erased.exit_code == 0, erased.output
    _pipeline(env)

    raw = _warehouse_text(warehouse_url, "raw", ids["tenant"])
    marts = _warehouse_text(warehouse_url, "marts", ids["tenant"])
    exported = _duckdb_text(export)
    for layer, name in ((raw, "raw"), (marts, "marts"), (exported, "duckdb")):
        leaked = [value for value in MARIA if value in layer]
        assert not leaked, f"{name} still holds {leaked}"
        assert "Pedro Visível quer a segunda via" in layer, f"{name}: the others' rows are there"
    # the merged-away contact and conversation were deleted at the source: their tombstones took them out
    assert _count(warehouse_url, "select count(*) from raw.contacts where id = %s", ids["maria_lid"]) == 0
    assert _count(warehouse_url, "select count(*) from raw.conversations where id = %s", ids["maria_lid_talk"]) == 0
    assert _count(warehouse_url, "select count(*) from marts.fct_conversations where conversation_id = %s",
                  ids["maria_lid_talk"]) == 0
    assert _count(warehouse_url, "select count(*) from raw.deleted_rows where row_id in (%s, %s)",
                  ids["maria_lid"], ids["maria_lid_talk"]) == 2
    # what the metrics count stays: her conversation, its messages (as rows), the rating
    assert _count(warehouse_url, "select count(*) from marts.fct_messages where conversation_id = %s "
                                 "and message_text is null", ids["maria_talk"]) == 3
    assert _count(warehouse_url, "select inbound_messages from marts.fct_conversations where conversation_id = %s",
                  ids["maria_talk"]) == 2
    assert _count(warehouse_url, "select csat_rating from marts.fct_conversations where conversation_id = %s",
                  ids["maria_talk"]) == 5
    assert _count(warehouse_url, "select sum(inbound_messages) from marts.agg_tenant_daily_kpis "
                                 "where tenant_id = %s", ids["tenant"]) == daily_before
    assert _count(warehouse_url, "select count(*) from marts.dim_contacts where contact_id = %s and phone is null "
                                 "and contact_name is null", ids["maria"]) == 1

    def snapshot() -> dict:
        with psycopg.connect(libpq_url(warehouse_url)) as conn:
            return {table: conn.execute(f"select * from marts.{table} order by 1, 2").fetchall()
                    for table in ("fct_conversations", "fct_messages", "dim_contacts", "agg_tenant_daily_kpis")}

    incremental = snapshot()
    full = run_dbt(warehouse_url, "run", "--select", "marts", "--full-refresh")
    assert full.returncode == 0, full.stdout[-4000:]
    assert snapshot() == incremental, "the incremental marts equal a full rebuild"
