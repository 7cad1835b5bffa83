"""CPF/CNPJ masking done by the source query, so a full document never reaches the warehouse.

The rules are `niochat.masking`'s (documents in any grouping), run by the operational database's
`niochat_mask_documents` (migration 0009); tests check both agree on generated texts.
"""

from __future__ import annotations

from psycopg import sql

from niochat.masking import MAYBE


def masked_text(expression: sql.Composable) -> sql.Composable:
    """`expression` (text) with every CPF/CNPJ masked; the cheap pre-check skips the function for most rows."""
    return sql.SQL("case when {e} ~ {maybe} then niochat_mask_documents({e}) else {e} end").format(
        e=expression, maybe=sql.Literal(MAYBE)
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
