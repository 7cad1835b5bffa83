"""Full-text search over what the user may see: message texts (Portuguese, accents ignored), contacts by name, and
phones, documents and protocols by their digits.

Words go through websearch_to_tsquery (quotes, `or`, `-word` mean what a search box means; nothing the user
types is SQL or a tsquery syntax error) on both sides folded by niochat_unaccent_pt, so "conexao" finds
"conexão" and the Portuguese stemmer makes "boleto" find "boletos". Matching messages come from
niochat_message_matches (migration 0020), which reaches migration 0016's GIN index: under row-level security
the planner may not use it for `@@` (not leakproof), and the search would compute to_tsvector for every message
of the tenant. Snippets (ts_headline) are made for the page's messages only, not for every match.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import DateTime, String, and_, cast, column, func, literal, literal_column, null, or_, select, union_all
from sqlalchemy.dialects.postgresql import UUID

from api.deps import Tenant
from api.routes.common import Pages, error_responses
from api.routes.conversation_queries import contact_visible_to, visible_to
from api.schemas.common import Page
from api.schemas.conversations import ContactBrief
from api.schemas.search import SearchHit
from niochat.tables import contacts, conversations, messages

router = APIRouter(prefix="/search", tags=["search"], responses=error_responses(401, 422))

MAX_QUERY = 200
MIN_DIGITS = 4  # fewer digits match too many phones to mean anything
PORTUGUESE = literal_column("'portuguese'::regconfig")
START, STOP = "\x01", "\x02"  # ts_headline's marks around a match; never in a WhatsApp text
HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, ShortWord=2"


def message_vector(column=messages.c.text):
    """The indexed expression (migration 0016), which niochat_message_matches (0020) repeats to use the index."""
    return func.to_tsvector(PORTUGUESE, func.niochat_unaccent_pt(column))


def _activity():
    return func.coalesce(conversations.c.last_message_at, conversations.c.created_at)


def _digits_of(column):
    return func.regexp_replace(column, r"\D", "", "g")


def _words(q: str):
    return func.websearch_to_tsquery(PORTUGUESE, func.niochat_unaccent_pt(q))


def _hits(ctx: Tenant, q: str):
    words = _words(q)
    matches = func.niochat_message_matches(words).table_valued(
        column("message_id", UUID(as_uuid=True)), column("conversation_id", UUID(as_uuid=True)),
        column("created_at", DateTime(timezone=True))).render_derived("matches")
    found_messages = (
        select(literal("message").label("kind"), matches.c.conversation_id, conversations.c.contact_id,
               matches.c.message_id, cast(null(), String).label("headline"), matches.c.created_at.label("at"))
        .join(conversations, conversations.c.id == matches.c.conversation_id)
        # querytree is 'T' for a query of exclusions only ("-boleto"): that would list every other message
        .where(func.querytree(words) != "T", visible_to(ctx.user))
    )
    latest = (select(conversations.c.id).where(conversations.c.contact_id == contacts.c.id, visible_to(ctx.user))
              .order_by(_activity().desc()).limit(1).correlate(contacts).scalar_subquery())
    latest_at = (select(_activity()).where(conversations.c.contact_id == contacts.c.id, visible_to(ctx.user))
                 .order_by(_activity().desc()).limit(1).correlate(contacts).scalar_subquery())
    folded = func.lower(func.niochat_unaccent_pt(q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")))
    contact_match = [func.lower(func.niochat_unaccent_pt(contacts.c.name)).like(
        literal("%").concat(folded).concat("%"), escape="\\")]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= MIN_DIGITS:
        contact_match += [contacts.c.phone.contains(digits, autoescape=True),
                          _digits_of(contacts.c.document_masked).contains(digits, autoescape=True)]
    label = func.concat_ws(" · ", contacts.c.name, contacts.c.phone, contacts.c.document_masked)
    found_contacts = (
        select(literal("contact").label("kind"), latest.label("conversation_id"), contacts.c.id.label("contact_id"),
               cast(null(), UUID(as_uuid=True)).label("message_id"), label.label("headline"),
               func.coalesce(latest_at, contacts.c.updated_at).label("at"))
        .where(contacts.c.erased_at.is_(None), contact_visible_to(ctx.user), or_(*contact_match))
    )
    selects = [found_messages, found_contacts]
    if len(digits) >= MIN_DIGITS:
        protocol = conversations.c.bot_state["ticket_protocol"].astext
        selects.append(
            select(literal("protocol").label("kind"), conversations.c.id.label("conversation_id"),
                   conversations.c.contact_id, cast(null(), UUID(as_uuid=True)).label("message_id"),
                   func.concat("Protocolo ", protocol).label("headline"), _activity().label("at"))
            .where(and_(protocol.is_not(None), _digits_of(protocol).contains(digits, autoescape=True)),
                   visible_to(ctx.user))
        )
    return union_all(*selects).subquery("hits")


async def _message_headlines(ctx: Tenant, q: str, message_ids: list) -> dict:
    """message id -> (headline, original text), for the page's messages only."""
    if not message_ids:
        return {}
    headline = func.ts_headline(PORTUGUESE, func.niochat_unaccent_pt(messages.c.text), _words(q), HEADLINE)
    rows = await ctx.conn.execute(select(messages.c.id, headline.label("headline"), messages.c.text)
                                  .where(messages.c.id.in_(message_ids)))
    return {row.id: (row.headline, row.text) for row in rows}


def _snippet(headline: str | None, original: str | None) -> tuple[str, list[tuple[int, int]]]:
    """The headline without its marks, in the original's letters (the folding keeps every offset), and where the
    marks were."""
    plain, marks, start = [], [], None
    for char in headline or "":
        if char == START:
            start = len(plain)
        elif char == STOP and start is not None:
            marks.append((start, len(plain)))
            start = None
        else:
            plain.append(char)
    text = "".join(plain)
    if original:
        folded_original = original.translate(_FOLD)
        at = folded_original.find(text)
        if at >= 0:
            text = original[at:at + len(text)]
    return text, marks


# The same letters as niochat_unaccent_pt (migration 0016), to find the headline in the original text.
_FOLD = str.maketrans("áàâãäéèêëíìîïóòôõöúùûüçñÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ",
                      "aaaaaeeeeiiiiooooouuuucnAAAAAEEEEIIIIOOOOOUUUUCN")


@router.get("", response_model=Page[SearchHit], summary="Search messages, contacts and protocols, newest first")
async def search(
    ctx: Tenant,
    pages: Pages,
    q: Annotated[str | None, Query(max_length=MAX_QUERY, description="Words (Portuguese, accents optional; "
                                   '"quoted phrase", or, -without) or digits of a phone, document or protocol')] = None,
) -> Page[SearchHit]:
    """Agents find only what they may see (their conversations and their teams' queues, and those contacts);
    managers the whole tenant. An empty q finds nothing."""
    q = (q or "").strip()
    if "\x00" in q:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "q cannot contain NUL (\\u0000) characters")
    if not q:
        return Page(items=[], total=0, limit=pages.limit, offset=pages.offset)
    hits = _hits(ctx, q)
    # the total with the page, in one pass over the matches; who, and the conversation's state: a result list reads
    # like the inbox
    rows = (await ctx.conn.execute(
        select(hits, func.count().over().label("total"), contacts.c.name.label("contact_name"),
               contacts.c.phone.label("contact_phone"), contacts.c.whatsapp_lid.label("contact_lid"),
               conversations.c.status.label("status"))
        .join(contacts, contacts.c.id == hits.c.contact_id)
        .outerjoin(conversations, conversations.c.id == hits.c.conversation_id)
        .order_by(hits.c.at.desc(), hits.c.kind, hits.c.message_id, hits.c.contact_id)
        .limit(pages.limit).offset(pages.offset))).all()
    total = rows[0].total if rows else await ctx.conn.scalar(select(func.count()).select_from(hits))
    texts = await _message_headlines(ctx, q, [row.message_id for row in rows if row.kind == "message"])
    items = []
    for row in rows:
        snippet, marks = _snippet(*texts.get(row.message_id, (row.headline, None)))
        contact = ContactBrief(id=row.contact_id, name=row.contact_name, phone=row.contact_phone,
                               whatsapp_lid=row.contact_lid)
        items.append(SearchHit(kind=row.kind, conversation_id=row.conversation_id, contact_id=row.contact_id,
                               message_id=row.message_id, snippet=snippet, highlights=marks, at=row.at,
                               contact=contact, status=row.status))
    return Page(items=items, total=total, limit=pages.limit, offset=pages.offset)
