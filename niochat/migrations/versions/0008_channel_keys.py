"""Channel keys: a channel may call its provider with one key and receive webhooks carrying another. Evolution
API authenticates calls with the server's global key (AUTHENTICATION_API_KEY) or the instance's own token, but
its webhooks always carry the instance's token (`apikey`); a channel set up with the global key keeps the
instance's token too, encrypted, and the webhook lookup hands that one back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LOOKUP = """
    create or replace function niochat_channel_by_key(p_key text)
    returns table (channel_id uuid, tenant_id uuid, provider text, instance text, token_encrypted text,
                   is_active boolean)
    language sql stable security definer set search_path = public as $$
        select c.id, c.tenant_id, c.provider, c.instance, {token}, c.is_active and t.is_active
        from channels c join tenants t on t.id = c.tenant_id
        where c.webhook_key = p_key
    $$;
"""


def upgrade() -> None:
    op.execute("alter table channels add column webhook_token_encrypted text")
    # The token a webhook must carry: the instance's own when the channel calls with another key.
    op.execute(LOOKUP.format(token="coalesce(c.webhook_token_encrypted, c.token_encrypted)"))


def downgrade() -> None:
    op.execute(LOOKUP.format(token="c.token_encrypted"))
    op.execute("alter table channels drop column webhook_token_encrypted")
