"""Channel webhook keys stored as hashes: the key is shown once (channel created, key rotated), never again.

`channels.webhook_key` becomes `webhook_key_sha256` (hex SHA-256 of the key, hashed in place, so every existing
webhook URL keeps working) beside `webhook_key_hint` (its last 4 characters, to recognise a URL by). The
webhook lookup `niochat_channel_by_key` now takes the hash: the key itself never reaches the database.

Downgrade cannot bring the keys back: each channel's key becomes its hash (64 hex characters, as unguessable),
so after a downgrade every channel needs its webhook URL set again (`niochat channel setup`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LOOKUP = """
    create function niochat_channel_by_key({parameter} text)
    returns table (channel_id uuid, tenant_id uuid, provider text, instance text, token_encrypted text,
                   is_active boolean)
    language sql stable security definer set search_path = public as $$
        select c.id, c.tenant_id, c.provider, c.instance, coalesce(c.webhook_token_encrypted, c.token_encrypted),
               c.is_active and t.is_active
        from channels c join tenants t on t.id = c.tenant_id
        where c.{column} = {parameter}
    $$;
    revoke execute on function niochat_channel_by_key(text) from public;
    grant execute on function niochat_channel_by_key(text) to niochat_api;  -- the API's login only (0013)
"""


def upgrade() -> None:
    op.execute("""
        drop function niochat_channel_by_key(text);
        alter table channels drop constraint channels_webhook_key_check;
        alter table channels rename column webhook_key to webhook_key_sha256;
        alter table channels add column webhook_key_hint text not null default '';
        update channels set webhook_key_hint = right(webhook_key_sha256, 4),
                            webhook_key_sha256 = encode(sha256(convert_to(webhook_key_sha256, 'UTF8')), 'hex');
        alter table channels alter column webhook_key_hint drop default;
        alter table channels rename constraint channels_webhook_key_key to channels_webhook_key_sha256_key;
        alter table channels add constraint channels_webhook_key_sha256_check
            check (webhook_key_sha256 ~ '^[0-9a-f]{64}$');
    """)
    op.execute(LOOKUP.format(parameter="p_key_sha256", column="webhook_key_sha256"))


def downgrade() -> None:
    op.execute("""
        drop function niochat_channel_by_key(text);
        alter table channels drop constraint channels_webhook_key_sha256_check;
        alter table channels drop column webhook_key_hint;
        alter table channels rename constraint channels_webhook_key_sha256_key to channels_webhook_key_key;
        alter table channels rename column webhook_key_sha256 to webhook_key;
        alter table channels add constraint channels_webhook_key_check check (length(webhook_key) >= 32);
    """)
    op.execute(LOOKUP.format(parameter="p_key", column="webhook_key"))
