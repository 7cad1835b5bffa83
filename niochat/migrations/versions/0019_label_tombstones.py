"""Labels in the warehouse: removals and deletions of labels leave tombstones like the other copied tables.

- `conversation_labels.id`: a surrogate key beside the (conversation, label) primary key. Tombstones name one
  uuid per row (`deleted_rows.row_id`); with it the table takes the same trigger and the same ingest path as every
  other copied table, so a label taken off a conversation leaves the warehouse at the next incremental run.
- `labels_deleted`, `conversation_labels_deleted`: the tombstone triggers of migration 0011. Deleting a label
  cascades to its conversation_labels, whose trigger records them too.
- `conversation_labels_updated_at`: the touch trigger the other tables have, so any update reaches the warehouse.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        alter table conversation_labels add column id uuid not null default gen_random_uuid();
        alter table conversation_labels add constraint conversation_labels_id_key unique (id);
        create trigger conversation_labels_updated_at before update on conversation_labels
            for each row execute function niochat_touch_updated_at();
        create trigger labels_deleted after delete on labels
            referencing old table as gone for each statement execute function niochat_record_deletions();
        create trigger conversation_labels_deleted after delete on conversation_labels
            referencing old table as gone for each statement execute function niochat_record_deletions();
    """)


def downgrade() -> None:
    op.execute("""
        drop trigger conversation_labels_deleted on conversation_labels;
        drop trigger labels_deleted on labels;
        drop trigger conversation_labels_updated_at on conversation_labels;
        alter table conversation_labels drop column id;
    """)
