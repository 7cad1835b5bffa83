"""The agent: dialog state per conversation, model usage per call.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table conversations add column bot_state jsonb not null default '{}'::jsonb;

        create table ai_usage (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            conversation_id uuid not null,
            model text not null,
            prompt_tokens integer not null default 0,
            completion_tokens integer not null default 0,
            latency_ms integer not null default 0,
            outcome text not null,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade
        );
        create index ai_usage_conversation_idx on ai_usage (tenant_id, conversation_id, created_at);
        create index ai_usage_sync_idx on ai_usage (updated_at, id);
        create trigger ai_usage_updated_at before update on ai_usage
            for each row execute function niochat_touch_updated_at();
        alter table ai_usage enable row level security;
        create policy tenant_isolation on ai_usage
            using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
        grant select, insert, update, delete on ai_usage to niochat_app;
        grant select on ai_usage to niochat_ingest;
    """)


def downgrade() -> None:
    op.execute("""
        drop table ai_usage;
        alter table conversations drop column bot_state;
    """)
