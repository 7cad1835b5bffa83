"""Tokens and dashboard sessions that end when their user changes: a version per user, in every token.

`users.token_version` goes up, by a trigger, whenever the password changes, the user is disabled, their role
or tenant changes, or they log out everywhere; tokens and dashboard sessions carry the version they were issued
with and are refused once it differs. One trigger covers every way a user row is changed (API, CLI, SQL).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LOOKUP = """
create function niochat_login_lookup(p_email text)
returns table (user_id uuid, tenant_id uuid, password_hash text, role text, user_active boolean,
               tenant_active boolean{extra})
language sql stable security definer set search_path = public as $$
    select u.id, u.tenant_id, u.password_hash, u.role, u.is_active, t.is_active{extra_select}
    from users u join tenants t on t.id = u.tenant_id
    where lower(u.email) = lower(p_email)
$$;
revoke execute on function niochat_login_lookup(text) from public;
grant execute on function niochat_login_lookup(text) to niochat_app;
"""


def upgrade() -> None:
    op.execute("""
        alter table users add column token_version integer not null default 0;

        create function niochat_users_token_version() returns trigger language plpgsql as $$
        begin
            if new.password_hash is distinct from old.password_hash
               or (old.is_active and not new.is_active)
               or new.role is distinct from old.role
               or new.tenant_id is distinct from old.tenant_id then
                new.token_version := greatest(new.token_version, old.token_version + 1);
            end if;
            return new;
        end $$;
        create trigger users_token_version before update on users
            for each row execute function niochat_users_token_version();

        drop function niochat_login_lookup(text);
    """)
    op.execute(LOOKUP.format(extra=", token_version integer", extra_select=", u.token_version"))


def downgrade() -> None:
    op.execute("drop function niochat_login_lookup(text);")
    op.execute(LOOKUP.format(extra="", extra_select=""))
    op.execute("""
        drop trigger users_token_version on users;
        drop function niochat_users_token_version();
        alter table users drop column token_version;
    """)
