"""Search through the GIN index under row-level security: the tenant's messages matching a tsquery.

Under RLS the planner may use an index only for a leakproof condition, and `@@` (ts_match_vq) is not: as the
API's role, migration 0016's index was never used and every search computed to_tsvector for every message
of the tenant (77 s for "boleto" over 1M messages, bench/workspace.py). This function runs as the owner, which
RLS does not bind, so the index answers; it filters by the same tenant setting the policies use
(niochat_current_tenant()), so it returns only the current tenant's rows, and the search still joins what it
returns to conversations as the RLS-bound role (the agent's scope, and the tenant checked a second time).
Only ids, conversations and times come out; the texts of the page shown are read under RLS.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create function niochat_message_matches(query tsquery)
        returns table (message_id uuid, conversation_id uuid, created_at timestamptz)
        language sql stable security definer set search_path = public as $$
            select m.id, m.conversation_id, m.created_at from messages m
            where m.tenant_id = niochat_current_tenant() and m.redacted_at is null
              and to_tsvector('portuguese'::regconfig, niochat_unaccent_pt(m.text)) @@ query
        $$;
        revoke execute on function niochat_message_matches(tsquery) from public;
        grant execute on function niochat_message_matches(tsquery) to niochat_app;
    """)


def downgrade() -> None:
    op.execute("drop function niochat_message_matches(tsquery)")
