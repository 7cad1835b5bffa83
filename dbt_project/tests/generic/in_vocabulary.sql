{#-
  The column holds only values of one enumeration of the vocabulary (niochat/vocabulary.py ENUMERATIONS, seed
  value_vocabulary). An enumeration the seed does not have fails too, so a misspelt name cannot pass silently.
-#}
{% test in_vocabulary(model, column_name, enumeration) %}

with known as (

    select value from {{ ref('value_vocabulary') }} where enumeration = '{{ enumeration }}'

)

select {{ column_name }}::text as value
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }}::text not in (select value from known)

union all

select 'no enumeration {{ enumeration }} in value_vocabulary' as value
where not exists (select from known)

{% endtest %}
