"""Dagster resources: the databases, the DuckDB export folder, and an optional progress display."""

import uuid
from pathlib import Path
from typing import Protocol

from dagster import ConfigurableResource

from niochat.settings import Settings
from pipelines.database_urls import DatabaseUrls, configured_urls


class NiochatDatabases(ConfigurableResource):
    """The operational database (read by ingest) and the warehouse. Empty fields: NioChat's own settings."""

    database_url: str = ""
    warehouse_url: str = ""

    def urls(self) -> DatabaseUrls:
        if self.database_url and self.warehouse_url:
            return DatabaseUrls(self.database_url, self.warehouse_url)
        return configured_urls()


class ExportFolder(ConfigurableResource):
    """Where the per-tenant DuckDB files go; empty: <NIOCHAT_DATA_DIR>/exports."""

    path: str = ""

    def file_for(self, tenant_slug: str) -> Path:
        folder = Path(self.path) if self.path else Settings().data_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{tenant_slug}.duckdb"


class Listener(Protocol):
    def step(self, group: str, name: str, detail: str) -> None: ...

    def expect(self, group: str, total: int) -> None: ...


# In-process listeners by key: a resource holds only config (Dagster rebuilds resources from it), so the
# reporter names its listener instead of carrying it.
_LISTENERS: dict[str, Listener] = {}


def listen(listener: Listener) -> str:
    """Register a listener; pass the key as ProgressReporter(listener=key)."""
    key = uuid.uuid4().hex
    _LISTENERS[key] = listener
    return key


def stop_listening(key: str) -> None:
    _LISTENERS.pop(key, None)


class ProgressReporter(ConfigurableResource):
    """Told what each step did; silent unless `listener` names a callback registered in this process
    (`niochat pipeline run` draws progress bars with it)."""

    listener: str = ""

    def step(self, group: str, name: str, detail: str = "") -> None:
        """One unit of work finished (a raw table, a dbt model or test, an export)."""
        if listener := _LISTENERS.get(self.listener):
            listener.step(group, name, detail)

    def expect(self, group: str, total: int) -> None:
        """How many steps a group will have, once known (the exports: one per tenant)."""
        if listener := _LISTENERS.get(self.listener):
            listener.expect(group, total)
