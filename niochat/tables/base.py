from sqlalchemy import Column, DateTime, ForeignKey, ForeignKeyConstraint, MetaData, func, text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()


def id_column() -> Column:
    return Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def tenant_column() -> Column:
    return Column("tenant_id", UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def ts(name: str) -> Column:
    return Column(name, DateTime(timezone=True))


def tenant_fk(column: str, table: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    """Composite (tenant_id, x) foreign key: a row can only point at rows of its own tenant."""
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete)
