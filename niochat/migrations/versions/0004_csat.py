"""CSAT: 'unanswered' for answers that could not be read twice; sweeper functions for due surveys,
expiry and auto-close of idle bot conversations.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = ("'scheduled', 'sent', 'clarifying', 'answered', 'expired', 'skipped_window', "
            "'skipped_new_conversation', 'failed'")


def upgrade() -> None:
    op.execute(f"""
        alter table csat_requests drop constraint csat_requests_status_check;
        alter table csat_requests add constraint csat_requests_status_check
            check (status in ({STATUSES}, 'unanswered'));

        -- Surveys due now, for every tenant (the sweeper enqueues one send job each).
        create function niochat_due_csat()
        returns table (tenant_id uuid, request_id uuid)
        language sql stable security definer set search_path = public as $$
            select r.tenant_id, r.id from csat_requests r
            where r.status = 'scheduled' and r.scheduled_for <= now()
            order by r.scheduled_for limit 1000
        $$;

        -- Unanswered surveys past their expiry become 'expired'.
        create function niochat_expire_csat()
        returns integer
        language sql volatile security definer set search_path = public as $$
            with expired as (
                update csat_requests set status = 'expired'
                where status in ('sent', 'clarifying') and expires_at < now()
                returning 1
            )
            select count(*)::integer from expired
        $$;

        -- Conversations the bot is handling in which the customer went quiet longer than the tenant allows
        -- (settings.auto_close_minutes, default 30; 0 turns auto-close off).
        create function niochat_idle_conversations()
        returns table (tenant_id uuid, conversation_id uuid)
        language sql stable security definer set search_path = public as $$
            select c.tenant_id, c.id from conversations c join tenants t on t.id = c.tenant_id
            where c.status = 'bot'
              and coalesce((t.settings ->> 'auto_close_minutes')::numeric, 30) > 0
              and coalesce(c.last_message_at, c.created_at)
                  < now() - make_interval(secs => coalesce((t.settings ->> 'auto_close_minutes')::numeric, 30) * 60)
            limit 1000
        $$;

        revoke execute on function niochat_due_csat(), niochat_expire_csat(), niochat_idle_conversations()
            from public;
        grant execute on function niochat_due_csat(), niochat_expire_csat(), niochat_idle_conversations()
            to niochat_app;
    """)


def downgrade() -> None:
    op.execute(f"""
        drop function niochat_idle_conversations();
        drop function niochat_expire_csat();
        drop function niochat_due_csat();
        update csat_requests set status = 'expired' where status = 'unanswered';
        alter table csat_requests drop constraint csat_requests_status_check;
        alter table csat_requests add constraint csat_requests_status_check check (status in ({STATUSES}));
    """)
