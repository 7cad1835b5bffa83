"""Where the pipelines find the databases: explicit URLs, else NioChat's settings (embedded server when unset)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from niochat.database import ensure_database, server_url_for
from niochat.embedded import OPERATIONAL_DB, WAREHOUSE_SUFFIX, EmbeddedPostgres
from niochat.settings import Settings


@dataclass(frozen=True)
class DatabaseUrls:
    database_url: str
    warehouse_url: str


@cache
def configured_urls() -> DatabaseUrls:
    """From NIOCHAT_DATABASE_URL / NIOCHAT_WAREHOUSE_URL; with no database URL, the embedded PostgreSQL under
    NIOCHAT_DATA_DIR (started if needed, kept for this process's lifetime). Redis is not needed here."""
    settings = Settings()
    if settings.database_url:
        database_url = settings.database_url
    else:
        admin_url = EmbeddedPostgres(settings.data_dir).start()
        database_url = ensure_database(admin_url, OPERATIONAL_DB)
    warehouse_url = settings.warehouse_url or ensure_database(
        server_url_for(database_url), _database_name(database_url) + WAREHOUSE_SUFFIX
    )
    return DatabaseUrls(database_url, warehouse_url)


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or "postgres"
