-- One row per conversation with its per-conversation measures. Incremental: each run recomputes only the
-- conversations whose row, messages, tool calls or survey were loaded after the newest load it has seen
-- (ingest commits its loads in `_loaded_at` order, so nothing loaded later can carry an older time).
{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'conversation_id'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook="{{ drop_deleted_rows('conversations', 'conversation_id') }}",
        indexes=[
            {'columns': ['tenant_id', 'conversation_id'], 'unique': True},
            {'columns': ['source_loaded_at']},
        ],
    )
}}
-- depends_on: {{ ref('stg_niochat__deleted_rows') }}

with

{% if is_incremental() %}
{%- set watermark = incremental_watermark() %}
changed as (

    select tenant_id, conversation_id from {{ ref('stg_niochat__conversations') }}
    where loaded_at > {{ watermark }}
    union
    select tenant_id, conversation_id from {{ ref('stg_niochat__messages') }}
    where loaded_at > {{ watermark }}
    union
    select tenant_id, conversation_id from {{ ref('int_tool_calls_classified') }}
    where loaded_at > {{ watermark }}
    union
    select tenant_id, conversation_id from {{ ref('int_csat_surveys_joined') }}
    where loaded_at > {{ watermark }}

),
{% endif %}

conversations as (

    select * from {{ ref('stg_niochat__conversations') }}
    {% if is_incremental() %}
    where (tenant_id, conversation_id) in (select tenant_id, conversation_id from changed)
    {% endif %}

),

messages as (

    select
        tenant_id,
        conversation_id,
        count(*) filter (where direction = 'inbound') as inbound_messages,
        count(*) filter (where direction = 'outbound') as outbound_messages,
        count(*) filter (where sender_kind = 'bot') as bot_messages,
        count(*) filter (where sender_kind = 'agent') as agent_messages,
        count(*) filter (where status = 'failed') as failed_messages,
        max(loaded_at) as loaded_at
    from {{ ref('stg_niochat__messages') }}
    {% if is_incremental() %}
    where (tenant_id, conversation_id) in (select tenant_id, conversation_id from changed)
    {% endif %}
    group by tenant_id, conversation_id

),

tool_calls as (

    select
        tenant_id,
        conversation_id,
        count(*) as tool_calls,
        count(*) filter (where is_sgp_error) as sgp_errors,
        max(loaded_at) as loaded_at
    from {{ ref('int_tool_calls_classified') }}
    {% if is_incremental() %}
    where (tenant_id, conversation_id) in (select tenant_id, conversation_id from changed)
    {% endif %}
    group by tenant_id, conversation_id

),

surveys as (

    select
        tenant_id,
        conversation_id,
        max(rating) as csat_rating,
        max(loaded_at) as loaded_at
    from {{ ref('int_csat_surveys_joined') }}
    {% if is_incremental() %}
    where (tenant_id, conversation_id) in (select tenant_id, conversation_id from changed)
    {% endif %}
    group by tenant_id, conversation_id

),

measured as (

    select
        conversations.tenant_id,
        conversations.conversation_id,
        conversations.channel_id,
        conversations.contact_id,
        conversations.team_id,
        conversations.assignee_user_id,
        conversations.status,
        conversations.closed_by,
        conversations.handoff_reason,
        conversations.close_reason,
        conversations.is_generated,
        conversations.created_at,
        conversations.first_bot_reply_at,
        conversations.handoff_at,
        conversations.first_human_reply_at,
        conversations.closed_at,
        coalesce(messages.inbound_messages, 0)::integer as inbound_messages,
        coalesce(messages.outbound_messages, 0)::integer as outbound_messages,
        coalesce(messages.bot_messages, 0)::integer as bot_messages,
        coalesce(messages.agent_messages, 0)::integer as agent_messages,
        coalesce(messages.failed_messages, 0)::integer as failed_messages,
        coalesce(tool_calls.tool_calls, 0)::integer as tool_calls,
        coalesce(tool_calls.sgp_errors, 0)::integer as sgp_errors,
        (conversations.status = 'closed') as is_closed,
        (conversations.handoff_at is not null) as is_handed_off,
        (conversations.status = 'closed' and coalesce(messages.agent_messages, 0) = 0) as is_resolved_by_ai,
        {{ seconds_between('conversations.created_at', 'conversations.first_bot_reply_at') }}
            as bot_first_response_seconds,
        case
            when conversations.first_human_reply_at >= conversations.handoff_at
                then {{ seconds_between('conversations.handoff_at', 'conversations.first_human_reply_at') }}
        end::numeric(14, 3) as human_first_response_seconds,
        case
            when conversations.status = 'closed'
                then {{ seconds_between('conversations.created_at', 'conversations.closed_at') }}
        end::numeric(14, 3) as resolution_seconds,
        surveys.csat_rating::smallint as csat_rating,
        conversations.updated_at,
        greatest(conversations.loaded_at, messages.loaded_at, tool_calls.loaded_at, surveys.loaded_at)
            as source_loaded_at
    from conversations
    left join messages
        on messages.tenant_id = conversations.tenant_id
        and messages.conversation_id = conversations.conversation_id
    left join tool_calls
        on tool_calls.tenant_id = conversations.tenant_id
        and tool_calls.conversation_id = conversations.conversation_id
    left join surveys
        on surveys.tenant_id = conversations.tenant_id
        and surveys.conversation_id = conversations.conversation_id

)

select * from measured
