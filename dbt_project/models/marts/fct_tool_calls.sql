-- One row per tool call, classified for the tool outcome metrics.
with tool_calls as (

    select * from {{ ref('int_tool_calls_classified') }}

),

final as (

    select
        tenant_id,
        tool_call_id,
        conversation_id,
        message_id,
        brain,
        tool,
        tool_category,
        outcome,
        is_success,
        is_error,
        is_sgp_error,
        error,
        latency_ms,
        created_at
    from tool_calls

)

select * from final
