with source as (

    select * from {{ source('niochat', 'labels') }}

),

renamed as (

    select
        id as label_id,
        tenant_id,
        name as label_name,
        color as label_color,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
