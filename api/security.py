"""Bearer tokens (JWT, HS256, key derived from NIOCHAT_SECRET_KEY)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from niochat.secrets import Keyring

ALGORITHM = "HS256"
AUDIENCE = "niochat-api"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    version: int  # the user's token_version when issued: a token dies when the user's version moves on


def issue_token(keyring: Keyring, user_id: uuid.UUID, tenant_id: uuid.UUID, minutes: int, version: int = 0) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "tid": str(tenant_id),
        "ver": version,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, keyring.signing_key, algorithm=ALGORITHM)


def decode_token(keyring: Keyring, token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token, keyring.signing_key, algorithms=[ALGORITHM], audience=AUDIENCE,
            options={"require": ["sub", "tid", "exp", "aud", "ver"]},
        )
        if not isinstance(claims["ver"], int) or isinstance(claims["ver"], bool):
            raise InvalidToken("ver must be an integer")
        return TokenClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["tid"]), claims["ver"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from None
