-- One row per CSAT answer.
-- The dashboards read one tenant at a time (RLS): the tenant-first index spares them a scan of every tenant.
{{ config(indexes=[{'columns': ['tenant_id', 'responded_at']}]) }}

with surveys as (

    select * from {{ ref('int_csat_surveys_joined') }}
    where is_answered

),

final as (

    select
        tenant_id,
        csat_response_id,
        csat_request_id,
        conversation_id,
        contact_id,
        agent_user_id,
        rating::smallint as rating,
        (rating >= 4) as is_satisfied,
        sentiment,
        comment,
        understood_by,
        survey_sent_at,
        responded_at,
        {{ seconds_between('survey_sent_at', 'responded_at') }} as response_seconds
    from surveys

)

select * from final
