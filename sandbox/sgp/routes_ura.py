"""The SGP URA API: POST /api/ura/*/ with app+token in the body (form fields or JSON), and the documented GET
listing of ticket types with app+token in the query string; logged, faultable."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sandbox.sgp import ura
from sandbox.sgp.faults import TIMEOUT_STATUS, hang
from sandbox.sgp.state import SgpSandbox

router = APIRouter(prefix="/api/ura", tags=["SGP URA"])
os_router = APIRouter(prefix="/api/os", tags=["SGP ordens de serviço"])

AUTH_ERROR = {"detail": "As credenciais de autenticação não foram fornecidas."}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CREDENTIALS = ("app", "token")


def sandbox_of(request: Request) -> SgpSandbox:
    return request.app.state.sgp


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value).strip()
    return "" if value is None else None


async def read_params(request: Request) -> tuple[dict[str, str], str] | Response:
    """The body's fields as text, like Django REST Framework's `request.data`, or its error response."""
    if request.method == "GET":  # a listing: app+token (and filters) in the query string
        return {key: value.strip() for key, value in request.query_params.items()}, "query"
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if not raw.strip():
        return {}, "none"
    if media == "application/json" or media.endswith("+json"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return JSONResponse({"detail": f"JSON parse error - {exc}"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"detail": "JSON parse error - expected an object"}, status_code=400)
        pairs, body_format = data.items(), "json"
    elif media in FORM_TYPES:
        form = await request.form()
        pairs, body_format = form.multi_items(), "form"
    else:
        return JSONResponse({"detail": f'Tipo de mídia "{media or "vazio"}" não suportado na requisição.'},
                            status_code=415)
    params = {str(key): text for key, value in pairs if (text := _scalar(value)) is not None}
    return params, body_format


def _server_error(status: int) -> HTMLResponse:
    """What a crashing Django or its proxy answers: an HTML page, not JSON."""
    return HTMLResponse(f"<h1>Server Error ({status})</h1>", status_code=status)


async def serve(request: Request, handler: ura.Handler, **path_params: str) -> Response:
    sandbox = sandbox_of(request)
    parsed = await read_params(request)
    if isinstance(parsed, Response):
        sandbox.record_call(request.url.path, {}, "invalid").status = parsed.status_code
        return parsed
    params, body_format = parsed
    params.update(path_params)
    shown = {key: value for key, value in params.items() if key not in CREDENTIALS}
    call = sandbox.record_call(request.url.path, shown, body_format)
    state = sandbox.for_credentials(params.get("app", ""), params.get("token", ""))
    call.dataset = state.dataset.app if state else None
    if fault := sandbox.take_fault(request.url.path):
        call.fault = fault.mode
        if fault.mode == "timeout":
            await hang(request, sandbox.stopping)
            call.status = TIMEOUT_STATUS
            return _server_error(TIMEOUT_STATUS)
        if fault.mode == "forbidden":
            call.status = 403
            return JSONResponse(AUTH_ERROR, status_code=403)
        call.status = fault.status
        return _server_error(fault.status)
    if state is None:
        call.status = 403
        return JSONResponse(AUTH_ERROR, status_code=403)
    status, body = handler(state, params, call)
    call.status = status
    return JSONResponse(body, status_code=status)


@router.post("/consultacliente/", summary="Contracts of a customer, by cpfcnpj (or contrato)")
async def consultacliente(request: Request) -> Response:
    return await serve(request, ura.consultacliente)


@router.post("/fatura2via/", summary="Open invoices of a contract (cpfcnpj and/or contrato; nao_gerar_os=1)")
async def fatura2via(request: Request) -> Response:
    return await serve(request, ura.fatura2via)


@router.post("/pagamento/pix/{fatura}", summary="The PIX copy-and-paste code of one invoice")
@router.post("/pagamento/pix/{fatura}/", include_in_schema=False)
async def pagamento_pix(fatura: str, request: Request) -> Response:
    return await serve(request, ura.pagamento_pix, fatura=fatura)


@router.post("/titulos/", summary="Invoices (open and paid), by cpfcnpj or contrato, paginated")
async def titulos(request: Request) -> Response:
    return await serve(request, ura.titulos)


@router.post("/verificaacesso/", summary="Whether a contract's connection is online (status 1)")
async def verificaacesso(request: Request) -> Response:
    return await serve(request, ura.verificaacesso)


@router.post("/chamado/", summary="Open a support ticket: contrato, ocorrenciatipo, conteudo -> protocolo")
async def chamado(request: Request) -> Response:
    return await serve(request, ura.chamado)


@router.post("/liberacaopromessa/", summary="Trust unlock (promessa de pagamento): contrato -> liberado, dias")
async def liberacaopromessa(request: Request) -> Response:
    return await serve(request, ura.liberacaopromessa)


@os_router.get("/ocorrencia/tipo/list/", summary="This installation's ticket types: [{id, descricao, ativo}]")
async def ocorrencia_tipos(request: Request) -> Response:
    return await serve(request, ura.ocorrencia_tipos)


@os_router.post("/ocorrencia/tipo/list/", include_in_schema=False)
async def ocorrencia_tipos_post(request: Request) -> Response:
    """Like Django REST Framework's list views, the real one answers only GET."""
    sandbox_of(request).record_call(request.url.path, {}, "invalid").status = 405
    return JSONResponse({"detail": 'Método "POST" não é permitido.'}, status_code=405)
