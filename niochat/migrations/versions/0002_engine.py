"""Conversation engine: webhook channel lookup, one active conversation per contact, outbound retry times.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table messages add column next_attempt_at timestamptz;
        create unique index conversations_one_active_key on conversations (channel_id, contact_id)
            where status <> 'closed';

        -- A webhook names its channel only by the unguessable key: this narrow lookup is the only
        -- cross-tenant read the webhook route makes; everything after it runs under the channel's tenant.
        create function niochat_channel_by_key(p_key text)
        returns table (channel_id uuid, tenant_id uuid, provider text, instance text, token_encrypted text,
                       is_active boolean)
        language sql stable security definer set search_path = public as $$
            select c.id, c.tenant_id, c.provider, c.instance, c.token_encrypted, c.is_active and t.is_active
            from channels c join tenants t on t.id = c.tenant_id
            where c.webhook_key = p_key
        $$;
        revoke execute on function niochat_channel_by_key(text) from public;
        grant execute on function niochat_channel_by_key(text) to niochat_app;

        -- Every tenant's pending work, for the sweeper that re-enqueues what Redis lost.
        create function niochat_pending_work(p_inbound_older_than interval, p_outbound_older_than interval)
        returns table (kind text, tenant_id uuid, conversation_id uuid, message_id uuid)
        language sql stable security definer set search_path = public as $$
            select 'inbound', m.tenant_id, m.conversation_id, m.id from messages m
            where m.status = 'received' and m.created_at < now() - p_inbound_older_than
            union all
            select 'outbound', m.tenant_id, m.conversation_id, m.id from messages m
            where m.status = 'queued'
              and coalesce(m.next_attempt_at, m.created_at) < now() - p_outbound_older_than
            limit 5000
        $$;
        revoke execute on function niochat_pending_work(interval, interval) from public;
        grant execute on function niochat_pending_work(interval, interval) to niochat_app;

        -- Conversations by status for every tenant, refreshed into Redis for the live panels.
        create function niochat_live_counts()
        returns table (tenant_id uuid, status text, assigned boolean, conversations bigint)
        language sql stable security definer set search_path = public as $$
            select t.id, c.status, c.assignee_id is not null, count(c.id)
            from tenants t left join conversations c on c.tenant_id = t.id and c.status <> 'closed'
            where t.is_active group by 1, 2, 3
        $$;
        revoke execute on function niochat_live_counts() from public;
        grant execute on function niochat_live_counts() to niochat_app;
    """)


def downgrade() -> None:
    op.execute("""
        drop index conversations_one_active_key;
        alter table messages drop column next_attempt_at;
        drop function niochat_live_counts();
        drop function niochat_pending_work(interval, interval);
        drop function niochat_channel_by_key(text);
    """)
