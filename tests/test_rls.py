"""Row-level security: the API's role sees nothing without a tenant, and only its tenant's rows with one."""

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from niochat.database import app_transaction, async_engine, tenant_transaction
from niochat.tables import metadata
from tests.factories import full_tenant

TABLES = sorted(metadata.tables)


def _tenant_column(table):
    return table.c.id if table.name == "tenants" else table.c.tenant_id


@pytest.fixture(scope="module")
def two_tenants(engine):
    with engine.begin() as conn:
        return full_tenant(conn), full_tenant(conn)


@pytest.fixture
async def app_engine(database_url):
    engine = async_engine(database_url)
    yield engine
    await engine.dispose()


def test_every_table_has_rls_enabled_with_a_policy(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
            select c.relname, c.relrowsecurity, count(p.polname) as policies
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            left join pg_policy p on p.polrelid = c.oid
            where n.nspname = 'public' and c.relkind = 'r' and c.relname <> 'alembic_version'
            group by c.relname, c.relrowsecurity
        """)
        ).all()
    assert sorted(r.relname for r in rows) == TABLES
    assert [r.relname for r in rows if not r.relrowsecurity or r.policies == 0] == []


@pytest.mark.parametrize("table_name", TABLES)
async def test_without_tenant_setting_nothing_is_visible(two_tenants, app_engine, table_name):
    table = metadata.tables[table_name]
    async with app_transaction(app_engine) as conn:
        assert await conn.scalar(select(func.count()).select_from(table)) == 0


@pytest.mark.parametrize("table_name", TABLES)
async def test_tenant_sees_only_its_own_rows(two_tenants, app_engine, table_name):
    table = metadata.tables[table_name]
    column = _tenant_column(table)
    for mine, other in (two_tenants, tuple(reversed(two_tenants))):
        async with tenant_transaction(app_engine, mine.tenant_id) as conn:
            owners = (await conn.execute(select(column))).scalars().all()
            assert owners, f"{table_name}: own rows must be visible"
            assert set(owners) == {mine.tenant_id}
            # Even asking for the other tenant's rows by tenant id returns nothing.
            assert await conn.scalar(select(func.count()).select_from(table).where(column == other.tenant_id)) == 0


@pytest.mark.parametrize("table_name", [t for t in TABLES if t != "tenants"])
async def test_rows_cannot_be_moved_or_written_into_another_tenant(two_tenants, app_engine, table_name):
    table = metadata.tables[table_name]
    mine, other = two_tenants
    with pytest.raises(DBAPIError, match="row-level security"):
        async with tenant_transaction(app_engine, mine.tenant_id) as conn:
            await conn.execute(update(table).values(tenant_id=other.tenant_id))
    async with tenant_transaction(app_engine, mine.tenant_id) as conn:
        result = await conn.execute(
            update(table).where(table.c.tenant_id == other.tenant_id).values(tenant_id=other.tenant_id)
        )
        assert result.rowcount == 0


async def test_api_role_cannot_escape_rls(two_tenants, app_engine):
    """The role the API runs as has no BYPASSRLS and cannot turn RLS off for itself."""
    async with tenant_transaction(app_engine, two_tenants[0].tenant_id) as conn:
        role = (
            await conn.execute(text("select rolbypassrls, rolsuper from pg_roles where rolname = current_user"))
        ).one()
        assert (role.rolbypassrls, role.rolsuper) == (False, False)
        with pytest.raises(DBAPIError):
            async with conn.begin_nested():
                await conn.execute(text("alter table messages disable row level security"))
        with pytest.raises(DBAPIError):
            async with conn.begin_nested():
                await conn.execute(text("set local row_security = off; select count(*) from messages"))


def test_ingest_role_bypasses_rls_read_only(two_tenants, engine):
    with engine.begin() as conn:
        conn.execute(text("set local role niochat_ingest"))
        tenants_seen = set(conn.execute(text("select distinct tenant_id from messages")).scalars())
        assert {two_tenants[0].tenant_id, two_tenants[1].tenant_id} <= tenants_seen
        with pytest.raises(DBAPIError, match="permission denied"):
            with conn.begin_nested():
                conn.execute(text("delete from messages"))
