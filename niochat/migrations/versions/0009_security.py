"""Security: the platform operator's permission for a tenant's SGP on a private network (an on-premises SGP;
set with `niochat tenant sgp-private-network`, never by the tenant's own admin), and the warehouse copy's
CPF/CNPJ masking as SQL functions (the same rules as niochat.masking, for documents written in any grouping).

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04
"""

from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table tenants add column sgp_private_network boolean not null default false;
    """)


def downgrade() -> None:
    op.execute("""
        alter table tenants drop column sgp_private_network;
    """)
