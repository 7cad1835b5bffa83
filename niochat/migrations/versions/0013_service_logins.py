"""Least privilege: the API and the worker log in as roles that own nothing and that row-level security binds.

`niochat_api` and `niochat_worker` may log in, and nothing else: no superuser, no CREATEDB/CREATEROLE, no
replication, no BYPASSRLS. Both are members of `niochat_app` (its table grants, under the tenant policies). The
cross-tenant helper functions run only for the login that needs them: the API the login and channel lookups, the
worker the sweeper's and the retention's; `niochat_app` itself (any tenant transaction) can call none of them.
Nobody but the owner creates or deletes tenants (the operator's CLI). Passwords are never in a migration:
`niochat db upgrade` sets them from NIOCHAT_DATABASE_API_PASSWORD / NIOCHAT_DATABASE_WORKER_PASSWORD.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

API_FUNCTIONS = ("niochat_login_lookup(text)", "niochat_channel_by_key(text)")
WORKER_FUNCTIONS = (
    "niochat_pending_work(interval, interval)", "niochat_unconfirmed_sends(interval)", "niochat_live_counts()",
    "niochat_due_csat()", "niochat_expire_csat()", "niochat_idle_conversations()", "niochat_phone_handbacks()",
    "niochat_retention_tenants()",
)
LOGINS = ("niochat_api", "niochat_worker")


def upgrade() -> None:
    for login in LOGINS:
        # Roles are the cluster's: another database on the server may have created them already. The ALTER pins
        # the attributes either way.
        op.execute(f"""
            do $$ begin
                if not exists (select from pg_roles where rolname = '{login}') then
                    create role {login} login;
                end if;
            end $$;
            alter role {login} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit;
            grant niochat_app to {login};
        """)
    for function in (*API_FUNCTIONS, *WORKER_FUNCTIONS):
        op.execute(f"revoke execute on function {function} from public, niochat_app")
    for function in API_FUNCTIONS:
        op.execute(f"grant execute on function {function} to niochat_api")
    for function in WORKER_FUNCTIONS:
        op.execute(f"grant execute on function {function} to niochat_worker")
    op.execute("revoke insert, delete, truncate on tenants from niochat_app")
    # `niochat serve` and `niochat worker` check the schema is current with their own login.
    op.execute("grant select on alembic_version to niochat_app")


def downgrade() -> None:
    op.execute("revoke select on alembic_version from niochat_app")
    op.execute("grant insert, delete on tenants to niochat_app")
    for function in (*API_FUNCTIONS, *WORKER_FUNCTIONS):
        op.execute(f"revoke execute on function {function} from niochat_api, niochat_worker")
        op.execute(f"grant execute on function {function} to niochat_app")
    # The logins and their membership stay: roles are the cluster's, other databases may use them.
