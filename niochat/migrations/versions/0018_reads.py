"""Read marks: how far each user has read each conversation, for the inbox's unread counts.

One row per (user, conversation), moved forward when the user opens the conversation or reads new messages in it
(POST /conversations/{id}/read). A conversation's unread count is then its customer messages newer than the mark:
the index on messages (conversation_id, created_at) answers it per listed row. The row is about the agent's work,
not the customer (no text, no contact): LGPD exports and erasures of a customer leave it alone, and it goes with
the conversation or the user (cascades).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table conversation_reads (
            tenant_id uuid not null references tenants(id) on delete cascade,
            user_id uuid not null,
            conversation_id uuid not null,
            last_read_at timestamptz not null default now(),
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            primary key (user_id, conversation_id),
            foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade,
            foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade
        );
        create index conversation_reads_conversation_idx on conversation_reads (tenant_id, conversation_id);
        create trigger conversation_reads_updated_at before update on conversation_reads
            for each row execute function niochat_touch_updated_at();
        alter table conversation_reads enable row level security;
        create policy tenant_isolation on conversation_reads
            using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
        grant select, insert, update, delete on conversation_reads to niochat_app;
        grant select on conversation_reads to niochat_ingest;
    """)


def downgrade() -> None:
    op.execute("drop table conversation_reads;")
