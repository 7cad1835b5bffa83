"""Follow-ups the bot owes a customer: the reminder on the eve of a trust unlock's promise date, and the
re-check of a connection a short while after an unlock or a router restart.

One row per follow-up, due at `due_at`; the worker claims it (pending -> sent, a conditional update) before it
sends anything, so a follow-up goes out at most once whatever the retries. A reminder that falls outside
WhatsApp's 24-hour window is not sent: it becomes `skipped` with its reason, for the metrics and the agents.
`niochat_due_follow_ups()` lists what is due for every tenant (the worker's sweeper only).

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-06
"""

from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table follow_ups (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            conversation_id uuid not null,
            contact_id uuid not null,
            kind text not null check (kind in ('promise_reminder', 'connection_recheck')),
            due_at timestamptz not null,
            status text not null default 'pending' check (status in ('pending', 'sent', 'skipped', 'cancelled')),
            reason text,
            sent_at timestamptz,
            payload jsonb not null default '{}'::jsonb,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade,
            foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade
        );
        create index follow_ups_due_idx on follow_ups (due_at) where status = 'pending';
        create index follow_ups_conversation_idx on follow_ups (tenant_id, conversation_id, kind);
        create trigger follow_ups_updated_at before update on follow_ups
            for each row execute function niochat_touch_updated_at();
        alter table follow_ups enable row level security;
        create policy tenant_isolation on follow_ups
            using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
        grant select, insert, update, delete on follow_ups to niochat_app;
        grant select on follow_ups to niochat_ingest;

        -- Follow-ups due now, for every tenant (the sweeper enqueues one job each).
        create function niochat_due_follow_ups()
        returns table (tenant_id uuid, follow_up_id uuid)
        language sql stable security definer set search_path = public as $$
            select f.tenant_id, f.id from follow_ups f
            where f.status = 'pending' and f.due_at <= now()
            order by f.due_at limit 1000
        $$;
        revoke execute on function niochat_due_follow_ups() from public, niochat_app;
        grant execute on function niochat_due_follow_ups() to niochat_worker;
    """)


def downgrade() -> None:
    op.execute("""
        drop function niochat_due_follow_ups();
        drop table follow_ups;
    """)
