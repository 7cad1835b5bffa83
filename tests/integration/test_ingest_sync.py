"""ingest/: operational tables -> warehouse raw.*, on real PostgreSQL (the session's migrated database).

Rerunning changes nothing, changes and late commits are applied without duplicates, a failed load leaves the
previous state, `full` mirrors deletes, and no secret or full CPF/CNPJ reaches the warehouse.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import delete, insert, select, update

from ingest import sync as sync_module
from ingest.masking import masked_json, masked_text
from ingest.sync import sync
from ingest.tables import TABLES, TOMBSTONED
from ingest.warehouse import LOADED_AT, SCHEMA, source_columns
from niochat.database import drop_database, ensure_database, libpq_url
from niochat.masking import mask_documents_in
from niochat.secrets import Keyring
from niochat.tables import (
    audit_log,
    channels,
    contacts,
    conversation_labels,
    conversations,
    labels,
    messages,
    tenants,
    tool_calls,
)
from tests.support.basics import TEST_SECRET
from tests.support.factories import full_tenant

CPF = "529.982.247-25"
CNPJ = "11.444.777/0001-61"


@pytest.fixture
def warehouse_url(pg_server_url):
    name = f"niochat_wh_{uuid.uuid4().hex[:10]}"
    url = ensure_database(pg_server_url, name)
    yield url
    drop_database(pg_server_url, name)


@pytest.fixture
def tenant(engine):
    with engine.begin() as conn:
        rows = full_tenant(conn)
    yield rows
    with engine.begin() as conn:
        conn.execute(delete(tenants).where(tenants.c.id == rows.tenant_id))


def _raw_snapshot(warehouse_url: str) -> dict[str, list[tuple]]:
    snapshot = {}
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        for table in TABLES:
            order = sql.SQL(", ").join(map(sql.Identifier, table.key))
            query = sql.SQL("select * from {} order by {}").format(sql.Identifier(SCHEMA, table.name), order)
            snapshot[table.name] = conn.execute(query).fetchall()
        snapshot["_watermarks"] = conn.execute(
            "select table_name, updated_at, last_key from raw._watermarks order by 1"
        ).fetchall()
    return snapshot


def _table_rows(url: str, schema: str, table, columns: list[str]) -> list[tuple]:
    with psycopg.connect(libpq_url(url)) as conn:
        order = sql.SQL(", ").join(map(sql.Identifier, table.key))
        query = sql.SQL("select {} from {} order by {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(schema, table.name), order
        )
        return conn.execute(query).fetchall()


def _assert_raw_mirrors_source(database_url: str, warehouse_url: str) -> None:
    for table in TABLES:
        plain = [c for c in table.columns if c not in table.masked_text and c not in table.masked_json]
        source = _table_rows(database_url, "public", table, plain)
        raw = _table_rows(warehouse_url, SCHEMA, table, plain)
        assert raw == source, f"raw.{table.name} differs from the source"


def test_every_source_column_is_copied_or_deliberately_excluded(database_url):
    with psycopg.connect(libpq_url(database_url)) as conn:
        for table in TABLES:
            columns = set(source_columns(conn, table))
            undecided = columns - set(table.columns) - set(table.excluded)
            assert not undecided, f"public.{table.name}: copy or exclude {sorted(undecided)} in ingest/tables.py"
            assert set(table.columns) <= columns


def test_sync_twice_leaves_an_identical_warehouse(engine, database_url, warehouse_url, tenant):
    first = sync(database_url, warehouse_url)
    assert all(result.full for result in first)
    snapshot = _raw_snapshot(warehouse_url)
    assert all(snapshot[table.name] for table in TABLES), "every raw table got the tenant's rows"
    _assert_raw_mirrors_source(database_url, warehouse_url)

    second = sync(database_url, warehouse_url)
    assert not any(result.full for result in second)
    assert [result.rows_written for result in second] == [0] * len(TABLES)
    assert _raw_snapshot(warehouse_url) == snapshot, "a rerun with no changes must change nothing, _loaded_at included"


def test_changed_and_new_rows_are_applied_without_duplicates(engine, database_url, warehouse_url, tenant):
    sync(database_url, warehouse_url)
    conversation_id = tenant.ids["conversations"][0]
    with engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(status="open"))
        conn.execute(update(contacts).where(contacts.c.tenant_id == tenant.tenant_id).values(name="Novo Nome"))
        conn.execute(
            insert(messages).values(
                tenant_id=tenant.tenant_id, conversation_id=conversation_id, channel_id=tenant.ids["channels"][0],
                direction="outbound", sender_kind="bot", text="resposta", status="queued",
            )
        )
    results = {result.table: result for result in sync(database_url, warehouse_url)}
    assert results["conversations"].rows_written == 1
    assert results["contacts"].rows_written == 1
    assert results["messages"].rows_written == 1
    assert results["tenants"].rows_written == 0
    _assert_raw_mirrors_source(database_url, warehouse_url)
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        status = conn.execute("select status from raw.conversations where id = %s", (conversation_id,)).fetchone()
        assert status == ("open",)
        counts = conn.execute(
            "select count(*), count(distinct id) from raw.messages where conversation_id = %s", (conversation_id,)
        ).fetchone()
        assert counts == (2, 2)


def test_a_commit_landing_behind_the_watermark_is_still_loaded(engine, database_url, warehouse_url, tenant):
    """updated_at is taken when the writing transaction starts, but the row only shows up when it commits."""
    sync(database_url, warehouse_url)
    conversation_id, channel_id = tenant.ids["conversations"][0], tenant.ids["channels"][0]

    def message(conn, text):
        conn.execute(
            insert(messages).values(
                tenant_id=tenant.tenant_id, conversation_id=conversation_id, channel_id=channel_id,
                direction="inbound", sender_kind="customer", text=text, status="received",
            )
        )

    slow = engine.connect()
    slow_tx = slow.begin()
    message(slow, "escrita lenta")  # updated_at = this transaction's start
    time.sleep(0.05)
    with engine.begin() as conn:
        message(conn, "escrita rápida")  # newer updated_at, committed first
    sync(database_url, warehouse_url, tables=["messages"])  # watermark moves past the slow row's updated_at
    slow_tx.commit()
    slow.close()

    missed = sync(database_url, warehouse_url, tables=["messages"], overlap=timedelta(0))
    assert missed[0].rows_written == 0, "without an overlap window the late commit is skipped"
    caught = sync(database_url, warehouse_url, tables=["messages"])
    assert caught[0].rows_written == 1
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        texts = {row[0] for row in conn.execute("select text from raw.messages where conversation_id = %s",
                                                  (conversation_id,))}
    assert {"escrita lenta", "escrita rápida"} <= texts


def test_a_failed_load_leaves_the_table_and_its_watermark_as_they_were(
    engine, database_url, warehouse_url, tenant, monkeypatch
):
    sync(database_url, warehouse_url)
    before = _raw_snapshot(warehouse_url)
    with engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.tenant_id == tenant.tenant_id).values(name="Outro"))

    def crash(conn, table):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sync_module, "_upsert", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        sync(database_url, warehouse_url, tables=["contacts"])
    assert _raw_snapshot(warehouse_url) == before
    monkeypatch.undo()
    assert sync(database_url, warehouse_url, tables=["contacts"])[0].rows_written == 1


def test_full_rebuild_mirrors_rows_deleted_at_the_source(engine, database_url, warehouse_url, tenant):
    with engine.begin() as conn:
        doomed = full_tenant(conn)
    sync(database_url, warehouse_url)
    with engine.begin() as conn:
        conn.execute(delete(tenants).where(tenants.c.id == doomed.tenant_id))

    def tenant_rows() -> int:
        with psycopg.connect(libpq_url(warehouse_url)) as conn:
            return conn.execute("select count(*) from raw.messages where tenant_id = %s",
                                (doomed.tenant_id,)).fetchone()[0]

    sync(database_url, warehouse_url)
    assert tenant_rows() == 1, "incremental loads do not see hard deletes"
    results = sync(database_url, warehouse_url, full=True)
    assert all(result.full for result in results)
    assert tenant_rows() == 0
    _assert_raw_mirrors_source(database_url, warehouse_url)


def test_no_secret_and_no_full_document_reaches_the_warehouse(engine, database_url, warehouse_url, tenant):
    keyring = Keyring(TEST_SECRET)
    conversation_id = tenant.ids["conversations"][0]
    with engine.begin() as conn:
        conn.execute(
            update(contacts).where(contacts.c.tenant_id == tenant.tenant_id).values(
                document_encrypted=keyring.encrypt("52998224725"), document_hash="h" * 64,
                document_masked="***.982.247-**",
            )
        )
        conn.execute(
            insert(messages).values(
                tenant_id=tenant.tenant_id, conversation_id=conversation_id, channel_id=tenant.ids["channels"][0],
                direction="inbound", sender_kind="customer", status="received",
                text=f"meu cpf é {CPF}, o da empresa {CNPJ} e sem pontos 52998224725",
            )
        )
        conn.execute(
            insert(tool_calls).values(
                tenant_id=tenant.tenant_id, conversation_id=conversation_id, brain="rules", tool="identify_customer",
                outcome="ok", arguments={"document": CPF, "digits": 52998224725, "nested": {"cpf": "52998224725"}},
            )
        )
        conn.execute(
            insert(audit_log).values(
                tenant_id=tenant.tenant_id, actor_kind="bot", action="tool.identify", details={"cpf": CPF}
            )
        )
    sync(database_url, warehouse_url)
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        columns = {row[0] for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw'")}
        assert not columns & {"password_hash", "token_encrypted", "webhook_key_sha256", "document_encrypted"}
        for table in TABLES:
            dump = conn.execute(sql.SQL("select string_agg(t::text, ' ') from {} t").format(
                sql.Identifier(SCHEMA, table.name))).fetchone()[0] or ""
            for secret in ("52998224725", CPF, CNPJ, "11444777000161", "tok-", "$argon2"):
                assert secret not in dump, f"{secret!r} reached raw.{table.name}"
        text = conn.execute("select text from raw.messages where text like 'meu cpf%%'").fetchone()[0]
        assert text == mask_documents_in(f"meu cpf é {CPF}, o da empresa {CNPJ} e sem pontos 52998224725")
        arguments = conn.execute("select arguments from raw.tool_calls where tool = 'identify_customer' "
                                 "and tenant_id = %s", (tenant.tenant_id,)).fetchone()[0]
        assert arguments["document"] == "***.982.247-**" and arguments["digits"] == "***.982.247-**"
        assert "***.982.247-**" in arguments["nested"]
        document = conn.execute("select document_masked from raw.contacts where tenant_id = %s",
                                (tenant.tenant_id,)).fetchone()
        assert document == ("***.982.247-**",)


@pytest.mark.parametrize(
    "text",
    [
        "meu cpf 123.456.789-09 ok", "12345678909", "cnpj 12.345.678/0001-95", "12345678000195 e 98765432100",
        "telefone 5511999990000", "1234567890", "123.456.789-091", "x 111.222.333-44, 555.666.777-88",
        "R$ 123.456.789,09", "a/12345678909", "12345678909.", "valor 1.234.567.890-12", "", "sem números",
    ],
)
def test_sql_masking_agrees_with_the_log_masking(database_url, text):
    with psycopg.connect(libpq_url(database_url)) as conn:
        masked = conn.execute(sql.SQL("select {}").format(masked_text(sql.Literal(text)))).fetchone()[0]
        assert masked == mask_documents_in(text)
        as_json = conn.execute(
            sql.SQL("select {} from (select %s::jsonb as doc) d").format(masked_json(sql.Identifier("doc"))),
            (psycopg.types.json.Jsonb({"text": text, "n": 1}),),
        ).fetchone()[0]
        assert as_json == {"text": mask_documents_in(text), "n": 1}


def test_concurrent_syncs_do_not_duplicate_or_fail(engine, database_url, warehouse_url, tenant):
    sync(database_url, warehouse_url)
    with engine.begin() as conn:
        conn.execute(update(channels).where(channels.c.tenant_id == tenant.tenant_id).values(name="Renomeado"))
    errors = []

    def run():
        try:
            sync(database_url, warehouse_url)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    _assert_raw_mirrors_source(database_url, warehouse_url)


def test_raw_rows_carry_their_load_time(database_url, warehouse_url, tenant):
    sync(database_url, warehouse_url)
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        missing = conn.execute(
            sql.SQL("select count(*) from raw.messages where {} is null").format(sql.Identifier(LOADED_AT))
        ).fetchone()[0]
    assert missing == 0


def test_rows_deleted_at_the_source_leave_raw_at_the_next_incremental_load(engine, database_url, warehouse_url,
                                                                            tenant):
    """A deleted row leaves a tombstone (deleted_rows); the incremental load removes it from raw, but not a row
    deleted and written again under the same key, and not the rows of other tenants."""
    with engine.begin() as conn:
        other = full_tenant(conn)
        doomed = conn.execute(insert(contacts).values(tenant_id=tenant.tenant_id, whatsapp_lid="900000000001@lid",
                                                      name="Só LID").returning(contacts.c.id)).scalar_one()
    sync(database_url, warehouse_url)
    audit_id = tenant.ids["audit_log"][0]
    with engine.begin() as conn:
        conn.execute(delete(contacts).where(contacts.c.id == doomed))
        row = conn.execute(select(audit_log).where(audit_log.c.id == audit_id)).one()
        conn.execute(delete(audit_log).where(audit_log.c.id == audit_id))
        conn.execute(insert(audit_log).values(**row._mapping))  # same key again: it stays
    results = {result.table: result for result in sync(database_url, warehouse_url)}
    assert results["contacts"].rows_deleted == 1 and results["audit_log"].rows_deleted == 0
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        assert conn.execute("select count(*) from raw.contacts where id = %s", (doomed,)).fetchone() == (0,)
        assert conn.execute("select count(*) from raw.audit_log where id = %s", (audit_id,)).fetchone() == (1,)
        tombstones = conn.execute("select table_name from raw.deleted_rows where row_id = %s", (doomed,)).fetchall()
        assert tombstones == [("contacts",)]
        assert conn.execute("select count(*) from raw.contacts where tenant_id = %s",
                            (other.tenant_id,)).fetchone() == (1,)
    _assert_raw_mirrors_source(database_url, warehouse_url)
    again = sync(database_url, warehouse_url)
    assert sum(result.rows_deleted for result in again) == 0


def test_label_removals_deletions_and_renames_reach_raw_at_the_next_incremental_load(engine, database_url,
                                                                                     warehouse_url, tenant):
    """A label taken off a conversation leaves raw; so does a deleted label with the conversations it was on (the
    cascade leaves their tombstones too); a rename is applied; a label taken off and put back stays, once; another
    tenant's labels are untouched."""
    conversation_id, kept = tenant.ids["conversations"][0], tenant.ids["labels"][0]
    with engine.begin() as conn:
        other = full_tenant(conn)
        removed, doomed, renamed = (conn.execute(insert(labels).values(
            tenant_id=tenant.tenant_id, name=name, color="#2563eb").returning(labels.c.id)).scalar_one()
            for name in ("Retirada", "Apagada", "Nome antigo"))
        for label_id in (removed, doomed, renamed):
            conn.execute(insert(conversation_labels).values(tenant_id=tenant.tenant_id,
                                                            conversation_id=conversation_id, label_id=label_id))
    sync(database_url, warehouse_url)
    with engine.begin() as conn:
        on_conversation = (conversation_labels.c.conversation_id == conversation_id)
        conn.execute(delete(conversation_labels).where(on_conversation, conversation_labels.c.label_id == removed))
        conn.execute(delete(labels).where(labels.c.id == doomed))
        conn.execute(update(labels).where(labels.c.id == renamed).values(name="Nome novo"))
        conn.execute(delete(conversation_labels).where(on_conversation, conversation_labels.c.label_id == kept))
        conn.execute(insert(conversation_labels).values(tenant_id=tenant.tenant_id, conversation_id=conversation_id,
                                                        label_id=kept))  # put back: a new row, a new id
    results = {result.table: result for result in sync(database_url, warehouse_url)}
    assert results["labels"].rows_deleted == 1
    assert results["conversation_labels"].rows_deleted == 3  # removed, the deleted label's, the first `kept`
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        on_it = conn.execute("select label_id from raw.conversation_labels where tenant_id = %s order by label_id",
                             (tenant.tenant_id,)).fetchall()
        assert on_it == sorted([(kept,), (renamed,)])
        names = dict(conn.execute("select id, name from raw.labels where tenant_id = %s",
                                  (tenant.tenant_id,)).fetchall())
        assert names == {kept: "Financeiro", removed: "Retirada", renamed: "Nome novo"}
        assert conn.execute("select count(*) from raw.conversation_labels where tenant_id = %s",
                            (other.tenant_id,)).fetchone() == (1,)
    _assert_raw_mirrors_source(database_url, warehouse_url)


def test_every_table_with_a_tombstone_trigger_is_cleaned_by_the_ingest(database_url):
    with psycopg.connect(libpq_url(database_url)) as conn:
        triggered = {row[0] for row in conn.execute(
            "select c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
            "where t.tgname = c.relname || '_deleted' and not t.tgisinternal")}
    assert triggered == TOMBSTONED
    assert TOMBSTONED <= {table.name for table in TABLES if table.key == ("id",)}


# --- documents in any grouping: the SQL functions agree with niochat.masking, and none reaches raw -----------

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st  # noqa: E402

from niochat.tables import csat_responses  # noqa: E402
from tests.support.documents import phones, sentences  # noqa: E402

SOUP = st.text(alphabet="0123456789 ./-,a(+", max_size=70)  # digits and separators in any arrangement


@pytest.fixture(scope="module")
def source_conn(database_url):
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        yield conn


@hypothesis_settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(sentences().map(lambda sentence: sentence[0]), phones(), SOUP))
def test_sql_masking_agrees_with_the_log_masking_on_generated_texts(source_conn, text):
    masked = source_conn.execute(sql.SQL("select {}").format(masked_text(sql.Literal(text)))).fetchone()[0]
    assert masked == mask_documents_in(text)


def test_the_sql_patterns_are_the_ones_of_niochat_masking():
    from importlib import import_module

    from niochat import masking

    migration = import_module("niochat.migrations.versions.0010_security")
    assert (migration.RUN, migration.MAYBE) == (masking.RUN, masking.MAYBE)


@hypothesis_settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(sentences(), min_size=8, max_size=8))
def test_documents_in_any_grouping_never_reach_the_warehouse(engine, database_url, warehouse_url, tenant, batch):
    """Messages, transcripts, CSAT comments and answers, tool errors and handoff reasons: all copied masked."""
    conversation_id, channel_id = tenant.ids["conversations"][0], tenant.ids["channels"][0]
    with engine.begin() as conn:
        for text, _ in batch:
            conn.execute(insert(messages).values(
                tenant_id=tenant.tenant_id, conversation_id=conversation_id, channel_id=channel_id,
                direction="inbound", sender_kind="customer", status="received", text=text, transcript=text))
            conn.execute(insert(tool_calls).values(
                tenant_id=tenant.tenant_id, conversation_id=conversation_id, brain="rules", tool="identify_customer",
                outcome="sgp_error", error=text, arguments={"said": text}))
        conn.execute(update(csat_responses).where(csat_responses.c.tenant_id == tenant.tenant_id).values(
            comment=batch[0][0], raw_text=batch[1][0]))
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
            handoff_reason=batch[2][0]))
    sync(database_url, warehouse_url)
    with psycopg.connect(libpq_url(warehouse_url)) as conn:
        dump = " ".join(conn.execute(sql.SQL("select coalesce(string_agg(t::text, ' '), '') from {} t").format(
            sql.Identifier(SCHEMA, table.name))).fetchone()[0] for table in TABLES)
    digits_only = re.sub(r"\D", "", dump)
    for text, numbers in batch:
        for number in numbers:
            assert number not in digits_only, f"{number} (from {text!r}) reached raw"
