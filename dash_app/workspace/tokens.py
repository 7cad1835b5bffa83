"""The API token of each Dash session, kept server-side: in Redis (encrypted with the installation's key) under
a random session id, which is all the signed session cookie carries. It lives as long as the API says the token
does; logging out deletes it. The browser gets it only from the same-origin route its live socket asks
(dash_app.pages.workspace), never in a URL or the page."""

from __future__ import annotations

import secrets

import redis

from niochat.secrets import Keyring

SESSION_KEY = "sid"


def _key(sid: str) -> str:
    return f"niochat:dash:api-token:{sid}"


class TokenStore:
    def __init__(self, client: redis.Redis, keyring: Keyring):
        self.redis = client
        self.keyring = keyring

    def keep(self, token: str, seconds: int) -> str:
        """A new session id holding the token."""
        sid = secrets.token_urlsafe(24)
        self.redis.set(_key(sid), self.keyring.encrypt(token), ex=max(1, seconds))
        return sid

    def get(self, sid: object) -> str | None:
        if not isinstance(sid, str) or not sid:
            return None
        try:
            stored = self.redis.get(_key(sid))
        except redis.RedisError:
            return None
        if stored is None:
            return None
        return self.keyring.decrypt(stored.decode() if isinstance(stored, bytes) else stored)

    def drop(self, sid: object) -> None:
        if isinstance(sid, str) and sid:
            try:
                self.redis.delete(_key(sid))
            except redis.RedisError:
                pass  # it expires with the token anyway
