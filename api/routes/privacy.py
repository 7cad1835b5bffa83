"""LGPD requests for tenant admins: one person's data as JSON (access), and its erasure. Both audited.

Tenant-scoped like every /api/v1 route: the token's tenant under row-level security, so a phone or CPF is only
ever looked up among the admin's own tenant's customers. The same as `niochat privacy export|erase`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from api.deps import state_of
from api.engine import live
from api.routes.common import Admin, commit, error_responses
from api.schemas.privacy import EXPORT_EXAMPLE, ErasedContact, EraseRequest, ErasureOut, ExportRequest
from niochat import privacy

router = APIRouter(prefix="/privacy", tags=["privacy"], responses=error_responses(400, 401, 403, 404, 422))


def _nobody() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "no contact of this tenant has this phone or document")


def _lookup(request: Request, body: ExportRequest | EraseRequest) -> privacy.Lookup:
    try:
        return privacy.lookup(state_of(request).keyring, phone=body.phone, document=body.document)
    except privacy.PrivacyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post("/export", summary="Everything held about one person, as JSON (admin; LGPD access request)",
             responses={200: {"description": "Format niochat-privacy-export, version 1 (docs/operator-guide.md)",
                              "content": {"application/json": {"example": EXPORT_EXAMPLE}}}})
async def export_person(body: ExportRequest, ctx: Admin, request: Request) -> dict[str, Any]:
    who = _lookup(request, body)
    document = await privacy.export(ctx.conn, who)
    if document is None:
        raise _nobody()
    contact_ids = [row["id"] for row in document["contacts"]]
    await privacy.record(ctx.conn, "privacy.export", who, contact_ids, actor_kind="user",
                         actor_user_id=ctx.user.id, via="api", **privacy.export_summary(document))
    await commit(ctx)
    return document


@router.post("/erase", response_model=ErasureOut,
             summary="Erase one person's data: anonymised everywhere, audited (admin; LGPD erasure request)")
async def erase_person(body: EraseRequest, ctx: Admin, request: Request) -> ErasureOut:
    """Contacts lose phone, LID, name and document; messages their text, transcripts and media references;
    open conversations are closed. Counts and times stay for the metrics; the warehouse, marts and DuckDB files
    follow at the next pipeline run. `dry_run` shows what would be erased; otherwise `confirm` must be true."""
    who = _lookup(request, body)
    if body.dry_run:
        plan = await privacy.plan_erasure(ctx.conn, who)
    else:
        plan = await privacy.erase(ctx.conn, who, actor_kind="user", actor_user_id=ctx.user.id, via="api")
    if plan is None:
        raise _nobody()
    out = ErasureOut(erased=plan.erased, contacts=[ErasedContact(**row) for row in plan.contacts],
                     counts=plan.counts)
    await commit(ctx)
    for conversation_id in plan.closed_conversation_ids:
        await live.publish(state_of(request).redis, ctx.user.tenant_id, "conversation.updated",
                           conversation_id=str(conversation_id), action="close", status="closed")
    return out
