with source as (

    select * from {{ source('niochat', 'conversations') }}

),

renamed as (

    select
        id as conversation_id,
        tenant_id,
        channel_id,
        contact_id,
        team_id,
        assignee_id as assignee_user_id,
        status,
        sgp_customer_id,
        sgp_contract_id,
        handoff_reason,
        close_reason,
        closed_by,
        closed_by_user_id,
        is_generated,
        created_at,
        first_bot_reply_at,
        handoff_at,
        assigned_at,
        first_human_reply_at,
        closed_at,
        last_message_at,
        last_inbound_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
