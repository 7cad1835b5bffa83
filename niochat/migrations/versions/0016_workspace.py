"""The agents' workspace: labels on conversations, quick replies, and full-text search over messages.

Labels and quick replies are the tenant's (RLS as on every tenant table). Search indexes an expression, not a
generated column: messages are the most written table, and a stored tsvector would be computed and written into
every row (and copied to the warehouse) although only the index needs it; the expression index computes it once
per write for the index alone, and the search repeats the same expression so the planner uses it. The embedded
PostgreSQL has no `unaccent` extension, so niochat_unaccent_pt folds the Portuguese accented letters with
translate(): one letter for one, so a snippet's offsets are the original text's.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ACCENTED = "áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ"
PLAIN = "aaaaaeeeeiiiiooooouuuucnAAAAAEEEEIIIIOOOOOUUUUCN"


def upgrade() -> None:
    assert len(ACCENTED) == len(PLAIN)
    op.execute(f"""
        create function niochat_unaccent_pt(input text) returns text
        language sql immutable strict parallel safe as $$
            select translate(input, '{ACCENTED}', '{PLAIN}')
        $$;
        create index messages_search_idx on messages
            using gin (to_tsvector('portuguese'::regconfig, niochat_unaccent_pt(text)));

        create table labels (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            name text not null check (length(name) between 1 and 50),
            color text not null check (color ~ '^#[0-9a-f]{{6}}$'),
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            unique (tenant_id, id)
        );
        create unique index labels_name_key on labels (tenant_id, lower(name));
        create trigger labels_updated_at before update on labels
            for each row execute function niochat_touch_updated_at();

        create table conversation_labels (
            tenant_id uuid not null references tenants(id) on delete cascade,
            conversation_id uuid not null,
            label_id uuid not null,
            added_by_user_id uuid,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            primary key (conversation_id, label_id),
            foreign key (tenant_id, conversation_id) references conversations (tenant_id, id) on delete cascade,
            foreign key (tenant_id, label_id) references labels (tenant_id, id) on delete cascade,
            foreign key (tenant_id, added_by_user_id) references users (tenant_id, id)
        );
        create index conversation_labels_label_idx on conversation_labels (tenant_id, label_id);

        create table quick_replies (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            team_id uuid,
            shortcut text not null check (shortcut ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(shortcut) <= 40),
            text text not null check (length(text) between 1 and 4096),
            media_url text,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            unique (tenant_id, shortcut),
            foreign key (tenant_id, team_id) references teams (tenant_id, id) on delete cascade
        );
        create trigger quick_replies_updated_at before update on quick_replies
            for each row execute function niochat_touch_updated_at();
    """)
    for table in ("labels", "conversation_labels", "quick_replies"):
        op.execute(f"""
            alter table {table} enable row level security;
            create policy tenant_isolation on {table}
                using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
            grant select, insert, update, delete on {table} to niochat_app;
            grant select on {table} to niochat_ingest;
        """)


def downgrade() -> None:
    op.execute("""
        drop table quick_replies;
        drop table conversation_labels;
        drop table labels;
        drop index messages_search_idx;
        drop function niochat_unaccent_pt(text);
    """)
