"""`gunicorn dash_app.wsgi:server`: the dashboards built from the environment (NIOCHAT_DATABASE_URL,
NIOCHAT_WAREHOUSE_URL, NIOCHAT_REDIS_URL and NIOCHAT_SECRET_KEY are required: a WSGI worker does not start
embedded services; `niochat dash` does)."""

from __future__ import annotations

from dash_app.app import create_app
from niochat.embedded import ServiceUrls
from niochat.logging import configure_logging
from niochat.settings import Settings


def _urls(settings: Settings) -> ServiceUrls:
    missing = [name for name, value in (("NIOCHAT_DATABASE_URL", settings.database_url),
                                        ("NIOCHAT_REDIS_URL", settings.redis_url),
                                        ("NIOCHAT_SECRET_KEY", settings.secret_key)) if not value]
    if missing:
        raise RuntimeError(f"dash_app.wsgi needs {', '.join(missing)} (or run `niochat dash`)")
    warehouse_url = settings.warehouse_url
    if not warehouse_url:
        from sqlalchemy.engine import make_url

        from niochat.embedded import WAREHOUSE_SUFFIX, _database_name

        name = _database_name(settings.database_url) + WAREHOUSE_SUFFIX
        warehouse_url = make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)
    return ServiceUrls(settings.database_url, warehouse_url, settings.redis_url)


settings = Settings()
configure_logging(settings.log_format, settings.log_level)
app = create_app(settings, _urls(settings))
server = app.server
