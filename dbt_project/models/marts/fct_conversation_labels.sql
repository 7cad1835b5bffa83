-- One row per label on a conversation (the bridge between fct_conversations and dim_labels), as the labels are
-- now: a label taken off a conversation, or deleted, leaves raw by its tombstone and so leaves this table at the
-- next build (a table, rebuilt every run: nothing stale can stay behind).
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'label_id']}]) }}

with conversation_labels as (

    select * from {{ ref('stg_niochat__conversation_labels') }}

),

final as (

    select
        conversation_labels.tenant_id,
        conversation_labels.conversation_id,
        conversation_labels.label_id,
        conversations.channel_id,
        conversation_labels.added_by_user_id,
        conversation_labels.labelled_at,
        conversations.created_at as conversation_created_at
    from conversation_labels
    -- both are loaded in the same snapshot as the label rows, before them: the joins lose nothing
    inner join {{ ref('fct_conversations') }} as conversations
        on conversations.tenant_id = conversation_labels.tenant_id
        and conversations.conversation_id = conversation_labels.conversation_id
    inner join {{ ref('dim_labels') }} as labels
        on labels.tenant_id = conversation_labels.tenant_id
        and labels.label_id = conversation_labels.label_id

)

select * from final
