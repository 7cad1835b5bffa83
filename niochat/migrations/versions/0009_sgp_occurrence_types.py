"""Ticket types per SGP installation: the tenant's own mapping of NioChat's ticket kinds (sem_conexao, lentidao,
quedas, outros) to its SGP's occurrence type ids, for kinds the names in the SGP's list do not settle.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table sgp_configs add column occurrence_types jsonb
            check (occurrence_types is null or jsonb_typeof(occurrence_types) = 'object');
    """)


def downgrade() -> None:
    op.execute("alter table sgp_configs drop column occurrence_types;")
