{#-
  What a tool call did, in the words of the tool outcome metrics. The brains store `tool` and `outcome` as short
  codes; the vocabularies live in dbt_project.yml vars (`tool_categories`, `tool_error_outcomes`,
  `tool_unsuccessful_outcomes`) so a new tool name is one line there.
-#}
{% macro tool_category(tool) -%}
    case
    {%- for category, patterns in var('tool_categories').items() %}
        when {% for pattern in patterns %}lower({{ tool }}) like '{{ pattern }}'{{ " or " if not loop.last }}{% endfor %} then '{{ category }}'
    {%- endfor %}
        else 'other'
    end
{%- endmacro %}

{% macro tool_is_error(outcome, error) -%}
    (lower({{ outcome }}) in {{ sql_list(var('tool_error_outcomes')) }} or {{ error }} is not null)
{%- endmacro %}

{% macro tool_is_success(outcome, error) -%}
    (not {{ tool_is_error(outcome, error) }} and lower({{ outcome }}) not in {{ sql_list(var('tool_unsuccessful_outcomes')) }})
{%- endmacro %}
