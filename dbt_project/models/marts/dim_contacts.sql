-- One row per customer contact; CPF/CNPJ only masked or hashed.
with contacts as (

    select * from {{ ref('stg_niochat__contacts') }}

),

conversations as (

    select
        tenant_id,
        contact_id,
        count(*) as conversations,
        min(created_at) as first_conversation_at,
        max(created_at) as last_conversation_at
    from {{ ref('stg_niochat__conversations') }}
    group by tenant_id, contact_id

),

final as (

    select
        contacts.tenant_id,
        contacts.contact_id,
        contacts.phone,
        contacts.contact_name,
        contacts.document_masked,
        contacts.document_hash,
        contacts.sgp_customer_id,
        coalesce(conversations.conversations, 0)::integer as conversations,
        conversations.first_conversation_at,
        conversations.last_conversation_at,
        contacts.created_at
    from contacts
    left join conversations
        on conversations.tenant_id = contacts.tenant_id
        and conversations.contact_id = contacts.contact_id

)

select * from final
