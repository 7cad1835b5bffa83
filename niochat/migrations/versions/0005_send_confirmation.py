"""Exactly-once delivery and intents: outbound messages pass through 'sending' (committed before the provider
call, with sending_since) so a worker killed mid-send leaves evidence to reconcile with the provider instead
of sending blindly again; messages record the intent the brain read (for the analytics marts).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_STATUSES = "'received', 'processed', 'ignored', 'queued', 'sent', 'delivered', 'read', 'failed'"


def upgrade() -> None:
    op.execute(f"""
        alter table messages drop constraint messages_status_check;
        alter table messages add constraint messages_status_check check (status in ({OLD_STATUSES}, 'sending'));
        alter table messages add column sending_since timestamptz;
        alter table messages add column intent text;

        drop index messages_pending_idx;
        create index messages_pending_idx on messages (status, created_at)
            where status in ('received', 'queued', 'sending');

        -- Sends whose outcome nobody recorded (the worker died during the provider call): the sweeper asks
        -- the provider whether the message went out before it sends again.
        create function niochat_unconfirmed_sends(p_older_than interval)
        returns table (tenant_id uuid, conversation_id uuid, message_id uuid)
        language sql stable security definer set search_path = public as $$
            select m.tenant_id, m.conversation_id, m.id from messages m
            where m.status = 'sending' and m.sending_since < now() - p_older_than
            order by m.sending_since limit 1000
        $$;
        revoke execute on function niochat_unconfirmed_sends(interval) from public;
        grant execute on function niochat_unconfirmed_sends(interval) to niochat_app;
    """)


def downgrade() -> None:
    op.execute(f"""
        drop function niochat_unconfirmed_sends(interval);
        update messages set status = 'queued' where status = 'sending';
        drop index messages_pending_idx;
        create index messages_pending_idx on messages (status, created_at) where status in ('received', 'queued');
        alter table messages drop column intent;
        alter table messages drop column sending_since;
        alter table messages drop constraint messages_status_check;
        alter table messages add constraint messages_status_check check (status in ({OLD_STATUSES}));
    """)
