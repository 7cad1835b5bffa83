-- One row per tenant, day (in the tenant's timezone), tool and outcome: what the tools did, for the IA & SGP page.
-- Calls split three ways (did the thing, worked without doing it, failed); latency keeps its sum and count, so any
-- date range re-aggregates by summing.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'activity_date']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

counted as (

    select
        tool_calls.tenant_id,
        {{ local_time('tool_calls.created_at', 'tenants.timezone') }}::date as activity_date,
        tool_calls.tool,
        tool_calls.outcome,
        min(tool_calls.tool_category) as tool_category,
        count(*) as tool_calls,
        count(*) filter (where tool_calls.is_success) as successful_calls,
        count(*) filter (where tool_calls.is_error) as failed_calls,
        count(*) filter (where not tool_calls.is_success and not tool_calls.is_error) as calls_without_effect,
        count(tool_calls.latency_ms) as latency_measured_calls,
        coalesce(sum(tool_calls.latency_ms), 0) as latency_ms_sum
    from {{ ref('fct_tool_calls') }} as tool_calls
    inner join tenants on tenants.tenant_id = tool_calls.tenant_id
    group by 1, 2, 3, 4

),

final as (

    select
        tenant_id,
        activity_date,
        tool_category,
        tool,
        outcome,
        tool_calls::integer as tool_calls,
        successful_calls::integer as successful_calls,
        failed_calls::integer as failed_calls,
        calls_without_effect::integer as calls_without_effect,
        latency_measured_calls::integer as latency_measured_calls,
        latency_ms_sum::bigint as latency_ms_sum,
        {{ average('latency_ms_sum', 'latency_measured_calls', 12, 0) }} as latency_ms_avg
    from counted

)

select * from final
