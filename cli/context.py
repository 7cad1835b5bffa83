"""What every command needs: validated settings, logging, and the services' URLs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from niochat import migrate
from niochat.embedded import Services, ServiceUrls
from niochat.logging import configure_logging
from niochat.settings import Settings

console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}")  # providers' words may hold [brackets]
    return typer.Exit(code)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        lines = [f"  NIOCHAT_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()]
        raise fail("invalid settings:\n" + "\n".join(lines), code=2) from None
    configure_logging(settings.log_format, settings.log_level)
    return settings


@contextmanager
def running_services(settings: Settings) -> Iterator[ServiceUrls]:
    """The configured servers, or the embedded ones (started if needed, released on exit)."""
    services = Services(settings)
    try:
        urls = services.start()
    except Exception as exc:  # noqa: BLE001 - any start failure is reported the same way
        services.stop()
        raise fail(f"could not start or reach the services: {exc}") from None
    try:
        yield urls
    finally:
        services.stop()


def ensure_schema(settings: Settings, urls: ServiceUrls) -> None:
    """The operational schema at the code's revision. The embedded database is this installation's own: it is
    migrated here (a newcomer's first `niochat serve` works). A configured one is the operator's, migrated on
    purpose: refused, with the command to run."""
    current, head = migrate.current_revision(urls.database_url), migrate.head_revision()
    if current == head:
        return
    if settings.database_url is None:
        migrate.upgrade(urls.database_url)
        console.print(f"embedded database migrated to revision [bold]{head}[/] (it was at {current or 'none'})")
        return
    raise fail(f"the database schema is not up to date (revision {current or 'none'}, this version needs {head}): "
               "run `niochat db upgrade` first")
