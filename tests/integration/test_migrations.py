from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from niochat import channel_keys, migrate
from niochat.database import sync_engine
from niochat.tables import channels, metadata


def _tables(url: str) -> set[str]:
    engine = sync_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url):
    url = empty_database_url
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    assert _tables(url) == set(metadata.tables)
    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None
    assert _tables(url) == set()
    migrate.upgrade(url)  # down must leave nothing that blocks going up again
    assert _tables(url) == set(metadata.tables)


def test_table_definitions_match_the_migrations(database_url):
    """The Core tables the code queries with are exactly what the migrations built."""
    engine = sync_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [
                d
                for d in compare_metadata(context, metadata)
                if d[0] != "remove_table" or d[1].name != "alembic_version"
            ]
    finally:
        engine.dispose()
    assert diff == []


def test_existing_channels_keep_their_webhook_urls_through_the_key_hashing(empty_database_url):
    """Migration 0014 hashes the keys in place: a webhook URL given to a provider before it still finds its
    channel (by the hash of the key in the URL), and the key itself is no longer stored."""
    url = empty_database_url
    migrate.upgrade(url, "0013")
    key = channel_keys.new_key()
    engine = sync_engine(url)
    try:
        with engine.begin() as conn:
            tenant_id = conn.scalar(text("insert into tenants (slug, name) values ('antes', 'Antes') returning id"))
            channel_id = conn.scalar(text(
                "insert into channels (tenant_id, provider, name, base_url, instance, token_encrypted, webhook_key)"
                " values (:tenant, 'uazapi', 'zap', 'https://x.uazapi.com', 'zap', 'tok', :key) returning id"),
                {"tenant": tenant_id, "key": key})
        migrate.upgrade(url)
        with engine.connect() as conn:
            row = conn.execute(select(channels).where(channels.c.id == channel_id)).one()
            found = conn.execute(text("select channel_id, is_active from niochat_channel_by_key(:hashed)"),
                                 {"hashed": channel_keys.key_hash(key)}).all()
        assert (row.webhook_key_sha256, row.webhook_key_hint) == (channel_keys.key_hash(key), key[-4:])
        assert key not in str(tuple(row)) and found == [(channel_id, True)]
        migrate.downgrade(url, "0013")  # the keys cannot come back: each channel's becomes its hash
        with engine.connect() as conn:
            assert conn.scalar(text("select webhook_key from channels")) == channel_keys.key_hash(key)
    finally:
        engine.dispose()
