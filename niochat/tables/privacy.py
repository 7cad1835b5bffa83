"""Privacy bookkeeping: tombstones of deleted rows, so the incremental ingest can remove them from the warehouse."""

from sqlalchemy import Column, Index, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from niochat.tables.base import id_column, metadata, tenant_column, timestamps

# Written by a trigger (migration 0011) on every table the warehouse copies whose key is `id`; never by the code.
deleted_rows = Table(
    "deleted_rows",
    metadata,
    id_column(),
    tenant_column(),
    Column("table_name", Text, nullable=False),
    Column("row_id", UUID(as_uuid=True), nullable=False),
    *timestamps(),
    Index("deleted_rows_sync_idx", "updated_at", "id"),
    Index("deleted_rows_row_idx", "table_name", "row_id"),
)
