"""Customers known only by their WhatsApp LID, edited messages, and list/button choices.

WhatsApp hides many senders' numbers behind an `...@lid` address: such a contact has no phone until a later
event reveals it, so `contacts.phone` may be empty and the LID identifies the contact instead (unique per tenant,
like the phone). Messages keep when they were edited and the id of the list row or button a customer picked.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table contacts alter column phone drop not null;
        -- A LID names one WhatsApp account: a second contact holding it is a copy (keep the oldest's claim).
        update contacts c set whatsapp_lid = null
        where whatsapp_lid is not null and exists (
            select 1 from contacts o where o.tenant_id = c.tenant_id and o.whatsapp_lid = c.whatsapp_lid
              and (o.created_at, o.id) < (c.created_at, c.id));
        create unique index contacts_tenant_lid_key on contacts (tenant_id, whatsapp_lid)
            where whatsapp_lid is not null;
        alter table contacts add constraint contacts_phone_or_lid
            check (phone is not null or whatsapp_lid is not null);

        alter table messages add column edited_at timestamptz;
        alter table messages add column choice_id text;
    """)


def downgrade() -> None:
    op.execute("""
        alter table messages drop column choice_id;
        alter table messages drop column edited_at;
        alter table contacts drop constraint contacts_phone_or_lid;
        drop index contacts_tenant_lid_key;
        update contacts set phone = 'lid:' || whatsapp_lid where phone is null;
        alter table contacts alter column phone set not null;
    """)
