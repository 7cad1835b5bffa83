with source as (

    select * from {{ source('niochat', 'contacts') }}

),

renamed as (

    select
        id as contact_id,
        tenant_id,
        phone,
        whatsapp_lid,
        name as contact_name,
        document_hash,
        document_masked,
        sgp_customer_id,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
