"""Who is asking: session cookies (with CSRF tokens) for the browser, bearer tokens for machines."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from services.gateway.core import Gateway
from services.gateway.errors import GatewayError, unauthenticated
from services.gateway.users import TOKEN_PREFIX, Session, User

SESSION_COOKIE = "huimin_session"
LOGIN_CSRF_COOKIE = "huimin_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def gateway_of(request: Request) -> Gateway:
    """The gateway the app was built around."""
    return request.app.state.gateway


def client_address(request: Request) -> str:
    """The peer address (proxies' forwarded headers are not trusted: they are the client's to forge)."""
    return request.client.host if request.client else "unknown"


async def identify(request: Request) -> tuple[User, Session | None] | None:
    """The user of a bearer token or a session cookie, if valid (cached on the request)."""
    if hasattr(request.state, "identity"):
        return request.state.identity
    gateway = gateway_of(request)
    identity: tuple[User, Session | None] | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        user = await gateway.users.token_user(token) if token.startswith(TOKEN_PREFIX) else None
        if user is None:
            raise unauthenticated("令牌无效或已撤销 / invalid or revoked token")
        identity = (user, None)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        session = await gateway.users.session(cookie)
        identity = (session.user, session) if session else None
    request.state.identity = identity
    return identity


async def check_csrf(request: Request, session: Session | None) -> None:
    """A cookie-authenticated change must carry the session's CSRF token (header or form field)."""
    if session is None or request.method in SAFE_METHODS:
        return  # bearer tokens are not sent by browsers on their own: no CSRF risk
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not (isinstance(sent, str) and hmac.compare_digest(sent, session.csrf_token)):
        raise GatewayError("csrf", 403, "页面已过期，请刷新后重试 / missing or wrong CSRF token, reload the page")


async def current_user(request: Request) -> User:
    """Dependency: the authenticated user (401 otherwise), with CSRF checked for cookie sessions."""
    identity = await identify(request)
    if identity is None:
        raise unauthenticated()
    user, session = identity
    await check_csrf(request, session)
    return user


async def optional_user(request: Request) -> User | None:
    """The user if logged in, else None (no CSRF check: for pages that only read)."""
    try:
        identity = await identify(request)
    except GatewayError:
        return None
    return identity[0] if identity else None


def csrf_token_of(request: Request) -> str:
    """The CSRF token forms of this page must carry ('' when not logged in with a cookie)."""
    identity = getattr(request.state, "identity", None)
    return identity[1].csrf_token if identity and identity[1] else ""


async def login(request: Request, response: Response, username: str, password: str) -> tuple[User, str]:
    """Check a password (throttled), open a session and set its cookie; (user, csrf token)."""
    gateway = gateway_of(request)
    client = client_address(request)
    if await gateway.users.recent_failures(username, client, gateway.gw.login_window_s) >= gateway.gw.login_max_failures:
        gateway.metrics.logins.labels("throttled").inc()
        raise GatewayError("rate_limited", 429, "登录失败次数过多，请稍后再试 / too many failed logins, try again later",
                           {"retry_after_s": gateway.gw.login_window_s})
    user = await gateway.users.verify_password(username, password)
    if user is None:
        await gateway.users.record_failure(username, client)
        gateway.metrics.logins.labels("failed").inc()
        raise unauthenticated("用户名或密码错误 / wrong user name or password")
    await gateway.users.clear_failures(username)
    token, csrf = await gateway.users.open_session(user)
    response.set_cookie(SESSION_COOKIE, token, max_age=gateway.gw.session_ttl_s, httponly=True, samesite="lax",
                        secure=gateway.gw.cookie_secure, path="/")
    gateway.metrics.logins.labels("ok").inc()
    return user, csrf


async def logout(request: Request, response: Response) -> None:
    """End the session of the cookie, if any."""
    if cookie := request.cookies.get(SESSION_COOKIE):
        await gateway_of(request).users.close_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


def new_token() -> str:
    """A fresh random token."""
    return secrets.token_urlsafe(24)


def set_login_csrf(response: Response, token: str, secure: bool) -> None:
    """The login form's double-submit cookie (there is no session yet to hold a token)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=secure,
                        path="/")


def check_login_csrf(request: Request, sent: str | None) -> None:
    """The login form's token must match its cookie."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (sent and expected and hmac.compare_digest(sent, expected)):
        raise GatewayError("csrf", 403, "页面已过期，请刷新后重试 / the login form expired, reload the page")
