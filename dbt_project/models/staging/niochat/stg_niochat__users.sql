with source as (

    select * from {{ source('niochat', 'users') }}

),

renamed as (

    select
        id as user_id,
        tenant_id,
        email,
        name as user_name,
        role,
        is_active,
        last_login_at,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
