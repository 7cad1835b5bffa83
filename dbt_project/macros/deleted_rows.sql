{#-
  Rows deleted at the source (a contact merged into another, a conversation folded into one): ingest/ removes them
  from raw, and leaves their tombstones in raw.deleted_rows. The table marts are rebuilt from raw every run; an
  incremental mart only replaces the rows a run selects, so its pre-hook deletes the rows whose tombstone names
  them and that raw no longer has (a key deleted and written again stays).
  Needs `-- depends_on: {{ ref('stg_niochat__deleted_rows') }}` in the model, so the view is built first.
-#}
{% macro drop_deleted_rows(source_table, key_column) %}
    {%- if is_incremental() -%}
    delete from {{ this }} as mart
    using {{ ref('stg_niochat__deleted_rows') }} as gone
    where gone.table_name = '{{ source_table }}'
      and mart.tenant_id = gone.tenant_id
      and mart.{{ key_column }} = gone.row_id
      and not exists (select 1 from {{ source('niochat', source_table) }} as still where still.id = gone.row_id)
    {%- else -%}
    select 1
    {%- endif -%}
{% endmacro %}
