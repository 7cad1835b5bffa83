-- One row per tenant; `timezone` is the one every daily and hourly figure of the tenant is computed in.
with tenants as (

    select * from {{ ref('stg_niochat__tenants') }}

),

channels as (

    select tenant_id, count(*) as channels
    from {{ ref('stg_niochat__channels') }}
    group by tenant_id

),

agents as (

    select tenant_id, count(*) as agents
    from {{ ref('stg_niochat__users') }}
    where role = 'agent' and is_active
    group by tenant_id

),

final as (

    select
        tenants.tenant_id,
        tenants.tenant_slug,
        tenants.tenant_name,
        case
            when exists (select from pg_timezone_names as zones where zones.name = tenants.timezone)
                then tenants.timezone
            else '{{ var("default_timezone") }}'
        end as timezone,
        tenants.is_active,
        coalesce(channels.channels, 0)::integer as channels,
        coalesce(agents.agents, 0)::integer as active_agents,
        tenants.created_at
    from tenants
    left join channels on channels.tenant_id = tenants.tenant_id
    left join agents on agents.tenant_id = tenants.tenant_id

)

select * from final
