"""Internal notes: what agents write in a conversation for each other, stored beside it and never sent.

A table of its own, not messages with a flag: nothing that sends (the delivery job, the sweeper) reads it, so a
note cannot reach the customer by a mistake in a status filter. Row-level security as on every tenant table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table conversation_notes (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            conversation_id uuid not null,
            author_user_id uuid,
            text text not null check (length(text) between 1 and 4000),
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade,
            foreign key (tenant_id, author_user_id) references users (tenant_id, id)
        );
        create index conversation_notes_conversation_idx on conversation_notes (tenant_id, conversation_id,
                                                                                created_at);
        create trigger conversation_notes_updated_at before update on conversation_notes
            for each row execute function niochat_touch_updated_at();
        alter table conversation_notes enable row level security;
        create policy tenant_isolation on conversation_notes
            using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
        grant select, insert, update, delete on conversation_notes to niochat_app;
        grant select on conversation_notes to niochat_ingest;
    """)


def downgrade() -> None:
    op.execute("drop table conversation_notes")
