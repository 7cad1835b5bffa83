"""An index on the audit log by what an entry is about: a conversation's system events (GET
/conversations/{id}/events, the workspace asks each time a conversation is opened) and the audit route's
entity filter read one entity's entries instead of the tenant's whole log.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create index audit_log_entity_idx on audit_log (tenant_id, entity_type, entity_id, created_at)")


def downgrade() -> None:
    op.execute("drop index audit_log_entity_idx")
