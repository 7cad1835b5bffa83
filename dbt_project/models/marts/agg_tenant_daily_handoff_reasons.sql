-- One row per tenant, day of the handoff (in the tenant's timezone) and reason: why conversations went to humans.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'activity_date']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

handed_off as (

    select
        conversations.tenant_id,
        {{ local_time('conversations.handoff_at', 'tenants.timezone') }}::date as activity_date,
        nullif(trim(conversations.handoff_reason), '') as handoff_reason
    from {{ ref('fct_conversations') }} as conversations
    inner join tenants on tenants.tenant_id = conversations.tenant_id
    where conversations.is_handed_off

),

final as (

    select
        tenant_id,
        activity_date,
        handoff_reason,
        count(*)::integer as handoffs
    from handed_off
    group by 1, 2, 3

)

select * from final
