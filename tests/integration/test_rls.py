"""Row-level security and least privilege: the API's and the worker's logins see nothing without a tenant and only
its rows with one, own nothing, cannot switch to a stronger role, create or delete tenants, or call the
cross-tenant functions of the other service."""

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from niochat.database import API_LOGIN, WORKER_LOGIN, app_transaction, async_engine, login_url, tenant_transaction
from niochat.tables import metadata
from tests.support.factories import full_tenant

TABLES = sorted(metadata.tables)


def _tenant_column(table):
    return table.c.id if table.name == "tenants" else table.c.tenant_id


@pytest.fixture(scope="module")
def two_tenants(engine):
    with engine.begin() as conn:
        return full_tenant(conn), full_tenant(conn)


@pytest.fixture
async def app_engine(database_url):
    """The API's own login, as `api.app` connects."""
    engine = async_engine(login_url(database_url, API_LOGIN))
    yield engine
    await engine.dispose()


@pytest.fixture
async def worker_engine(database_url):
    engine = async_engine(login_url(database_url, WORKER_LOGIN))
    yield engine
    await engine.dispose()


API_ONLY = ["niochat_login_lookup('x@example.com')", "niochat_channel_by_key('x')"]
WORKER_ONLY = ["niochat_pending_work('1 minute', '1 minute')", "niochat_unconfirmed_sends('1 minute')",
               "niochat_live_counts()", "niochat_due_csat()", "niochat_expire_csat()", "niochat_idle_conversations()",
               "niochat_phone_handbacks()", "niochat_retention_tenants()", "niochat_due_follow_ups()"]


async def _refused(conn, statement: str, match: str = "permission denied") -> None:
    with pytest.raises(DBAPIError, match=match):
        async with conn.begin_nested():
            await conn.execute(text(statement))


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


@pytest.mark.parametrize("login", [API_LOGIN, WORKER_LOGIN])
def test_the_service_logins_own_nothing_and_have_no_special_power(engine, login):
    with engine.connect() as conn:
        role = conn.execute(text("select * from pg_roles where rolname = :login"), {"login": login}).one()
        owned = conn.scalar(text("select count(*) from pg_class c join pg_roles r on r.oid = c.relowner "
                                 "where r.rolname = :login"), {"login": login})
        functions = conn.scalar(text("select count(*) from pg_proc p join pg_roles r on r.oid = p.proowner "
                                     "where r.rolname = :login"), {"login": login})
        member_of = set(conn.execute(text(
            "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid "
            "join pg_roles u on u.oid = m.member where u.rolname = :login"), {"login": login}).scalars())
    assert role.rolcanlogin
    assert not (role.rolsuper or role.rolbypassrls or role.rolcreatedb or role.rolcreaterole or role.rolreplication)
    assert (owned, functions) == (0, 0)
    assert member_of == {"niochat_app"}


@pytest.mark.parametrize("which", ["api", "worker"])
async def test_a_service_login_cannot_switch_to_a_stronger_role_or_change_the_schema(
        two_tenants, app_engine, worker_engine, database_url, which):
    engine = app_engine if which == "api" else worker_engine
    owner = make_url(database_url).username
    async with engine.connect() as conn, conn.begin():
        assert await conn.scalar(text("select session_user")) == (API_LOGIN if which == "api" else WORKER_LOGIN)
        await _refused(conn, f'set role "{owner}"')
        await _refused(conn, "set role niochat_ingest")
        await _refused(conn, "set role postgres")
        await _refused(conn, "create table escape (id int)")
        await _refused(conn, "alter table messages disable row level security", "must be owner")
        await _refused(conn, "drop policy tenant_isolation on messages", "must be owner")
        await _refused(conn, "create or replace function niochat_current_tenant() returns uuid language sql as "
                             "$$ select null::uuid $$", "permission denied|must be owner")
        # reset role goes back to the login itself: still bound, still sees nothing without a tenant
        await conn.execute(text("reset role"))
        assert await conn.scalar(text("select count(*) from messages")) == 0


async def test_no_service_login_creates_or_deletes_tenants(two_tenants, app_engine, worker_engine):
    mine = two_tenants[0].tenant_id
    for engine in (app_engine, worker_engine):
        async with tenant_transaction(engine, mine) as conn:
            await _refused(conn, f"delete from tenants where id = '{mine}'")
            await _refused(conn, f"insert into tenants (id, slug, name) values ('{mine}', 'x', 'x')")
            await _refused(conn, "truncate tenants cascade")
    async with tenant_transaction(app_engine, mine) as conn:  # the tenant's own row stays readable and editable
        assert await conn.scalar(text("update tenants set settings = settings returning id")) == mine


async def test_each_login_calls_only_its_own_cross_tenant_functions(two_tenants, app_engine, worker_engine):
    for engine, allowed, refused in ((app_engine, API_ONLY, WORKER_ONLY), (worker_engine, WORKER_ONLY, API_ONLY)):
        async with app_transaction(engine) as conn:
            for call in allowed:
                async with conn.begin_nested():
                    await conn.execute(text(f"select * from {call}"))
            for call in refused:
                await _refused(conn, f"select * from {call}")
        # inside a tenant's transaction (role niochat_app) none of them
        async with tenant_transaction(engine, two_tenants[0].tenant_id) as conn:
            for call in API_ONLY + WORKER_ONLY:
                await _refused(conn, f"select * from {call}")
