with source as (

    select * from {{ source('niochat', 'audit_log') }}

),

renamed as (

    select
        id as audit_id,
        tenant_id,
        actor_kind,
        actor_user_id,
        action,
        entity_type,
        entity_id,
        details,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
