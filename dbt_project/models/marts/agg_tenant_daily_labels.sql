-- One row per tenant, day (in the tenant's timezone), channel and label: the conversations started that day that
-- carry the label now. A conversation counts once per label, on the day it started (as conversations_started in
-- agg_tenant_daily_kpis), so sums over any date range stay exact. Names are the labels' current ones.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'activity_date']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

per_day as (

    select
        labelled.tenant_id,
        {{ local_time('labelled.conversation_created_at', 'tenants.timezone') }}::date as activity_date,
        labelled.channel_id,
        labelled.label_id,
        count(*) as conversations
    from {{ ref('fct_conversation_labels') }} as labelled
    inner join tenants on tenants.tenant_id = labelled.tenant_id
    group by 1, 2, 3, 4

),

final as (

    select
        per_day.tenant_id,
        per_day.activity_date,
        per_day.channel_id,
        per_day.label_id,
        labels.label_name,
        labels.label_color,
        per_day.conversations::integer as conversations
    from per_day
    inner join {{ ref('dim_labels') }} as labels
        on labels.tenant_id = per_day.tenant_id
        and labels.label_id = per_day.label_id

)

select * from final
