-- One row per tenant, day (in the tenant's timezone) and intent: what customers asked the bot for, and what
-- became of those conversations. Messages count on the day they were written; a conversation counts once per
-- intent, on the day it first asked for it, so sums over any date range stay exact.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'activity_date']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

asked as (

    select messages.tenant_id, messages.conversation_id, messages.intent, messages.created_at, tenants.timezone
    from {{ ref('fct_messages') }} as messages
    inner join tenants on tenants.tenant_id = messages.tenant_id
    where messages.direction = 'inbound' and messages.intent is not null

),

messages as (

    select
        tenant_id,
        {{ local_time('created_at', 'timezone') }}::date as activity_date,
        intent,
        count(*) as inbound_messages
    from asked
    group by 1, 2, 3

),

first_asked as (

    select tenant_id, conversation_id, intent, min(created_at) as first_asked_at, min(timezone) as timezone
    from asked
    group by 1, 2, 3

),

conversations as (

    select
        first_asked.tenant_id,
        {{ local_time('first_asked.first_asked_at', 'first_asked.timezone') }}::date as activity_date,
        first_asked.intent,
        count(*) as conversations,
        count(*) filter (where conversations.is_closed) as conversations_closed,
        count(*) filter (where conversations.is_resolved_by_ai) as conversations_resolved_by_ai,
        count(*) filter (where conversations.is_handed_off) as conversations_handed_off
    from first_asked
    left join {{ ref('fct_conversations') }} as conversations
        on conversations.tenant_id = first_asked.tenant_id
        and conversations.conversation_id = first_asked.conversation_id
    group by 1, 2, 3

),

final as (

    select
        messages.tenant_id,
        messages.activity_date,
        messages.intent,
        messages.inbound_messages::integer as inbound_messages,
        coalesce(conversations.conversations, 0)::integer as conversations,
        coalesce(conversations.conversations_closed, 0)::integer as conversations_closed,
        coalesce(conversations.conversations_resolved_by_ai, 0)::integer as conversations_resolved_by_ai,
        coalesce(conversations.conversations_handed_off, 0)::integer as conversations_handed_off
    from messages
    left join conversations
        on conversations.tenant_id = messages.tenant_id
        and conversations.activity_date = messages.activity_date
        and conversations.intent = messages.intent

)

select * from final
