-- One row per WhatsApp message. Incremental: the raw rows loaded after the newest load already here (late
-- status changes included: an updated row is loaded again).
{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'message_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook="{{ drop_deleted_rows('messages', 'message_id') }}",
        indexes=[
            {'columns': ['tenant_id', 'message_id'], 'unique': True},
            {'columns': ['source_loaded_at']},
            {'columns': ['tenant_id', 'conversation_id']},
        ],
    )
}}
-- depends_on: {{ ref('stg_niochat__deleted_rows') }}

with messages as (

    select * from {{ ref('stg_niochat__messages') }}
    {% if is_incremental() %}
    where loaded_at > {{ incremental_watermark() }}
    {% endif %}

),

final as (

    select
        tenant_id,
        message_id,
        conversation_id,
        channel_id,
        direction,
        sender_kind,
        sender_user_id,
        content_type,
        status,
        (status = 'failed') as is_failed,
        message_text,
        error,
        attempts,
        created_at,
        provider_timestamp,
        sent_at,
        updated_at,
        loaded_at as source_loaded_at,
        -- last: where `on_schema_change='append_new_columns'` put it in warehouses built before it existed
        intent
    from messages

)

select * from final
