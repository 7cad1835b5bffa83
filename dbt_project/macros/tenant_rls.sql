{#-
  Row-level security on the marts. The dashboard connects, `set role niochat_dash` and sets `niochat.tenant_id`
  per transaction (as the API does on the operational database): it then sees that tenant's rows only, and
  nothing when the setting is missing. The owner (dbt, the exporter) is not subject to the policy.
-#}
{#- Once per run (on-run-start): the role, and its way into the marts schema. -#}
{% macro ensure_dashboard_role() %}
    {%- set role = var('dashboard_role') -%}
    do $$
    begin
        if not exists (select from pg_roles where rolname = '{{ role }}') then
            create role {{ adapter.quote(role) }} nologin;
        end if;
        if not pg_has_role(current_user, '{{ role }}', 'member') then
            execute format('grant %I to %I', '{{ role }}', current_user);
        end if;
    exception when duplicate_object or unique_violation then
        null;  -- a concurrent run created it first
    end $$;
    create schema if not exists {{ adapter.quote('marts') }};
    grant usage on schema {{ adapter.quote('marts') }} to {{ adapter.quote(role) }};
    -- project hooks run on a connection dbt never commits: without this the role would vanish again
    commit;
{% endmacro %}

{% macro tenant_row_level_security(relation=this) %}
    {%- set role = adapter.quote(var('dashboard_role')) -%}
    alter table {{ relation }} enable row level security;
    drop policy if exists tenant_isolation on {{ relation }};
    create policy tenant_isolation on {{ relation }} for select to {{ role }}
        using (tenant_id = nullif(current_setting('niochat.tenant_id', true), '')::uuid);
    grant select on {{ relation }} to {{ role }};
{% endmacro %}
