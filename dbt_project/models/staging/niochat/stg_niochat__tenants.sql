with source as (

    select * from {{ source('niochat', 'tenants') }}

),

renamed as (

    select
        id as tenant_id,
        slug as tenant_slug,
        name as tenant_name,
        timezone,
        is_active,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
