"""The provider's own knowledge: plans and prices, covered neighbourhoods and CEPs, payment places, opening hours,
moving house, installation times, FAQ. The bots answer from it (api/brain/knowledge.py) and never invent a price.

Coverage entries list the neighbourhoods they cover (as written; the bots compare them accent-folded) and CEP
prefixes (one to eight digits).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

CATEGORIES = ("planos", "cobertura", "pagamento", "horario", "mudanca", "instalacao", "faq")


def upgrade() -> None:
    categories = ", ".join(f"'{c}'" for c in CATEGORIES)
    op.execute(f"""
        create table knowledge_entries (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            category text not null check (category in ({categories})),
            title text not null check (length(title) between 1 and 200),
            answer text not null check (length(answer) between 1 and 2000),
            keywords text[] not null default '{{}}',
            neighbourhoods text[] not null default '{{}}',
            cep_prefixes text[] not null default '{{}}',
            is_active boolean not null default true,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now(),
            unique (tenant_id, id)
        );
        create index knowledge_entries_tenant_idx on knowledge_entries (tenant_id, category);
        create trigger knowledge_entries_updated_at before update on knowledge_entries
            for each row execute function niochat_touch_updated_at();
        alter table knowledge_entries enable row level security;
        create policy tenant_isolation on knowledge_entries
            using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
        grant select, insert, update, delete on knowledge_entries to niochat_app;
        grant select on knowledge_entries to niochat_ingest;
    """)


def downgrade() -> None:
    op.execute("drop table knowledge_entries")
