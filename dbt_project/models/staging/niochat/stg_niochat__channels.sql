with source as (

    select * from {{ source('niochat', 'channels') }}

),

renamed as (

    select
        id as channel_id,
        tenant_id,
        provider,
        name as channel_name,
        instance,
        connection_status,
        connection_changed_at,
        is_active,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
