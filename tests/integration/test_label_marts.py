"""Labels from the agents' desk to the managers' numbers: put on, taken off and renamed through the REST API,
erased with a person (LGPD), carried by ingest/ into raw and by dbt into dim_labels, fct_conversation_labels and
agg_tenant_daily_labels. Two tenants never see each other's labels in the marts or in the DuckDB files.

The module works in an operational database and a warehouse of its own (its numbers are exact), with the API
served on that database; the pipeline runs twice: before and after the changes.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import duckdb
import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from api.app import create_app
from ingest.dbt_command import run_dbt
from ingest.export import export_tenant
from ingest.sync import sync
from niochat import migrate, privacy
from niochat.database import async_engine, drop_database, ensure_database, libpq_url, sync_engine, tenant_transaction
from niochat.embedded import ServiceUrls
from niochat.secrets import Keyring
from tests.support.basics import TEST_SECRET
from tests.support.desk import Desk, add_conversation, api_settings, make_desk
from tests.support.servers import serving

LABEL_MARTS = ("dim_labels", "fct_conversation_labels", "agg_tenant_daily_labels")
ERASED_PHONE = "5511977770001"


@dataclass
class Build:
    returncode: int
    output: str
    marts: dict[str, list[dict]]  # every row of each label mart, read as the owner


@dataclass
class Labelled:
    database_url: str
    warehouse_url: str
    a: Desk
    b: Desk
    labels: dict[str, uuid.UUID]  # tenant A's: financeiro, urgente, antigo; tenant B's: bravo
    kept: uuid.UUID  # tenant A's conversation that keeps its labels
    erased: uuid.UUID  # tenant A's conversation of the person erased between the runs
    erasure: dict[str, int]
    first: Build
    second: Build


def _marts(warehouse_url: str) -> dict[str, list[dict]]:
    with psycopg.connect(libpq_url(warehouse_url), row_factory=dict_row) as conn:
        return {mart: conn.execute(f"select * from marts.{mart}").fetchall() for mart in LABEL_MARTS}


def _pipeline(database_url: str, warehouse_url: str) -> Build:
    sync(database_url, warehouse_url)
    built = run_dbt(warehouse_url, "build")
    return Build(built.returncode, built.stdout, _marts(warehouse_url))


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _erase(database_url: str, tenant_id: uuid.UUID, phone: str) -> dict[str, int]:
    """The erasure as `niochat privacy erase` runs it: in one transaction bound to the tenant."""
    async def main() -> dict[str, int]:
        engine = async_engine(database_url, pool_size=1, max_overflow=0)
        try:
            async with tenant_transaction(engine, tenant_id) as conn:
                done = await privacy.erase(conn, privacy.lookup(Keyring(TEST_SECRET), phone=phone),
                                           actor_kind="system", via="cli")
                return done.counts
        finally:
            await engine.dispose()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, pg_server_url, redis_url) -> Labelled:
    op_name, wh_name = f"niochat_lbl_op_{uuid.uuid4().hex[:8]}", f"niochat_lbl_wh_{uuid.uuid4().hex[:8]}"
    database_url = ensure_database(pg_server_url, op_name)
    warehouse_url = ensure_database(pg_server_url, wh_name)
    engine = sync_engine(database_url)
    try:
        migrate.upgrade(database_url)
        urls = ServiceUrls(database_url, database_url, redis_url)
        with serving(create_app(api_settings(tmp_path_factory), urls)) as base_url, \
                httpx.Client(base_url=base_url, timeout=20) as api:
            a, b = make_desk(api, engine), make_desk(api, engine)
            labels = {"financeiro": a.rows.ids["labels"][0]}  # full_tenant put it on its conversation
            for key, name, color in (("urgente", f"Urgente {a.rows.slug}", "#dc2626"),
                                     ("antigo", f"Antigo {a.rows.slug}", "#2563eb")):
                labels[key] = uuid.UUID(_ok(a.post("admin", "/labels", {"name": name, "color": color}))["id"])
            labels["bravo"] = uuid.UUID(_ok(b.post("admin", "/labels", {"name": f"Bravo {b.rows.slug}"}))["id"])
            kept = a.rows.ids["conversations"][0]
            erased = add_conversation(engine, a, "open", phone=ERASED_PHONE, name="Pessoa Apagada")
            for conversation_id, key in ((kept, "urgente"), (kept, "antigo"), (erased, "financeiro"),
                                         (erased, "urgente")):
                _ok(a.post("manager", f"/conversations/{conversation_id}/labels", {"label_id": str(labels[key])}))
            _ok(b.post("manager", f"/conversations/{b.rows.ids['conversations'][0]}/labels",
                       {"label_id": str(labels["bravo"])}))
            first = _pipeline(database_url, warehouse_url)

            _ok(a.api.delete(f"/api/v1/conversations/{kept}/labels/{labels['urgente']}", headers=a.headers("manager")))
            _ok(a.patch("admin", f"/labels/{labels['antigo']}", {"name": f"Novo {a.rows.slug}"}))
        erasure = _erase(database_url, a.tenant_id, ERASED_PHONE)
        second = _pipeline(database_url, warehouse_url)
        yield Labelled(database_url, warehouse_url, a, b, labels, kept, erased, erasure, first, second)
    finally:
        engine.dispose()
        drop_database(pg_server_url, op_name)
        drop_database(pg_server_url, wh_name)


def _of(rows: list[dict], tenant_id: uuid.UUID) -> list[dict]:
    return [row for row in rows if row["tenant_id"] == tenant_id]


def _pairs(build: Build, tenant_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    return {(row["conversation_id"], row["label_id"]) for row in _of(build.marts["fct_conversation_labels"], tenant_id)}


def _per_label(build: Build, tenant_id: uuid.UUID) -> dict[str, int]:
    """agg_tenant_daily_labels summed over days and channels, by the label's name."""
    totals: dict[str, int] = {}
    for row in _of(build.marts["agg_tenant_daily_labels"], tenant_id):
        totals[row["label_name"]] = totals.get(row["label_name"], 0) + row["conversations"]
    return totals


# --- tests --------------------------------------------------------------------------------------------------


def test_both_builds_pass_every_data_and_unit_test(labelled):
    for build in (labelled.first, labelled.second):
        assert build.returncode == 0, build.output[-6000:]
        assert "agg_tenant_daily_labels" in build.output and "labelled_conversations_counted" in build.output


def test_labels_flow_from_the_desk_to_the_marts(labelled):
    a, b, ids, first = labelled.a, labelled.b, labelled.labels, labelled.first
    slug = a.rows.slug
    names = {row["label_id"]: row["label_name"] for row in _of(first.marts["dim_labels"], a.tenant_id)}
    assert names == {ids["financeiro"]: "Financeiro", ids["urgente"]: f"Urgente {slug}",
                     ids["antigo"]: f"Antigo {slug}"}
    assert _pairs(first, a.tenant_id) == {(labelled.kept, ids["financeiro"]), (labelled.kept, ids["urgente"]),
                                          (labelled.kept, ids["antigo"]), (labelled.erased, ids["financeiro"]),
                                          (labelled.erased, ids["urgente"])}
    assert _per_label(first, a.tenant_id) == {"Financeiro": 2, f"Urgente {slug}": 2, f"Antigo {slug}": 1}
    assert {row["channel_id"] for row in _of(first.marts["agg_tenant_daily_labels"], a.tenant_id)} == {a.channel_id}
    assert {row["label_color"] for row in _of(first.marts["agg_tenant_daily_labels"], a.tenant_id)
            if row["label_id"] == ids["urgente"]} == {"#dc2626"}
    assert _per_label(first, b.tenant_id) == {"Financeiro": 1, f"Bravo {b.rows.slug}": 1}


def test_a_label_taken_off_and_a_renamed_one_show_as_they_are_after_the_next_run(labelled):
    a, ids, second = labelled.a, labelled.labels, labelled.second
    slug = a.rows.slug
    assert _pairs(second, a.tenant_id) == {(labelled.kept, ids["financeiro"]), (labelled.kept, ids["antigo"])}
    assert _per_label(second, a.tenant_id) == {"Financeiro": 1, f"Novo {slug}": 1}
    names = {row["label_id"]: row["label_name"] for row in _of(second.marts["dim_labels"], a.tenant_id)}
    assert names[ids["antigo"]] == f"Novo {slug}"  # the same label, its new name
    assert names[ids["urgente"]] == f"Urgente {slug}"  # taken off a conversation, still the tenant's label
    assert not any(f"Antigo {slug}" in str(rows) for rows in second.marts.values())
    # the other tenant's labels did not move
    assert _per_label(second, labelled.b.tenant_id) == _per_label(labelled.first, labelled.b.tenant_id)


def test_an_erased_persons_conversations_keep_no_label_in_the_warehouse(labelled):
    assert labelled.erasure["labels"] == 2 and labelled.erasure["conversations"] == 1
    with psycopg.connect(libpq_url(labelled.database_url)) as conn:
        assert conn.execute("select count(*) from conversation_labels where conversation_id = %s",
                            (labelled.erased,)).fetchone() == (0,)
    with psycopg.connect(libpq_url(labelled.warehouse_url)) as conn:
        assert conn.execute("select count(*) from raw.conversation_labels where conversation_id = %s",
                            (labelled.erased,)).fetchone() == (0,)
        # the conversation itself stays, counted by the other marts
        assert conn.execute("select count(*) from marts.fct_conversations where conversation_id = %s",
                            (labelled.erased,)).fetchone() == (1,)
    assert not any(row["conversation_id"] == labelled.erased
                   for row in labelled.second.marts["fct_conversation_labels"])


def test_the_dashboard_role_sees_only_its_tenants_labels(labelled):
    a = labelled.a
    with psycopg.connect(libpq_url(labelled.warehouse_url), row_factory=dict_row) as conn:
        for mart in LABEL_MARTS:
            with conn.transaction():
                conn.execute("set local role niochat_dash")
                assert conn.execute(f"select count(*) as n from marts.{mart}").fetchone()["n"] == 0, \
                    f"{mart}: no tenant set, nothing seen"
                conn.execute("select set_config('niochat.tenant_id', %s, true)", (str(a.tenant_id),))
                seen = conn.execute(f"select tenant_id from marts.{mart}").fetchall()
            assert seen and {row["tenant_id"] for row in seen} == {a.tenant_id}, mart
            assert len(seen) == len(_of(labelled.second.marts[mart], a.tenant_id)), mart


def test_the_duckdb_file_holds_only_the_tenants_labels(labelled, tmp_path):
    a, b = labelled.a, labelled.b
    path = tmp_path / f"{a.rows.slug}.duckdb"
    result = export_tenant(labelled.warehouse_url, a.rows.slug, path)
    with duckdb.connect(str(path), read_only=True) as conn:
        for mart in LABEL_MARTS:
            tenants = {row[0] for row in conn.execute(f"select distinct tenant_id from {mart}").fetchall()}
            assert tenants == {a.tenant_id}, mart
            assert result.rows[mart] == len(_of(labelled.second.marts[mart], a.tenant_id)), mart
        names = dict(conn.execute("select label_name, sum(conversations) from agg_tenant_daily_labels "
                                  "group by 1").fetchall())
        dump = " ".join(str(row) for mart in LABEL_MARTS for row in conn.execute(f"select * from {mart}").fetchall())
    assert names == {"Financeiro": 1, f"Novo {a.rows.slug}": 1}
    assert f"Bravo {b.rows.slug}" not in dump and str(b.tenant_id) not in dump
