"""Operational schema: tenant tables, row-level security, roles, updated_at triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Every table but `tenants` carries tenant_id; RLS compares it with the transaction's tenant setting.
TENANT_TABLES = [
    "users",
    "teams",
    "team_members",
    "channels",
    "sgp_configs",
    "ai_configs",
    "contacts",
    "conversations",
    "messages",
    "tool_calls",
    "csat_requests",
    "csat_responses",
    "audit_log",
]
ALL_TABLES = ["tenants", *TENANT_TABLES]

SCHEMA = """
create function niochat_current_tenant() returns uuid language sql stable as $$
    select nullif(current_setting('niochat.tenant_id', true), '')::uuid
$$;

create function niochat_touch_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at := clock_timestamp();
    return new;
end $$;

create table tenants (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name text not null check (length(name) between 1 and 200),
    timezone text not null default 'America/Sao_Paulo',
    settings jsonb not null default '{}'::jsonb,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table teams (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    slug text not null check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, slug),
    unique (tenant_id, id)
);

create table users (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    email text not null,
    name text not null,
    password_hash text not null,
    role text not null check (role in ('superadmin', 'admin', 'manager', 'agent')),
    is_active boolean not null default true,
    last_login_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id)
);
create unique index users_email_key on users (lower(email));

create table team_members (
    tenant_id uuid not null references tenants(id) on delete cascade,
    team_id uuid not null,
    user_id uuid not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (team_id, user_id),
    foreign key (tenant_id, team_id) references teams (tenant_id, id) on delete cascade,
    foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);

create table channels (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    provider text not null check (provider in ('uazapi', 'evolution')),
    name text not null,
    base_url text not null,
    instance text not null,
    token_encrypted text not null,
    webhook_key text not null unique check (length(webhook_key) >= 32),
    connection_status text not null default 'unknown',
    connection_changed_at timestamptz,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, provider, instance),
    unique (tenant_id, id)
);

create table sgp_configs (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null unique references tenants(id) on delete cascade,
    base_url text not null,
    app text not null,
    token_encrypted text not null,
    timeout_seconds real not null default 8 check (timeout_seconds > 0),
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table ai_configs (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null unique references tenants(id) on delete cascade,
    base_url text not null,
    model text not null,
    api_key_encrypted text,
    timeout_seconds real not null default 8 check (timeout_seconds > 0),
    temperature real not null default 0.2 check (temperature between 0 and 2),
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table contacts (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    phone text not null check (phone ~ '^[0-9]{8,15}$'),
    whatsapp_lid text,
    name text,
    document_encrypted text,
    document_hash text,
    document_masked text,
    sgp_customer_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, phone),
    unique (tenant_id, id)
);
create index contacts_document_hash_idx on contacts (tenant_id, document_hash);

create table conversations (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    channel_id uuid not null,
    contact_id uuid not null,
    status text not null default 'bot' check (status in ('bot', 'waiting', 'open', 'closed')),
    assignee_id uuid,
    team_id uuid,
    sgp_customer_id text,
    sgp_contract_id text,
    handoff_reason text,
    close_reason text,
    closed_by text check (closed_by in ('bot', 'agent', 'system', 'customer')),
    closed_by_user_id uuid,
    last_message_at timestamptz,
    last_inbound_at timestamptz,
    first_bot_reply_at timestamptz,
    first_human_reply_at timestamptz,
    handoff_at timestamptz,
    assigned_at timestamptz,
    closed_at timestamptz,
    is_generated boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id),
    foreign key (tenant_id, channel_id) references channels (tenant_id, id),
    foreign key (tenant_id, contact_id) references contacts (tenant_id, id),
    foreign key (tenant_id, assignee_id) references users (tenant_id, id),
    foreign key (tenant_id, team_id) references teams (tenant_id, id),
    foreign key (tenant_id, closed_by_user_id) references users (tenant_id, id)
);
create index conversations_status_idx on conversations (tenant_id, status, last_message_at desc);
create index conversations_contact_idx on conversations (tenant_id, contact_id, created_at desc);
create index conversations_assignee_idx on conversations (tenant_id, assignee_id) where assignee_id is not null;
create index conversations_team_idx on conversations (tenant_id, team_id, status);
create index conversations_sync_idx on conversations (updated_at, id);

create table messages (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    conversation_id uuid not null,
    channel_id uuid not null,
    direction text not null check (direction in ('inbound', 'outbound')),
    sender_kind text not null check (sender_kind in ('customer', 'bot', 'agent', 'system')),
    sender_user_id uuid,
    provider_message_id text,
    idempotency_key text,
    content_type text not null default 'text'
        check (content_type in ('text', 'image', 'audio', 'video', 'document', 'sticker', 'location',
                                'contact', 'reaction', 'other')),
    text text,
    media_url text,
    media_mime text,
    quoted_provider_id text,
    status text not null
        check (status in ('received', 'processed', 'ignored', 'queued', 'sent', 'delivered', 'read', 'failed')),
    error text,
    attempts integer not null default 0,
    provider_timestamp timestamptz,
    processed_at timestamptz,
    sent_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id),
    foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade,
    foreign key (tenant_id, channel_id) references channels (tenant_id, id),
    foreign key (tenant_id, sender_user_id) references users (tenant_id, id)
);
create unique index messages_provider_id_key on messages (channel_id, provider_message_id)
    where provider_message_id is not null;
create unique index messages_idempotency_key on messages (tenant_id, idempotency_key)
    where idempotency_key is not null;
create index messages_conversation_idx on messages (tenant_id, conversation_id, created_at);
create index messages_pending_idx on messages (status, created_at) where status in ('received', 'queued');
create index messages_sync_idx on messages (updated_at, id);

create table tool_calls (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    conversation_id uuid not null,
    message_id uuid,
    brain text not null check (brain in ('openai', 'rules', 'agent')),
    tool text not null,
    arguments jsonb not null default '{}'::jsonb,
    outcome text not null,
    error text,
    latency_ms integer not null default 0 check (latency_ms >= 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade,
    foreign key (tenant_id, message_id) references messages (tenant_id, id)
);
create index tool_calls_conversation_idx on tool_calls (tenant_id, conversation_id, created_at);
create index tool_calls_sync_idx on tool_calls (updated_at, id);

create table csat_requests (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    conversation_id uuid not null unique,
    contact_id uuid not null,
    agent_id uuid,
    status text not null default 'scheduled'
        check (status in ('scheduled', 'sent', 'clarifying', 'answered', 'expired', 'skipped_window',
                          'skipped_new_conversation', 'failed')),
    scheduled_for timestamptz not null,
    sent_at timestamptz,
    answered_at timestamptz,
    expires_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, id),
    foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade,
    foreign key (tenant_id, contact_id) references contacts (tenant_id, id),
    foreign key (tenant_id, agent_id) references users (tenant_id, id)
);
create index csat_requests_due_idx on csat_requests (status, scheduled_for);
create index csat_requests_contact_idx on csat_requests (tenant_id, contact_id, status);
create index csat_requests_sync_idx on csat_requests (updated_at, id);

create table csat_responses (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    csat_request_id uuid not null unique,
    conversation_id uuid not null,
    rating smallint not null check (rating between 1 and 5),
    sentiment text check (sentiment in ('negative', 'neutral', 'positive')),
    comment text,
    raw_text text,
    understood_by text check (understood_by in ('number', 'emoji', 'lexicon', 'model')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (tenant_id, csat_request_id) references csat_requests (tenant_id, id) on delete cascade,
    foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade
);
create index csat_responses_created_idx on csat_responses (tenant_id, created_at);
create index csat_responses_sync_idx on csat_responses (updated_at, id);

create table audit_log (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenants(id) on delete cascade,
    actor_kind text not null check (actor_kind in ('user', 'bot', 'system')),
    actor_user_id uuid,
    action text not null,
    entity_type text,
    entity_id text,
    details jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (tenant_id, actor_user_id) references users (tenant_id, id)
);
create index audit_log_tenant_idx on audit_log (tenant_id, created_at desc);
create index audit_log_sync_idx on audit_log (updated_at, id);

-- Login happens before a tenant is known: this narrow function is the only cross-tenant read the API has.
create function niochat_login_lookup(p_email text)
returns table (user_id uuid, tenant_id uuid, password_hash text, role text, user_active boolean,
               tenant_active boolean)
language sql stable security definer set search_path = public as $$
    select u.id, u.tenant_id, u.password_hash, u.role, u.is_active, t.is_active
    from users u join tenants t on t.id = u.tenant_id
    where lower(u.email) = lower(p_email)
$$;
"""

ROLES = """
do $$
begin
    if not exists (select from pg_roles where rolname = 'niochat_app') then
        create role niochat_app nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'niochat_ingest') then
        create role niochat_ingest nologin bypassrls;
    end if;
end $$;
grant niochat_app to current_user;
grant niochat_ingest to current_user;
grant usage on schema public to niochat_app, niochat_ingest;
revoke execute on function niochat_login_lookup(text) from public;
grant execute on function niochat_login_lookup(text) to niochat_app;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(ROLES)
    for table in ALL_TABLES:
        column = "id" if table == "tenants" else "tenant_id"
        op.execute(f"""
            create trigger {table}_updated_at before update on {table}
                for each row execute function niochat_touch_updated_at();
            alter table {table} enable row level security;
            create policy tenant_isolation on {table}
                using ({column} = niochat_current_tenant())
                with check ({column} = niochat_current_tenant());
            grant select, insert, update, delete on {table} to niochat_app;
            grant select on {table} to niochat_ingest;
        """)


def downgrade() -> None:
    for table in reversed(ALL_TABLES):
        op.execute(f"drop table if exists {table} cascade")
    op.execute("drop function if exists niochat_login_lookup(text)")
    op.execute("drop function if exists niochat_touch_updated_at()")
    op.execute("drop function if exists niochat_current_tenant()")
    # The roles are cluster-wide and may serve other databases on the same server: they stay.
    op.execute("revoke usage on schema public from niochat_app, niochat_ingest")
