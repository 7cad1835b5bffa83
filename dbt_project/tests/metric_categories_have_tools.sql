-- The daily tool metrics count by the vocabulary (agg_tenant_daily_kpis): invoices_sent, tickets_opened and
-- unlocks_granted are the successful calls of the invoice, ticket and unlock tools, sgp_errors the errors of the
-- tools that call the SGP. A category (or the SGP) left without a tool in seed tool_vocabulary would keep its
-- metric at zero without a word: each row returned is a metric that can no longer count anything.
with tools as (

    select category, calls_sgp from {{ ref('tool_vocabulary') }}

),

counted (metric, category) as (

    values ('invoices_sent', 'invoice'), ('tickets_opened', 'ticket'), ('unlocks_granted', 'unlock')

)

select metric from counted
where not exists (select from tools where tools.category = counted.category)

union all

select 'sgp_errors' as metric
where not exists (select from tools where tools.calls_sgp)
