-- One row per tool call, classified for the tool outcome metrics.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'created_at']}]) }}

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
        calls_sgp,
        outcome,
        outcome_kind,
        is_success,
        is_error,
        is_sgp_error,
        error,
        latency_ms,
        created_at
    from tool_calls

)

select * from final
