with source as (

    select * from {{ source('niochat', 'messages') }}

),

renamed as (

    select
        id as message_id,
        tenant_id,
        conversation_id,
        channel_id,
        direction,
        sender_kind,
        sender_user_id,
        provider_message_id,
        content_type,
        text as message_text,
        media_mime,
        status,
        error,
        attempts,
        provider_timestamp,
        processed_at,
        sent_at,
        intent,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
