"""The provider's knowledge base: managers and admins keep it, everyone of the tenant reads it, and `search` shows
what the bots would answer (the same retrieval as theirs)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import delete, func, insert, or_, select, update

from api.brain import knowledge
from api.deps import Tenant, TenantContext
from api.engine import audit
from api.routes.common import Manager, commit, error_responses, like_pattern
from api.schemas.knowledge import (
    Category,
    KnowledgeCreate,
    KnowledgeMatch,
    KnowledgeOut,
    KnowledgePatch,
    KnowledgeSearch,
)
from niochat.tables import knowledge_entries

router = APIRouter(prefix="/knowledge", tags=["knowledge"], responses=error_responses(400, 401, 403, 404, 422))

COLUMNS = [getattr(knowledge_entries.c, name) for name in KnowledgeOut.model_fields]
NOT_FOUND = "Entrada da base de conhecimento não encontrada."
PLACES_ONLY_IN_COVERAGE = "Bairros e prefixos de CEP só podem ser informados em entradas da categoria cobertura."


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)


def _places_in_coverage(category: str, neighbourhoods: list[str], cep_prefixes: list[str]) -> None:
    if category != "cobertura" and (neighbourhoods or cep_prefixes):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, PLACES_ONLY_IN_COVERAGE)


async def _audit(ctx: TenantContext, action: str, entry_id: uuid.UUID, **details) -> None:
    await audit.record(ctx.conn, ctx.user.tenant_id, action, actor_kind="user", actor_user_id=ctx.user.id,
                       entity_type="knowledge_entry", entity_id=entry_id, **details)


def _unaccented(column):
    return func.niochat_unaccent_pt(column)


@router.get("", response_model=list[KnowledgeOut], summary="The knowledge base, by category and title")
async def list_knowledge(
    ctx: Tenant,
    category: Annotated[Category | None, Query(description="Only this category")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in the title, answer or keywords "
                                                              "(accents ignored)")] = None,
    include_inactive: bool = True,
) -> list[KnowledgeOut]:
    query = select(*COLUMNS)
    if category:
        query = query.where(knowledge_entries.c.category == category)
    if not include_inactive:
        query = query.where(knowledge_entries.c.is_active)
    if q and q.strip():
        pattern = _unaccented(like_pattern(q.strip()))
        text = func.array_to_string(knowledge_entries.c.keywords, " ")
        query = query.where(or_(*(_unaccented(column).ilike(pattern) for column in
                                  (knowledge_entries.c.title, knowledge_entries.c.answer, text))))
    rows = await ctx.conn.execute(query.order_by(knowledge_entries.c.category, knowledge_entries.c.title))
    return [KnowledgeOut.model_validate(dict(row._mapping)) for row in rows]


@router.get("/search", response_model=KnowledgeSearch, summary="What the bots would answer to a question")
async def search_knowledge(
    ctx: Tenant, question: Annotated[str, Query(max_length=500, description="Empty: no matches")] = "",
) -> KnowledgeSearch:
    index = await knowledge.index_for(ctx.conn, ctx.user.tenant_id)
    matches = [KnowledgeMatch(entry_id=m.entry.id, category=m.entry.category, title=m.entry.title,
                              answer=m.entry.answer, score=round(m.score, 3), share=round(m.share, 3))
               for m in index.search(question)]
    return KnowledgeSearch(question=question, matches=matches)


@router.post("", response_model=KnowledgeOut, status_code=status.HTTP_201_CREATED,
             summary="Add an entry (manager, admin)")
async def create_knowledge(body: KnowledgeCreate, ctx: Manager) -> KnowledgeOut:
    _places_in_coverage(body.category, body.neighbourhoods, body.cep_prefixes)
    row = (await ctx.conn.execute(insert(knowledge_entries).values(
        tenant_id=ctx.user.tenant_id, **body.model_dump()).returning(*COLUMNS))).one()
    await _audit(ctx, "knowledge.create", row.id, category=row.category)
    await commit(ctx)
    return KnowledgeOut.model_validate(dict(row._mapping))


@router.patch("/{knowledge_entry_id}", response_model=KnowledgeOut, summary="Change an entry (manager, admin)")
async def patch_knowledge(knowledge_entry_id: uuid.UUID, body: KnowledgePatch, ctx: Manager) -> KnowledgeOut:
    chosen = knowledge_entries.c.id == knowledge_entry_id
    current = (await ctx.conn.execute(select(*COLUMNS).where(chosen))).one_or_none()
    if current is None:
        raise _not_found()
    values = body.model_dump(exclude_unset=True)
    merged = {**dict(current._mapping), **values}
    _places_in_coverage(merged["category"], merged["neighbourhoods"], merged["cep_prefixes"])
    row = current
    if values:
        row = (await ctx.conn.execute(update(knowledge_entries).where(chosen).values(**values)
                                      .returning(*COLUMNS))).one()
        await _audit(ctx, "knowledge.update", knowledge_entry_id, changed=",".join(sorted(values)))
    await commit(ctx)
    return KnowledgeOut.model_validate(dict(row._mapping))


@router.delete("/{knowledge_entry_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete an entry (manager, admin)")
async def delete_knowledge(knowledge_entry_id: uuid.UUID, ctx: Manager) -> Response:
    title = await ctx.conn.scalar(delete(knowledge_entries).where(knowledge_entries.c.id == knowledge_entry_id)
                                  .returning(knowledge_entries.c.title))
    if title is None:
        raise _not_found()
    await _audit(ctx, "knowledge.delete", knowledge_entry_id)
    await commit(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
