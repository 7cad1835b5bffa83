with source as (

    select * from {{ source('niochat', 'conversation_labels') }}

),

renamed as (

    select
        id as conversation_label_id,
        tenant_id,
        conversation_id,
        label_id,
        added_by_user_id,
        created_at as labelled_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
