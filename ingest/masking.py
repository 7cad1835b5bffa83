"""CPF/CNPJ masking done by the source query, so a full document never reaches the warehouse.

The patterns are `niochat.masking`'s, in PostgreSQL's regex dialect (a test checks both agree); CNPJs first, so
a CPF pattern never bites into a 14-digit number.
"""

from __future__ import annotations

from psycopg import sql

_CNPJ = r"(?<![0-9./-])([0-9]{2})\.?([0-9]{3})\.?([0-9]{3})/?([0-9]{4})-?([0-9]{2})(?![./-]?[0-9])"
_CPF = r"(?<![0-9./-])([0-9]{3})\.?([0-9]{3})\.?([0-9]{3})-?([0-9]{2})(?![./-]?[0-9])"
# Cheap pre-check: no run of 11 digits (punctuation allowed between them) means nothing to mask.
_MAYBE = r"[0-9][0-9./-]{9,17}[0-9]"


def masked_text(expression: sql.Composable) -> sql.Composable:
    """`expression` (text) with every CPF/CNPJ masked."""
    return sql.SQL(
        "case when {e} ~ {maybe} then regexp_replace(regexp_replace({e}, {cnpj}, {cnpj_to}, 'g'), "
        "{cpf}, {cpf_to}, 'g') else {e} end"
    ).format(
        e=expression,
        maybe=sql.Literal(_MAYBE),
        cnpj=sql.Literal(_CNPJ),
        cnpj_to=sql.Literal(r"**.\2.\3/****-**"),
        cpf=sql.Literal(_CPF),
        cpf_to=sql.Literal(r"***.\2.\3-**"),
    )


def masked_json(column: sql.Identifier) -> sql.Composable:
    """A jsonb object with its top-level strings and numbers masked; nested values become masked strings.

    Always valid JSON: a number that looked like a CPF turns into the masked string.
    """
    value_text = sql.SQL("(j.value #>> '{}')")
    nested_text = sql.SQL("(j.value::text)")
    return sql.SQL(
        "case when jsonb_typeof({c}) = 'object' then coalesce(("
        "select jsonb_object_agg(j.key, case"
        " when jsonb_typeof(j.value) in ('string', 'number') and {masked_value} <> {value_text}"
        " then to_jsonb({masked_value})"
        " when jsonb_typeof(j.value) in ('object', 'array') and {masked_nested} <> {nested_text}"
        " then to_jsonb({masked_nested})"
        " else j.value end) from jsonb_each({c}) j), '{{}}'::jsonb)"
        " when {c} is null then null"
        " else to_jsonb({masked_whole}) end"
    ).format(
        c=column,
        value_text=value_text,
        nested_text=nested_text,
        masked_value=masked_text(value_text),
        masked_nested=masked_text(nested_text),
        masked_whole=masked_text(sql.SQL("({}::text)").format(column)),
    )
