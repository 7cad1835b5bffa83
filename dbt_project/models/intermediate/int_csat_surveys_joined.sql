-- One row per CSAT survey with its answer (if any). A survey that was answered was necessarily sent, even when
-- the engine did not record `sent_at`: its send time then falls back to the answer's.
with requests as (

    select * from {{ ref('stg_niochat__csat_requests') }}

),

responses as (

    select * from {{ ref('stg_niochat__csat_responses') }}

),

joined as (

    select
        requests.tenant_id,
        requests.csat_request_id,
        requests.conversation_id,
        requests.contact_id,
        requests.agent_user_id,
        requests.status as survey_status,
        requests.scheduled_for,
        coalesce(requests.sent_at, requests.answered_at, responses.responded_at) as survey_sent_at,
        (requests.sent_at is not null or responses.csat_response_id is not null) as is_sent,
        (responses.csat_response_id is not null) as is_answered,
        responses.csat_response_id,
        responses.rating,
        responses.sentiment,
        responses.comment,
        responses.understood_by,
        responses.responded_at,
        greatest(requests.loaded_at, responses.loaded_at) as loaded_at
    from requests
    left join responses
        on responses.tenant_id = requests.tenant_id
        and responses.csat_request_id = requests.csat_request_id

)

select * from joined
