with source as (

    select * from {{ source('niochat', 'deleted_rows') }}

),

renamed as (

    select
        id as deleted_row_id,
        tenant_id,
        table_name,
        row_id,
        created_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
