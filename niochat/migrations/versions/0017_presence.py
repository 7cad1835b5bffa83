"""Assignment and people: each agent's capacity, when they were last auto-assigned, and which teams assign
automatically.

Presence itself lives in Redis (niochat.live_keys): it is live state that must vanish when a browser goes away.
`teams.auto_assign` is off by default, so a tenant's agents keep taking from the queue until an admin turns it on.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table users add column capacity integer not null default 5 check (capacity between 0 and 100);
        alter table users add column last_assigned_at timestamptz;
        alter table teams add column auto_assign boolean not null default false;
    """)


def downgrade() -> None:
    op.execute("""
        alter table teams drop column auto_assign;
        alter table users drop column last_assigned_at;
        alter table users drop column capacity;
    """)
