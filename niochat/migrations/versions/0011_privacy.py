"""Privacy (LGPD): erased contacts, messages whose content was removed, tombstones of deleted rows, retention.

- `contacts.erased_at`: the contact was anonymised by an erasure request (`niochat privacy erase`); its phone,
  LID, name and document are gone, so the row may hold neither a phone nor a LID.
- `messages.redacted_at`: the message's content (text, transcript, media references) was removed, by an erasure
  or by the tenant's retention setting; the row stays so the metrics keep counting it.
- `deleted_rows`: one tombstone per row deleted from a table the warehouse copies (e.g. a contact merged into
  another), written by a trigger, so the incremental ingest removes it from `raw.*` and the marts at the next run
  instead of waiting for a full refresh. A tenant deleted with everything it had leaves no tombstones (the
  nightly full refresh mirrors that).
- `niochat_retention_tenants()`: the tenants whose settings ask for retention, for the worker's cron job.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Tables the warehouse copies whose key is `id`: a deleted row of one of them leaves a tombstone.
TOMBSTONED = ["users", "teams", "channels", "contacts", "conversations", "messages", "tool_calls", "csat_requests",
              "csat_responses", "audit_log"]


def upgrade() -> None:
    op.execute("""
        alter table contacts add column erased_at timestamptz;
        alter table contacts drop constraint contacts_phone_or_lid;
        alter table contacts add constraint contacts_phone_or_lid
            check (phone is not null or whatsapp_lid is not null or erased_at is not null);

        alter table messages add column redacted_at timestamptz;
        -- the retention job's scans: content not yet removed, media references still held
        create index messages_retention_idx on messages (tenant_id, created_at) where redacted_at is null;
        create index messages_media_retention_idx on messages (tenant_id, created_at) where media_url is not null;

        create table deleted_rows (
            id uuid primary key default gen_random_uuid(),
            tenant_id uuid not null references tenants(id) on delete cascade,
            table_name text not null,
            row_id uuid not null,
            created_at timestamptz not null default now(),
            updated_at timestamptz not null default now()
        );
        create index deleted_rows_sync_idx on deleted_rows (updated_at, id);
        create index deleted_rows_row_idx on deleted_rows (table_name, row_id);
        create trigger deleted_rows_updated_at before update on deleted_rows
            for each row execute function niochat_touch_updated_at();
        alter table deleted_rows enable row level security;
        create policy tenant_isolation on deleted_rows
            using (tenant_id = niochat_current_tenant()) with check (tenant_id = niochat_current_tenant());
        grant select, insert, update, delete on deleted_rows to niochat_app;
        grant select on deleted_rows to niochat_ingest;

        -- Whoever deletes (the API's RLS-bound role included) writes the tombstones through this function.
        create function niochat_record_deletions() returns trigger
        language plpgsql security definer set search_path = public as $$
        begin
            insert into deleted_rows (tenant_id, table_name, row_id)
            select gone.tenant_id, tg_table_name, gone.id from gone
            where exists (select 1 from tenants t where t.id = gone.tenant_id);
            return null;
        end $$;

        create function niochat_retention_tenants()
        returns table (tenant_id uuid, messages_days numeric, media_days numeric)
        language sql stable security definer set search_path = public as $$
            select t.id, (t.settings #>> '{retention,messages_days}')::numeric,
                   (t.settings #>> '{retention,media_days}')::numeric
            from tenants t
            where t.is_active
              and (t.settings #>> '{retention,messages_days}' is not null
                   or t.settings #>> '{retention,media_days}' is not null)
        $$;
        revoke execute on function niochat_retention_tenants() from public;
        grant execute on function niochat_retention_tenants() to niochat_app;
    """)
    for table in TOMBSTONED:
        op.execute(f"""
            create trigger {table}_deleted after delete on {table}
                referencing old table as gone for each statement execute function niochat_record_deletions();
        """)


def downgrade() -> None:
    for table in TOMBSTONED:
        op.execute(f"drop trigger {table}_deleted on {table}")
    op.execute("""
        drop function niochat_retention_tenants();
        drop function niochat_record_deletions();
        drop table deleted_rows;
        drop index messages_media_retention_idx;
        drop index messages_retention_idx;
        alter table messages drop column redacted_at;
        alter table contacts drop constraint contacts_phone_or_lid;
        -- an erased contact has neither: it keeps its history's place under a LID that names no account
        update contacts set whatsapp_lid = 'erased:' || id where phone is null and whatsapp_lid is null;
        alter table contacts add constraint contacts_phone_or_lid
            check (phone is not null or whatsapp_lid is not null);
        alter table contacts drop column erased_at;
    """)
