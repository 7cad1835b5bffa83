with source as (

    select * from {{ source('niochat', 'teams') }}

),

renamed as (

    select
        id as team_id,
        tenant_id,
        slug as team_slug,
        name as team_name,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
