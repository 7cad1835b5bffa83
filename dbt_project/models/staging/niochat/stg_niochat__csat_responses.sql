with source as (

    select * from {{ source('niochat', 'csat_responses') }}

),

renamed as (

    select
        id as csat_response_id,
        tenant_id,
        csat_request_id,
        conversation_id,
        rating,
        sentiment,
        comment,
        raw_text,
        understood_by,
        created_at as responded_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
