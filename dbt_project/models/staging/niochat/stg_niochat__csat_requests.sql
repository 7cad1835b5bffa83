with source as (

    select * from {{ source('niochat', 'csat_requests') }}

),

renamed as (

    select
        id as csat_request_id,
        tenant_id,
        conversation_id,
        contact_id,
        agent_id as agent_user_id,
        status,
        scheduled_for,
        sent_at,
        answered_at,
        expires_at,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
