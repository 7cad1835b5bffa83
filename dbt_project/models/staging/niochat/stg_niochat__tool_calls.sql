with source as (

    select * from {{ source('niochat', 'tool_calls') }}

),

renamed as (

    select
        id as tool_call_id,
        tenant_id,
        conversation_id,
        message_id,
        brain,
        tool,
        arguments,
        outcome,
        error,
        latency_ms,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
