-- One row per user (agents, managers, admins: anyone a conversation can be assigned to), for the names the
-- dashboards show. No e-mail: the dashboards and the analysts' DuckDB files identify people by name within their
-- own tenant and need no contact data; credentials never reach the warehouse at all.
with users as (

    select * from {{ ref('stg_niochat__users') }}

),

teams as (

    select
        members.tenant_id,
        members.user_id,
        string_agg(teams.team_name, ', ' order by teams.team_name) as team_names
    from {{ ref('stg_niochat__team_members') }} as members
    inner join {{ ref('stg_niochat__teams') }} as teams
        on teams.tenant_id = members.tenant_id
        and teams.team_id = members.team_id
    group by members.tenant_id, members.user_id

),

final as (

    select
        users.tenant_id,
        users.user_id,
        users.user_name,
        users.role,
        users.is_active,
        teams.team_names,
        users.created_at
    from users
    left join teams
        on teams.tenant_id = users.tenant_id
        and teams.user_id = users.user_id

)

select * from final
