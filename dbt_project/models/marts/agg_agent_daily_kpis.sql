-- One row per tenant, agent and day (in the tenant's timezone) with the KPIs of the agents' page. The rules of
-- agg_tenant_daily_kpis: each count on the day its event happened, every rate and average with its numerator and
-- denominator beside it. Whose is what: a conversation is its assignee's (the current one), a message its writer's,
-- a CSAT survey the agent it was about (the request's agent: the assignee when the chat closed).
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'activity_date']}]) }}

with tenants as (

    select tenant_id, timezone from {{ ref('dim_tenants') }}

),

conversations as (

    select conversations.*, tenants.timezone
    from {{ ref('fct_conversations') }} as conversations
    inner join tenants on tenants.tenant_id = conversations.tenant_id
    where conversations.assignee_user_id is not null

),

handled as (

    select
        tenant_id,
        assignee_user_id as agent_user_id,
        {{ local_time('created_at', 'timezone') }}::date as activity_date,
        count(*) as conversations_handled
    from conversations
    group by 1, 2, 3

),

closed as (

    select
        tenant_id,
        assignee_user_id as agent_user_id,
        {{ local_time('closed_at', 'timezone') }}::date as activity_date,
        count(*) as conversations_closed,
        sum(resolution_seconds) as resolution_seconds_sum
    from conversations
    where is_closed and closed_at is not null
    group by 1, 2, 3

),

human_replies as (

    select
        tenant_id,
        assignee_user_id as agent_user_id,
        {{ local_time('first_human_reply_at', 'timezone') }}::date as activity_date,
        count(*) as human_first_responses,
        sum(human_first_response_seconds) as human_first_response_seconds_sum
    from conversations
    where human_first_response_seconds is not null
    group by 1, 2, 3

),

messages as (

    select
        messages.tenant_id,
        messages.sender_user_id as agent_user_id,
        {{ local_time('messages.created_at', 'tenants.timezone') }}::date as activity_date,
        count(*) as agent_messages
    from {{ ref('fct_messages') }} as messages
    inner join tenants on tenants.tenant_id = messages.tenant_id
    where messages.sender_kind = 'agent' and messages.sender_user_id is not null
    group by 1, 2, 3

),

surveys_sent as (

    select
        surveys.tenant_id,
        surveys.agent_user_id,
        {{ local_time('surveys.survey_sent_at', 'tenants.timezone') }}::date as activity_date,
        count(*) as csat_surveys_sent,
        count(*) filter (where surveys.is_answered) as csat_surveys_answered
    from {{ ref('int_csat_surveys_joined') }} as surveys
    inner join tenants on tenants.tenant_id = surveys.tenant_id
    where surveys.is_sent and surveys.agent_user_id is not null
    group by 1, 2, 3

),

responses as (

    select
        responses.tenant_id,
        responses.agent_user_id,
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
    where responses.agent_user_id is not null
    group by 1, 2, 3

),

days as (

    select tenant_id, agent_user_id, activity_date from handled
    union select tenant_id, agent_user_id, activity_date from closed
    union select tenant_id, agent_user_id, activity_date from human_replies
    union select tenant_id, agent_user_id, activity_date from messages
    union select tenant_id, agent_user_id, activity_date from surveys_sent
    union select tenant_id, agent_user_id, activity_date from responses

),

counted as (

    select
        days.tenant_id,
        days.agent_user_id,
        days.activity_date,
        coalesce(handled.conversations_handled, 0) as conversations_handled,
        coalesce(closed.conversations_closed, 0) as conversations_closed,
        coalesce(closed.resolution_seconds_sum, 0) as resolution_seconds_sum,
        coalesce(human_replies.human_first_responses, 0) as human_first_responses,
        coalesce(human_replies.human_first_response_seconds_sum, 0) as human_first_response_seconds_sum,
        coalesce(messages.agent_messages, 0) as agent_messages,
        coalesce(surveys_sent.csat_surveys_sent, 0) as csat_surveys_sent,
        coalesce(surveys_sent.csat_surveys_answered, 0) as csat_surveys_answered,
        coalesce(responses.csat_responses, 0) as csat_responses,
        coalesce(responses.csat_satisfied_responses, 0) as csat_satisfied_responses,
        coalesce(responses.csat_rating_sum, 0) as csat_rating_sum,
        {%- for rating in range(1, 6) %}
        coalesce(responses.csat_responses_rated_{{ rating }}, 0) as csat_responses_rated_{{ rating }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from days
    left join handled using (tenant_id, agent_user_id, activity_date)
    left join closed using (tenant_id, agent_user_id, activity_date)
    left join human_replies using (tenant_id, agent_user_id, activity_date)
    left join messages using (tenant_id, agent_user_id, activity_date)
    left join surveys_sent using (tenant_id, agent_user_id, activity_date)
    left join responses using (tenant_id, agent_user_id, activity_date)

),

final as (

    select
        tenant_id,
        agent_user_id,
        activity_date,
        conversations_handled::integer as conversations_handled,
        conversations_closed::integer as conversations_closed,
        resolution_seconds_sum::numeric(18, 3) as resolution_seconds_sum,
        {{ average('resolution_seconds_sum', 'conversations_closed') }} as resolution_seconds_avg,
        human_first_responses::integer as human_first_responses,
        human_first_response_seconds_sum::numeric(18, 3) as human_first_response_seconds_sum,
        {{ average('human_first_response_seconds_sum', 'human_first_responses') }}
            as human_first_response_seconds_avg,
        agent_messages::integer as agent_messages,
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
        {{ percent('csat_surveys_answered', 'csat_surveys_sent') }} as csat_response_rate_pct
    from counted

)

select * from final
