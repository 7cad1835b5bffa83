"""The agents' workspace talks to the NioChat API over HTTP, as any client of its REST routes: every rule (the
conditional take, an agent's scope, the 24-hour window, row-level security) stays the API's. This module is
that client, and the Portuguese for each refusal the API can answer."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from niochat.logging import get_logger

log = get_logger(__name__)
PREFIX = "/api/v1"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)

# The API's English details, as an agent should read them. Anything else falls back to the status's sentence.
DETAILS = {
    "conversation not found": "Conversa não encontrada, ou fora do seu alcance (transferida ou encerrada por "
                              "outra pessoa).",
    "user not found": "Atendente não encontrado.",
    "team not found": "Equipe não encontrada.",
    "that user is disabled": "Este atendente está desativado.",
    "conversation is closed; reopen it first": "A conversa está encerrada; reabra-a primeiro.",
    "conversation is already closed": "A conversa já está encerrada.",
    "conversation is not closed": "A conversa não está encerrada.",
    "the contact already has another active conversation on this channel":
        "O cliente já tem outra conversa ativa neste canal.",
    "agents can only assign conversations to themselves": "Atendentes só podem atribuir conversas a si mesmos.",
    "message not found": "Mensagem não encontrada nesta conversa.",
    "label not found": "Etiqueta não encontrada (foi apagada?).",
    "label on this conversation not found": "Esta etiqueta já não estava na conversa.",
}
# Details the API already writes for the agent's screen, in Portuguese (who has the conversation, the 24-hour
# window, a message that is not failed any more).
WRITTEN_FOR_AGENTS = ("Esta conversa", "Esta mensagem")
STATUSES = {
    400: "O pedido não pôde ser lido pela API.",
    403: "Seu perfil não permite esta ação.",
    404: "Não encontrado.",
    409: "A conversa mudou enquanto isso; veja a situação atual.",
    413: "O texto é grande demais.",
    422: "Dados inválidos.",
    429: "Muitas tentativas seguidas; aguarde um minuto.",
    503: "O NioChat está indisponível neste momento; tente de novo em alguns segundos.",
}
UNREACHABLE = "Sem conexão com a API do NioChat; tente de novo em alguns segundos."


class SessionExpired(Exception):
    """The API refused the session's token (expired, revoked by a password change, user disabled): log in again."""


@dataclass
class ApiError(Exception):
    status: int  # 0: the API did not answer
    detail: str
    message: str  # Portuguese, for the agent's screen

    def __str__(self) -> str:
        return f"{self.status} {self.detail}"


def portuguese(status: int, detail: str) -> str:
    if detail in DETAILS:
        return DETAILS[detail]
    if detail.startswith(WRITTEN_FOR_AGENTS):
        return detail
    if status == 422 and detail:
        return f"Dados inválidos: {detail}"
    return STATUSES.get(status, f"A API respondeu com um erro ({status}).")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))[:300]
    return str(detail or "")[:300]


class ApiClient:
    """One connection pool per app; each call carries the session's bearer token."""

    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + PREFIX, timeout=TIMEOUT, transport=transport)

    def close(self) -> None:
        self._http.close()

    def login(self, email: str, password: str) -> tuple[str, int]:
        """(token, seconds it lasts). ApiError when the API refuses or does not answer."""
        body = self._send("POST", "/auth/token", None, data={"username": email, "password": password})
        return body["access_token"], int(body["expires_in"])

    def get(self, token: str, path: str, **params):
        return self._send("GET", path, token, params={k: v for k, v in params.items() if v is not None})

    def post(self, token: str, path: str, json: dict | None = None):
        return self._send("POST", path, token, json=json)

    def put(self, token: str, path: str, json: dict | None = None):
        return self._send("PUT", path, token, json=json)

    def patch(self, token: str, path: str, json: dict):
        return self._send("PATCH", path, token, json=json)

    def delete(self, token: str, path: str):
        return self._send("DELETE", path, token)

    def _send(self, method: str, path: str, token: str | None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("workspace api call failed", method=method, path=path, error=type(exc).__name__)
            raise ApiError(0, type(exc).__name__, UNREACHABLE) from None
        if response.status_code == 401 and token:
            raise SessionExpired()
        if response.status_code >= 400:
            detail = _detail(response)
            if response.status_code >= 500 or response.status_code == 429:
                log.warning("workspace api refused", method=method, path=path, status=response.status_code)
            raise ApiError(response.status_code, detail, portuguese(response.status_code, detail))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
