-- Each tool call with what it means for the tool outcome metrics (vocabularies: dbt_project.yml vars).
with tool_calls as (

    select * from {{ ref('stg_niochat__tool_calls') }}

),

classified as (

    select
        tenant_id,
        tool_call_id,
        conversation_id,
        message_id,
        brain,
        tool,
        outcome,
        error,
        latency_ms,
        created_at,
        loaded_at,
        {{ tool_category('tool') }} as tool_category,
        {{ tool_is_success('outcome', 'error') }} as is_success,
        {{ tool_is_error('outcome', 'error') }} as is_error
    from tool_calls

),

final as (

    select
        *,
        (is_error and tool_category in {{ sql_list(var('sgp_tool_categories')) }}) as is_sgp_error
    from classified

)

select * from final
