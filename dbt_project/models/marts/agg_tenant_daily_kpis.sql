-- One row per tenant and day (in the tenant's timezone) with every KPI of the dashboards. Each count is
-- attributed to the day its event happened (started, closed, first replied, sent, answered); rates keep their
-- numerator and denominator beside them so any date range can be re-aggregated exactly.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'activity_date']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

conversations as (

    select conversations.*, tenants.timezone
    from {{ ref('fct_conversations') }} as conversations
    inner join tenants on tenants.tenant_id = conversations.tenant_id

),

started as (

    select
        tenant_id,
        {{ local_time('created_at', 'timezone') }}::date as activity_date,
        count(*) as conversations_started,
        count(*) filter (where is_handed_off) as conversations_handed_off
    from conversations
    group by 1, 2

),

closed as (

    select
        tenant_id,
        {{ local_time('closed_at', 'timezone') }}::date as activity_date,
        count(*) as conversations_closed,
        count(*) filter (where is_resolved_by_ai) as ai_resolved_conversations,
        sum(resolution_seconds) as resolution_seconds_sum
    from conversations
    where is_closed and closed_at is not null
    group by 1, 2

),

bot_replies as (

    select
        tenant_id,
        {{ local_time('first_bot_reply_at', 'timezone') }}::date as activity_date,
        count(*) as bot_first_responses,
        sum(bot_first_response_seconds) as bot_first_response_seconds_sum
    from conversations
    where bot_first_response_seconds is not null
    group by 1, 2

),

human_replies as (

    select
        tenant_id,
        {{ local_time('first_human_reply_at', 'timezone') }}::date as activity_date,
        count(*) as human_first_responses,
        sum(human_first_response_seconds) as human_first_response_seconds_sum
    from conversations
    where human_first_response_seconds is not null
    group by 1, 2

),

messages as (

    select
        messages.tenant_id,
        {{ local_time('messages.created_at', 'tenants.timezone') }}::date as activity_date,
        count(*) filter (where messages.direction = 'inbound') as inbound_messages,
        count(*) filter (where messages.direction = 'outbound') as outbound_messages
    from {{ ref('fct_messages') }} as messages
    inner join tenants on tenants.tenant_id = messages.tenant_id
    group by 1, 2

),

surveys_sent as (

    select
        surveys.tenant_id,
        {{ local_time('surveys.survey_sent_at', 'tenants.timezone') }}::date as activity_date,
        count(*) as csat_surveys_sent,
        count(*) filter (where surveys.is_answered) as csat_surveys_answered
    from {{ ref('int_csat_surveys_joined') }} as surveys
    inner join tenants on tenants.tenant_id = surveys.tenant_id
    where surveys.is_sent
    group by 1, 2

),

responses as (

    select
        responses.tenant_id,
        {{ local_time('responses.responded_at', 'tenants.timezone') }}::date as activity_date,
        count(*) as csat_responses,
        count(*) filter (where responses.is_satisfied) as csat_satisfied_responses,
        sum(responses.rating) as csat_rating_sum,
        {%- for rating in range(1, 6) %}
        count(*) filter (where responses.rating = {{ rating }}) as csat_responses_rated_{{ rating }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_csat_responses') }} as responses
    inner join tenants on tenants.tenant_id = responses.tenant_id
    group by 1, 2

),

tools as (

    select
        tool_calls.tenant_id,
        {{ local_time('tool_calls.created_at', 'tenants.timezone') }}::date as activity_date,
        count(*) as tool_calls,
        count(*) filter (where tool_calls.tool_category = 'invoice' and tool_calls.is_success) as invoices_sent,
        count(*) filter (where tool_calls.tool_category = 'ticket' and tool_calls.is_success) as tickets_opened,
        count(*) filter (where tool_calls.tool_category = 'unlock' and tool_calls.is_success) as unlocks_granted,
        count(*) filter (where tool_calls.is_sgp_error) as sgp_errors
    from {{ ref('fct_tool_calls') }} as tool_calls
    inner join tenants on tenants.tenant_id = tool_calls.tenant_id
    group by 1, 2

),

days as (

    select tenant_id, activity_date from started
    union select tenant_id, activity_date from closed
    union select tenant_id, activity_date from bot_replies
    union select tenant_id, activity_date from human_replies
    union select tenant_id, activity_date from messages
    union select tenant_id, activity_date from surveys_sent
    union select tenant_id, activity_date from responses
    union select tenant_id, activity_date from tools

),

counted as (

    select
        days.tenant_id,
        days.activity_date,
        coalesce(started.conversations_started, 0) as conversations_started,
        coalesce(started.conversations_handed_off, 0) as conversations_handed_off,
        coalesce(closed.conversations_closed, 0) as conversations_closed,
        coalesce(closed.ai_resolved_conversations, 0) as ai_resolved_conversations,
        coalesce(closed.resolution_seconds_sum, 0) as resolution_seconds_sum,
        coalesce(messages.inbound_messages, 0) as inbound_messages,
        coalesce(messages.outbound_messages, 0) as outbound_messages,
        coalesce(bot_replies.bot_first_responses, 0) as bot_first_responses,
        coalesce(bot_replies.bot_first_response_seconds_sum, 0) as bot_first_response_seconds_sum,
        coalesce(human_replies.human_first_responses, 0) as human_first_responses,
        coalesce(human_replies.human_first_response_seconds_sum, 0) as human_first_response_seconds_sum,
        coalesce(surveys_sent.csat_surveys_sent, 0) as csat_surveys_sent,
        coalesce(surveys_sent.csat_surveys_answered, 0) as csat_surveys_answered,
        coalesce(responses.csat_responses, 0) as csat_responses,
        coalesce(responses.csat_satisfied_responses, 0) as csat_satisfied_responses,
        coalesce(responses.csat_rating_sum, 0) as csat_rating_sum,
        {%- for rating in range(1, 6) %}
        coalesce(responses.csat_responses_rated_{{ rating }}, 0) as csat_responses_rated_{{ rating }},
        {%- endfor %}
        coalesce(tools.tool_calls, 0) as tool_calls,
        coalesce(tools.invoices_sent, 0) as invoices_sent,
        coalesce(tools.tickets_opened, 0) as tickets_opened,
        coalesce(tools.unlocks_granted, 0) as unlocks_granted,
        coalesce(tools.sgp_errors, 0) as sgp_errors
    from days
    left join started using (tenant_id, activity_date)
    left join closed using (tenant_id, activity_date)
    left join bot_replies using (tenant_id, activity_date)
    left join human_replies using (tenant_id, activity_date)
    left join messages using (tenant_id, activity_date)
    left join surveys_sent using (tenant_id, activity_date)
    left join responses using (tenant_id, activity_date)
    left join tools using (tenant_id, activity_date)

),

final as (

    select
        tenant_id,
        activity_date,
        conversations_started::integer as conversations_started,
        conversations_closed::integer as conversations_closed,
        inbound_messages::integer as inbound_messages,
        outbound_messages::integer as outbound_messages,
        bot_first_responses::integer as bot_first_responses,
        bot_first_response_seconds_sum::numeric(18, 3) as bot_first_response_seconds_sum,
        {{ average('bot_first_response_seconds_sum', 'bot_first_responses') }} as bot_first_response_seconds_avg,
        human_first_responses::integer as human_first_responses,
        human_first_response_seconds_sum::numeric(18, 3) as human_first_response_seconds_sum,
        {{ average('human_first_response_seconds_sum', 'human_first_responses') }}
            as human_first_response_seconds_avg,
        resolution_seconds_sum::numeric(18, 3) as resolution_seconds_sum,
        {{ average('resolution_seconds_sum', 'conversations_closed') }} as resolution_seconds_avg,
        ai_resolved_conversations::integer as ai_resolved_conversations,
        {{ percent('ai_resolved_conversations', 'conversations_closed') }} as ai_resolution_rate_pct,
        conversations_handed_off::integer as conversations_handed_off,
        {{ percent('conversations_handed_off', 'conversations_started') }} as handoff_rate_pct,
        csat_responses::integer as csat_responses,
        csat_satisfied_responses::integer as csat_satisfied_responses,
        {{ percent('csat_satisfied_responses', 'csat_responses') }} as csat_score_pct,
        csat_rating_sum::integer as csat_rating_sum,
        {{ average('csat_rating_sum', 'csat_responses', 4, 2) }} as csat_average,
        {%- for rating in range(1, 6) %}
        csat_responses_rated_{{ rating }}::integer as csat_responses_rated_{{ rating }},
        {%- endfor %}
        csat_surveys_sent::integer as csat_surveys_sent,
        csat_surveys_answered::integer as csat_surveys_answered,
        {{ percent('csat_surveys_answered', 'csat_surveys_sent') }} as csat_response_rate_pct,
        tool_calls::integer as tool_calls,
        invoices_sent::integer as invoices_sent,
        tickets_opened::integer as tickets_opened,
        unlocks_granted::integer as unlocks_granted,
        sgp_errors::integer as sgp_errors
    from counted

)

select * from final
