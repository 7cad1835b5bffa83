"""A short Redis cache for SGP lookups (consultacliente, fatura2via, the occurrence types): a chat asks the same
things several times in a minute. Keys hold the tenant and a keyed hash (HMAC) of the document/contract, never a
clear CPF; without Redis, or when Redis fails, every lookup goes to the SGP.

What is stored is an allowlist: only the fields the client reads back (ALLOWLISTS, per lookup). An SGP answers
much more than we use — PPPoE and central passwords, Wi-Fi names and passwords, MACs, birth dates, e-mails, the
PPPoE login — and none of it may sit in Redis; a field the SGP adds tomorrow is left out too. A lookup without
an allowlist is not cached at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.sgp.breaker import KEY_PREFIX
from niochat.logging import get_logger

log = get_logger("api.sgp.cache")

KEEP = True  # a scalar kept as it is
SCALAR = "(scalar)"  # in an object's spec: a plain string or number in its place is kept too
_SCALARS = (str, int, float, bool, type(None))

# A spec is KEEP (a scalar), {key: spec} (an object: only these keys) or [spec] (a list of such items).
_PHONE = {SCALAR: KEEP, "contato": KEEP, "valor": KEEP}  # "(11) 9..." or {"tipoContato", "contato", ...}
ALLOWLISTS: dict[str, Any] = {
    # parsing.parse_customer / parse_contract / customer_contacts (phones: the WhatsApp identity check)
    "consultacliente": {"contratos": [{
        "contratoId": KEEP, "clienteId": KEEP, "razaoSocial": KEEP, "contratoStatus": KEEP,
        "contratoStatusDisplay": KEEP, "servico_plano": KEEP, "planointernet": KEEP, "endereco_logradouro": KEEP,
        "endereco_numero": KEEP, "contratoValorAberto": KEEP, "telefones": [_PHONE],
    }]},
    # parsing.parse_invoices / parse_invoice
    "fatura2via": {"status": KEEP, "contratoId": KEEP, "links": [{
        "fatura": KEEP, "id": KEEP, "vencimento": KEEP, "vencimento_original": KEEP, "valor": KEEP,
        "valor_original": KEEP, "linhadigitavel": KEEP, "codigopix": KEEP, "link": KEEP, "link_cobranca": KEEP,
    }]},
    # parsing.parse_occurrence_types
    "ocorrencia_tipos": {"results": [{"id": KEEP, "descricao": KEEP, "nome": KEEP, "ativo": KEEP}]},
}


def allowed(value: Any, spec: Any) -> Any:
    """`value` reduced to what `spec` allows; None for anything of another shape."""
    if spec is KEEP:
        return value if isinstance(value, _SCALARS) else None
    if isinstance(spec, list):
        return [allowed(item, spec[0]) for item in value] if isinstance(value, list) else None
    if isinstance(value, dict):
        return {key: allowed(value[key], inner) for key, inner in spec.items() if key != SCALAR and key in value}
    if SCALAR in spec and isinstance(value, _SCALARS):
        return value
    return None


class LookupCache:
    def __init__(self, redis: aioredis.Redis | None, tenant_key: str, secret: str, ttl_seconds: int = 60) -> None:
        self.redis = redis
        self.tenant_key = tenant_key
        self.ttl_seconds = ttl_seconds
        self._secret = (secret or tenant_key).encode()

    def key(self, kind: str, *parts: str) -> str:
        digest = hmac.new(self._secret, "|".join((kind, *parts)).encode(), hashlib.sha256).hexdigest()[:40]
        return f"{KEY_PREFIX}:{self.tenant_key}:cache:{kind}:{digest}"

    async def get(self, kind: str, *parts: str) -> dict[str, Any] | None:
        if self.redis is None or self.ttl_seconds <= 0:
            return None
        try:
            raw = await self.redis.get(self.key(kind, *parts))
        except RedisError as exc:
            log.warning("sgp.cache_unavailable", error=type(exc).__name__)
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def put(self, kind: str, value: dict[str, Any], *parts: str) -> None:
        """Store the allowlisted part of `value` (ALLOWLISTS[kind]); a kind without an allowlist is not stored."""
        if self.redis is None or self.ttl_seconds <= 0:
            return
        if kind not in ALLOWLISTS:
            log.error("sgp.cache_without_allowlist", kind=kind)
            return
        try:
            kept = allowed(value, ALLOWLISTS[kind])
            await self.redis.set(self.key(kind, *parts), json.dumps(kept), ex=self.ttl_seconds)
        except (RedisError, TypeError, ValueError) as exc:
            log.warning("sgp.cache_write_failed", error=type(exc).__name__)

    async def forget(self, kind: str, *parts: str) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.delete(self.key(kind, *parts))
        except RedisError as exc:
            log.warning("sgp.cache_unavailable", error=type(exc).__name__)
