-- One row per label of a tenant, with its current name and colour: a renamed label shows its new name in every
-- mart rebuilt after the rename, and a deleted label is gone (ingest removes it from raw by its tombstone, and
-- its conversations lose it with it).
with labels as (

    select * from {{ ref('stg_niochat__labels') }}

),

final as (

    select
        tenant_id,
        label_id,
        label_name,
        label_color,
        created_at,
        updated_at
    from labels

)

select * from final
