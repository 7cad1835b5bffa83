{#- Small formula helpers shared by the marts; each metric's formula is documented in its model's YAML. -#}

{#- A timestamptz as wall-clock time in the tenant's timezone. -#}
{% macro local_time(ts, timezone) -%}
    ({{ ts }} at time zone {{ timezone }})
{%- endmacro %}

{#- Seconds from `start` to `end` (null when either is null). -#}
{% macro seconds_between(start, end) -%}
    (extract(epoch from ({{ end }}) - ({{ start }})))::numeric(14, 3)
{%- endmacro %}

{#- 100 * numerator / denominator, two decimals; null when there is nothing to divide by. -#}
{% macro percent(numerator, denominator) -%}
    (case when ({{ denominator }}) > 0 then round(100.0 * ({{ numerator }}) / ({{ denominator }}), 2) end)::numeric(5, 2)
{%- endmacro %}

{#- sum / count, with `scale` decimals; null when count is 0. -#}
{% macro average(total, count, precision=14, scale=3) -%}
    (case when ({{ count }}) > 0 then round(({{ total }})::numeric / ({{ count }}), {{ scale }}) end)::numeric({{ precision }}, {{ scale }})
{%- endmacro %}

{% macro sql_list(values) -%}
    ({% for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#-
  The newest `column` already in this incremental model, as a timestamptz literal: filters written with it are
  planned with real estimates (and the raw tables' _loaded_at indexes), unlike a scalar subquery.
-#}
{% macro incremental_watermark(column='source_loaded_at') -%}
    {%- if execute -%}
        {%- set result = run_query("select coalesce(max(" ~ column ~ "), '-infinity'::timestamptz)::text from " ~ this) -%}
        '{{ result.columns[0].values()[0] }}'::timestamptz
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}
