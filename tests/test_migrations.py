from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from niochat import migrate
from niochat.database import sync_engine
from niochat.tables import metadata


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
