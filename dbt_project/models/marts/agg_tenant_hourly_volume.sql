-- One row per tenant and hour (wall-clock time in the tenant's timezone) with some activity.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'hour_start_local']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

messages as (

    select
        messages.tenant_id,
        date_trunc('hour', {{ local_time('messages.created_at', 'tenants.timezone') }}) as hour_start_local,
        count(*) filter (where messages.direction = 'inbound') as inbound_messages,
        count(*) filter (where messages.direction = 'outbound') as outbound_messages
    from {{ ref('fct_messages') }} as messages
    inner join tenants on tenants.tenant_id = messages.tenant_id
    group by 1, 2

),

started as (

    select
        conversations.tenant_id,
        date_trunc('hour', {{ local_time('conversations.created_at', 'tenants.timezone') }}) as hour_start_local,
        count(*) as conversations_started
    from {{ ref('fct_conversations') }} as conversations
    inner join tenants on tenants.tenant_id = conversations.tenant_id
    group by 1, 2

),

handoffs as (

    select
        conversations.tenant_id,
        date_trunc('hour', {{ local_time('conversations.handoff_at', 'tenants.timezone') }}) as hour_start_local,
        count(*) as handoffs
    from {{ ref('fct_conversations') }} as conversations
    inner join tenants on tenants.tenant_id = conversations.tenant_id
    where conversations.handoff_at is not null
    group by 1, 2

),

hours as (

    select tenant_id, hour_start_local from messages
    union select tenant_id, hour_start_local from started
    union select tenant_id, hour_start_local from handoffs

),

final as (

    select
        hours.tenant_id,
        hours.hour_start_local::timestamp as hour_start_local,
        hours.hour_start_local::date as activity_date,
        extract(hour from hours.hour_start_local)::smallint as hour_of_day,
        extract(isodow from hours.hour_start_local)::smallint as day_of_week,
        coalesce(messages.inbound_messages, 0)::integer as inbound_messages,
        coalesce(messages.outbound_messages, 0)::integer as outbound_messages,
        coalesce(started.conversations_started, 0)::integer as conversations_started,
        coalesce(handoffs.handoffs, 0)::integer as handoffs
    from hours
    left join messages using (tenant_id, hour_start_local)
    left join started using (tenant_id, hour_start_local)
    left join handoffs using (tenant_id, hour_start_local)

)

select * from final
