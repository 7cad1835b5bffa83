with source as (

    select * from {{ source('niochat', 'team_members') }}

),

renamed as (

    select
        tenant_id,
        team_id,
        user_id,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
