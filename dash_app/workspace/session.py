"""The session's API token for a callback, and what to do when there is none or the API no longer takes it."""

from __future__ import annotations

import flask
from dash import dcc

from dash_app.workspace.tokens import SESSION_KEY, TokenStore

NO_TOKEN = ("O atendimento não está conectado à API do NioChat (ela não respondeu quando você entrou). "
            "Saia e entre de novo.")


class NoToken(Exception):
    """The session holds no API token (the API did not answer at login, or the token expired in Redis)."""


def session_token(tokens: TokenStore) -> str:
    token = tokens.get(flask.session.get(SESSION_KEY))
    if token is None:
        raise NoToken()
    return token


def relogin(tokens: TokenStore, where: str) -> dcc.Location:
    """The API refused the token (expired, password changed, user disabled): end this session too, to login."""
    tokens.drop(flask.session.get(SESSION_KEY))
    flask.session.clear()
    return dcc.Location(id=f"relogin-{where}", href="/login", refresh=True)
