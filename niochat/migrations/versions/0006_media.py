"""WhatsApp beyond text: media details and voice-note transcripts on messages, a text to send when a media
send fails, the transcription model per tenant, and attendants answering on the phone (the bot waits while
they talk and takes the conversation back after the tenant's silence window).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table messages add column media_file_name text;
        alter table messages add column media_size bigint check (media_size >= 0);
        alter table messages add column media_seconds integer check (media_seconds >= 0);
        alter table messages add column transcript text;
        alter table messages add column fallback_text text;

        alter table ai_configs add column transcription_model text default 'whisper-1';

        -- When a person last wrote from the instance's own phone (WhatsApp app or Web), not through NioChat.
        alter table conversations add column phone_agent_at timestamptz;

        -- Conversations a phone attendant took and then left silent longer than the tenant allows
        -- (settings.phone_handback_minutes, default 30; 0 keeps them with the humans): the bot takes them back.
        create function niochat_phone_handbacks()
        returns table (tenant_id uuid, conversation_id uuid, phone_agent_at timestamptz)
        language sql stable security definer set search_path = public as $$
            select c.tenant_id, c.id, c.phone_agent_at from conversations c join tenants t on t.id = c.tenant_id
            where c.status = 'open' and c.assignee_id is null and c.phone_agent_at is not null
              and coalesce((t.settings ->> 'phone_handback_minutes')::numeric, 30) > 0
              and c.phone_agent_at
                  < now() - make_interval(secs => coalesce((t.settings ->> 'phone_handback_minutes')::numeric, 30) * 60)
            limit 1000
        $$;
        revoke execute on function niochat_phone_handbacks() from public;
        grant execute on function niochat_phone_handbacks() to niochat_app;
    """)


def downgrade() -> None:
    op.execute("""
        drop function niochat_phone_handbacks();
        alter table conversations drop column phone_agent_at;
        alter table ai_configs drop column transcription_model;
        alter table messages drop column fallback_text;
        alter table messages drop column transcript;
        alter table messages drop column media_seconds;
        alter table messages drop column media_size;
        alter table messages drop column media_file_name;
    """)
