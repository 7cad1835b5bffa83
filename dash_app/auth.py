"""Login against the operational users table (same argon2 hashes as the API), the signed Flask session, and the
guard that refuses anonymous requests to every page, layout and callback.

Admins and managers see the dashboards and the agents' workspace; agents the workspace only (they land on it,
and the dashboards' pages and callbacks refuse them). At login the same credentials also log in to the API,
whose token the workspace uses (dash_app.workspace.tokens keeps it server-side).

The session cookie holds the user id and the tenant id only. The tenant of every dashboard query comes from
here, never from a request parameter. Each request re-checks (cached for a few seconds) that the user is still
active, still a dashboard role, and its tenant still active, so disabling someone takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

import flask
import redis
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text
from sqlalchemy.engine import Engine
from werkzeug.exceptions import Forbidden, Unauthorized

from dash_app.workspace.client import ApiClient, ApiError
from dash_app.workspace.tokens import SESSION_KEY, TokenStore
from niochat.database import APP_ROLE, TENANT_SETTING
from niochat.lockout import SyncLockout, minutes_text
from niochat.logging import get_logger
from niochat.passwords import DUMMY_HASH, verify_password

DASHBOARD_ROLES = frozenset({"superadmin", "admin", "manager"})
WORKSPACE_ROLES = DASHBOARD_ROLES | {"agent"}
WORKSPACE_PATH = "/atendimento"
LIVE_TOKEN_PATH = "/atendimento/live-token"  # fetched by the browser's script: answers 401, not a redirect
DEFAULT_FIRST_RESPONSE_MINUTES = 15
PUBLIC_PREFIXES = ("/login", "/logout", "/healthz", "/assets/", "/_dash-component-suites/", "/_favicon.ico",
                   "/favicon.ico")
LOGIN_ATTEMPTS_PER_MINUTE = 10
CHECK_SECONDS = 1.0  # one page load's burst of callbacks shares a check; a revoked session ends within a second


@dataclass(frozen=True)
class SessionUser:
    user_id: str
    tenant_id: str
    name: str
    role: str
    tenant_name: str
    first_response_minutes: int = DEFAULT_FIRST_RESPONSE_MINUTES  # the tenant's target for a person's first reply
    timezone: str = "America/Sao_Paulo"

    @property
    def sees_dashboards(self) -> bool:
        return self.role in DASHBOARD_ROLES


def session_key(secret_key: str) -> tuple[str, list[str]]:
    """Flask's signing key (and fallbacks, for rotation) derived from NIOCHAT_SECRET_KEY, never the key itself."""
    keys = [part.strip() for part in secret_key.split(",") if part.strip()]
    derived = [hashlib.sha256(f"niochat-dash-session:{key}".encode()).hexdigest() for key in keys]
    return derived[0], derived[1:]


class Accounts:
    """The operational database, for login and the per-request session check only."""

    def __init__(self, engine: Engine, redis_client: redis.Redis | None = None):
        self.engine = engine
        self.redis = redis_client
        self._checked: dict[tuple[str, str], tuple[float, SessionUser | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, email: str):
        """`niochat_login_lookup` as the API's login: the one narrow cross-tenant read it may make."""
        with self.engine.begin() as conn:
            return conn.execute(text("select * from niochat_login_lookup(:email)"), {"email": email}).one_or_none()

    def allow_attempt(self, email: str, address: str) -> str | None:
        """None when the attempt may go on; else why not: "rate", "locked:<seconds>" or "unavailable" (Redis does
        not answer: a lockout that opens when its store is down is no lockout)."""
        if self.redis is None:
            return None
        try:
            for scope in (f"email:{email}", f"addr:{address}"):
                key = f"niochat:dash:login:{scope}:{int(time.time() // 60)}"
                count = self.redis.incr(key)
                self.redis.expire(key, 120)
                if count > LOGIN_ATTEMPTS_PER_MINUTE * (1 if scope.startswith("email") else 3):
                    return "rate"
            locked = SyncLockout(self.redis).locked_for(email)
        except redis.RedisError:
            return "unavailable"
        return f"locked:{locked}" if locked else None

    def record(self, email: str, outcome: str) -> None:
        """Count a wrong password towards the account's lockout, or clear it on a right one."""
        if self.redis is None:
            return
        lockout = SyncLockout(self.redis)
        try:
            lockout.succeeded(email) if outcome == "ok" else lockout.failed(email) if outcome == "invalid" else None
        except redis.RedisError:
            pass  # the next attempt is refused as "unavailable" if Redis stays down

    def authenticate(self, email: str, password: str) -> tuple[str, object | None]:
        """('ok', row) | ('invalid', None) | ('disabled', row) | ('forbidden', row)."""
        found = self.lookup(email.strip())
        if not verify_password(found.password_hash if found else DUMMY_HASH, password) or found is None:
            return "invalid", None
        if not (found.user_active and found.tenant_active):
            return "disabled", found
        if found.role not in WORKSPACE_ROLES:
            return "forbidden", found
        self._audit(found)
        return "ok", found

    def _audit(self, found) -> None:
        with self.engine.begin() as conn:
            self._bind(conn, found.tenant_id)
            conn.execute(text("update users set last_login_at = now() where id = :id"), {"id": found.user_id})
            conn.execute(text(
                "insert into audit_log (tenant_id, actor_kind, actor_user_id, action, entity_type, entity_id, details)"
                " values (:tenant, 'user', :user, 'login', 'user', :entity, cast(:details as jsonb))"),
                {"tenant": found.tenant_id, "user": found.user_id, "entity": str(found.user_id),
                 "details": '{"via": "dash"}'})

    @staticmethod
    def _bind(conn, tenant_id) -> None:
        conn.execute(text(f"set local role {APP_ROLE}"))
        conn.execute(text("select set_config(:name, :tenant, true)"),
                     {"name": TENANT_SETTING, "tenant": str(tenant_id)})

    def current(self, user_id: str, tenant_id: str, version: int) -> SessionUser | None:
        """The session's user if still allowed in (checked as the tenant, under RLS): active, of a workspace or
        dashboard role, and with the token version the session was opened with (a new password, a disabled user
        or a logout everywhere ends the session)."""
        key = (user_id, tenant_id, version)
        now = time.monotonic()
        with self._lock:
            hit = self._checked.get(key)
        if hit and hit[0] > now:
            return hit[1]
        with self.engine.begin() as conn:
            self._bind(conn, tenant_id)
            row = conn.execute(text(
                "select u.name, u.role, u.is_active, u.token_version, t.name as tenant_name,"
                " t.is_active as tenant_active, t.settings ->> 'first_response_target_minutes' as target, t.timezone"
                " from users u join tenants t on t.id = u.tenant_id where u.id = :user and u.tenant_id = :tenant"),
                {"user": user_id, "tenant": tenant_id}).one_or_none()
        user = None
        if (row and row.is_active and row.tenant_active and row.role in WORKSPACE_ROLES
                and row.token_version == version):
            user = SessionUser(user_id, tenant_id, row.name, row.role, row.tenant_name, _minutes(row.target),
                               row.timezone or "America/Sao_Paulo")
        with self._lock:
            self._checked[key] = (now + CHECK_SECONDS, user)
            if len(self._checked) > 5000:
                self._checked.clear()
        return user


def _minutes(value: str | None) -> int:
    """The tenant's first-response target in minutes (settings JSON; a missing or malformed value: the default)."""
    try:
        minutes = int(float(value)) if value is not None else DEFAULT_FIRST_RESPONSE_MINUTES
    except ValueError:
        return DEFAULT_FIRST_RESPONSE_MINUTES
    return minutes if minutes > 0 else DEFAULT_FIRST_RESPONSE_MINUTES


def _session_ids() -> tuple[str, str, int] | None:
    user_id, tenant_id, version = flask.session.get("uid"), flask.session.get("tid"), flask.session.get("ver")
    if not (isinstance(user_id, str) and isinstance(tenant_id, str) and type(version) is int):
        return None
    try:
        return str(uuid.UUID(user_id)), str(uuid.UUID(tenant_id)), version
    except ValueError:
        return None


def current_user() -> SessionUser | None:
    """The logged-in user of this request (set by the guard), or None."""
    return flask.g.get("niochat_user")


def require_tenant() -> str:
    """The session's tenant, for a dashboard callback; anonymous -> 401 (the guard refuses first; this is the
    backstop), an agent -> 403 (the dashboards are for admins and managers)."""
    user = require_user()
    if not user.sees_dashboards:
        raise Forbidden("dashboards are for admins and managers")
    return user.tenant_id


def require_user() -> SessionUser:
    """The session's user, for a workspace callback (any role allowed in); anonymous -> 401."""
    user = current_user()
    if user is None:
        raise Unauthorized("login required")
    return user


LOGIN_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Entrar · NioChat Painéis</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="login-body"><main class="login-card">
<h1><span class="brand-dot"></span> NioChat <small>Painéis</small></h1>
<p class="muted">Entre com o mesmo e-mail e senha do NioChat: atendentes vão para o atendimento; administradores e
gestores também veem os painéis.</p>
{message}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}">
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">Senha</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-button">Entrar</button>
</form></main></body></html>"""

MESSAGES = {
    "invalid": "E-mail ou senha incorretos.",
    "disabled": "Este usuário ou o provedor está desativado. Fale com o administrador do NioChat.",
    "forbidden": "Seu perfil não tem acesso ao NioChat na web. Fale com o gestor do seu provedor.",
    "rate": "Muitas tentativas de login. Aguarde um minuto e tente de novo.",
    "csrf": "A página de login expirou. Entre de novo.",
    "locked": "Muitas senhas erradas para este e-mail. Por segurança, tente de novo em {minutes}.",
    "unavailable": "O login está indisponível neste momento. Tente de novo em alguns segundos.",
    "api": "O atendimento está indisponível neste momento ({reason}). Tente de novo em alguns segundos.",
    "logout": "Você saiu. Até logo!",
}


CSRF_KEY = "csrf"


def csrf_token() -> str:
    """This session's anti-forgery token (made on first use): the login and logout forms carry it back."""
    token = flask.session.get(CSRF_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = flask.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    expected, given = flask.session.get(CSRF_KEY), flask.request.form.get("csrf_token") or ""
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode())


class RequestSchemeSessions(SecureCookieSessionInterface):
    """The session cookie is Secure when the request came over HTTPS (directly or, behind a TLS proxy, as its
    X-Forwarded-Proto says), whatever NIOCHAT_PUBLIC_URL is: the dashboards may be served apart from the API."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        if not flask.has_request_context():
            return bool(app.config.get("SESSION_COOKIE_SECURE"))
        forwarded = flask.request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return flask.request.is_secure or forwarded == "https"


def _login_page(kind: str | None = None, email: str = "", status: int = 200, **values: str) -> flask.Response:
    message = ""
    if kind:
        css = "notice" if kind == "logout" else "error"
        said = MESSAGES[kind].format(**values) if values else MESSAGES[kind]
        message = f'<p class="{css}" role="alert" id="login-message">{html.escape(said)}</p>'
    body = LOGIN_PAGE.format(message=message, email=html.escape(email), csrf=html.escape(csrf_token()))
    return flask.Response(body, status=status, mimetype="text/html")


def install(server: flask.Flask, accounts: Accounts, api: ApiClient, tokens: TokenStore,
            dashboard_paths: frozenset[str] = frozenset()) -> None:
    """Login and logout routes, and the guard in front of everything else."""
    server.session_interface = RequestSchemeSessions()
    log = get_logger("dash_app.auth")

    @server.before_request
    def guard():
        path = flask.request.path
        if path.startswith(PUBLIC_PREFIXES):
            return None
        ids = _session_ids()
        user = accounts.current(*ids) if ids else None
        if user is None:
            flask.session.pop("uid", None)
            flask.session.pop("tid", None)
            if path.startswith(("/_dash-", LIVE_TOKEN_PATH)) or flask.request.method != "GET":
                return flask.jsonify({"error": "login required"}), 401
            return flask.redirect("/login")
        flask.g.niochat_user = user
        if not user.sees_dashboards and flask.request.method == "GET" and path in dashboard_paths:
            return flask.redirect(WORKSPACE_PATH)  # agents land on the workspace
        return None

    @server.route("/login", methods=["GET", "POST"])
    def login():
        if flask.request.method == "GET":
            return _login_page("logout" if flask.request.args.get("saiu") else None)
        email = (flask.request.form.get("email") or "").strip().lower()
        password = flask.request.form.get("password") or ""
        if not _csrf_ok():  # a form posted from another site (login CSRF), or a page older than the session
            return _login_page("csrf", email, 400)
        address = flask.request.remote_addr or "unknown"
        refused = accounts.allow_attempt(email, address)
        if refused == "unavailable":
            return _login_page("unavailable", email, 503)
        if refused and refused.startswith("locked:"):
            return _login_page("locked", email, 429, minutes=minutes_text(int(refused.split(":")[1])))
        if refused:
            return _login_page("rate", email, 429)
        outcome, found = accounts.authenticate(email, password)
        accounts.record(email, outcome)
        if outcome != "ok":
            return _login_page(outcome, email, {"invalid": 401}.get(outcome, 403))
        sid = None
        try:
            token, seconds = api.login(email, password)
            sid = tokens.keep(token, seconds)
        except (ApiError, redis.RedisError) as exc:
            log.warning("workspace token not obtained at login", error=str(exc))
            if found.role not in DASHBOARD_ROLES:  # an agent has nothing to do here without the API
                reason = getattr(exc, "message", "") or "o armazenamento de sessões não respondeu"
                return _login_page("api", email, 503, reason=reason.rstrip("."))
        tokens.drop(flask.session.get(SESSION_KEY))
        flask.session.clear()  # a new session (and a new token) for the logged-in user: no fixation
        flask.session.permanent = True
        flask.session["uid"] = str(found.user_id)
        flask.session["tid"] = str(found.tenant_id)
        flask.session["ver"] = found.token_version
        if sid:
            flask.session[SESSION_KEY] = sid
        csrf_token()
        return flask.redirect("/" if found.role in DASHBOARD_ROLES else WORKSPACE_PATH)

    # POST with the session's token only: a link or an image on another site cannot log anyone out. GET is
    # answered here (Dash's page route would take it otherwise) and changes nothing.
    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        if flask.request.method != "POST":
            return flask.Response("use the Sair button (POST)\n", status=405, headers={"Allow": "POST"})
        if not _csrf_ok():
            return flask.redirect("/")
        tokens.drop(flask.session.get(SESSION_KEY))
        flask.session.clear()
        return flask.redirect("/login?saiu=1")

    @server.route("/healthz")
    def healthz():
        return {"status": "ok"}
