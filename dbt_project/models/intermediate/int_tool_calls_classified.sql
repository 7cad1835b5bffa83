-- Each tool call with what it means for the tool outcome metrics: the tool's category and whether it calls the SGP
-- (seed tool_vocabulary), the outcome's kind (seed outcome_vocabulary), both generated from niochat/vocabulary.py.
-- A name the vocabulary does not know (an old or foreign one in the warehouse) is counted as category 'other',
-- calling no SGP, and an unknown outcome as 'unsuccessful': never as done (vocabulary.UNKNOWN_TOOL_CATEGORY,
-- UNKNOWN_OUTCOME_KIND; tests/unit/test_vocabulary_seeds.py keeps these defaults equal).
with tool_calls as (

    select * from {{ ref('stg_niochat__tool_calls') }}

),

tools as (

    select tool, category, calls_sgp from {{ ref('tool_vocabulary') }}

),

outcomes as (

    select outcome, kind from {{ ref('outcome_vocabulary') }}

),

named as (

    select
        tool_calls.tenant_id,
        tool_calls.tool_call_id,
        tool_calls.conversation_id,
        tool_calls.message_id,
        tool_calls.brain,
        tool_calls.tool,
        tool_calls.outcome,
        tool_calls.error,
        tool_calls.latency_ms,
        tool_calls.created_at,
        tool_calls.loaded_at,
        coalesce(tools.category, 'other') as tool_category,
        coalesce(tools.calls_sgp, false) as calls_sgp,
        coalesce(outcomes.kind, 'unsuccessful') as outcome_kind
    from tool_calls
    left join tools on tools.tool = lower(tool_calls.tool)
    left join outcomes on outcomes.outcome = lower(tool_calls.outcome)

),

classified as (

    select
        *,
        (outcome_kind = 'error' or error is not null) as is_error
    from named

),

final as (

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
        tool_category,
        calls_sgp,
        outcome_kind,
        (not is_error and outcome_kind = 'success') as is_success,
        is_error,
        (is_error and calls_sgp) as is_sgp_error
    from classified

)

select * from final
