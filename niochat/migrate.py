"""Alembic migrations run programmatically (`niochat db ...`), with the URL passed in, not read from a file."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql

from niochat.database import API_LOGIN, WORKER_LOGIN, libpq_url, sync_engine
from niochat.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def set_login_passwords(database_url: str, settings: Settings) -> list[str]:
    """The API's and the worker's logins get the passwords given to this command's environment (never written in a
    migration); the logins without one keep theirs. Returns the logins changed."""
    given = {API_LOGIN: settings.database_api_password, WORKER_LOGIN: settings.database_worker_password}
    changed = [login for login, password in given.items() if password]
    if changed:
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            for login in changed:
                conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(login),
                                                                        sql.Literal(given[login])))
    return changed


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    engine = sync_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://unused/")).get_current_head()
