"""The provider's knowledge base (migration 0021): what the bots answer from, edited by managers."""

from sqlalchemy import ARRAY, Boolean, CheckConstraint, Column, Index, Table, Text, UniqueConstraint, text

from niochat.tables.base import id_column, metadata, tenant_column, timestamps

KNOWLEDGE_CATEGORIES = ("planos", "cobertura", "pagamento", "horario", "mudanca", "instalacao", "faq")

knowledge_entries = Table(
    "knowledge_entries",
    metadata,
    id_column(),
    tenant_column(),
    Column("category", Text, nullable=False),
    Column("title", Text, nullable=False),  # the question or the entry's name ("Plano 300 Mega")
    Column("answer", Text, nullable=False),  # what the bot says, word for word
    Column("keywords", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),  # aliases, synonyms
    Column("neighbourhoods", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),  # cobertura only
    Column("cep_prefixes", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),  # cobertura only
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    *timestamps(),
    CheckConstraint("category = ANY (ARRAY['planos'::text, 'cobertura'::text, 'pagamento'::text, 'horario'::text, "
                    "'mudanca'::text, 'instalacao'::text, 'faq'::text])"),
    CheckConstraint("length(title) >= 1 AND length(title) <= 200"),
    CheckConstraint("length(answer) >= 1 AND length(answer) <= 2000"),
    UniqueConstraint("tenant_id", "id"),
    Index("knowledge_entries_tenant_idx", "tenant_id", "category"),
)
