"""Login, sessions and roles for the dashboard (Flask-Login, Flask-Limiter).

- ``/login`` (GET: the form; POST: fields ``username`` and ``password``) and ``/logout``; every
  other page and every Dash request needs a logged-in user (pages redirect to ``/login``, Dash's
  own requests get 401).
- The session cookie is signed with the secret key the app is given (``--secret-key``/config/
  ``CALLMON_SECRET_KEY``), else one generated for this process; it is ``HttpOnly`` and
  ``SameSite=Lax`` (``Secure`` when asked for).
- Failed logins are slowed: after ``login_limit`` failures (default 5 a minute) from one address,
  or for one user name, further attempts are refused with 429 until the window has passed;
  successful logins do not count.
- Who is reading becomes a :class:`~callmon.read.privacy.Viewer`: viewers see masked numbers;
  supervisors and admins may reveal them for a stated reason, for ``REVEAL_MINUTES``, and the
  reveal is written to the access log (and so is every page of full numbers they are then shown).
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from callmon.dashboard.context import ctx
from callmon.dashboard.i18n import LANG_COOKIE, LANGUAGES, current_lang, t
from callmon.dashboard.theme import CSS
from callmon.read.privacy import MAY_REVEAL, Viewer

log = logging.getLogger(__name__)

PUBLIC = ("/login", "/logout", "/lang/")
REVEAL_MINUTES = 15
DEFAULT_LOGIN_LIMIT = "5 per minute"


@dataclass(frozen=True)
class DashUser(UserMixin):
    """A logged-in user: the name is the id Flask-Login keeps in the session."""

    name: str
    role: str

    def get_id(self) -> str:
        return self.name


def setup(server: flask.Flask, *, login_limit: str = DEFAULT_LOGIN_LIMIT, secure_cookies: bool = False) -> Limiter:
    """Install the login routes, the session settings, the rate limit and the guard on ``server``."""
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="callmon_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure_cookies,
    )
    manager = LoginManager(server)
    manager.session_protection = "strong"

    @manager.user_loader
    def load(name: str) -> DashUser | None:
        role = ctx().accounts.role_of(name)
        return DashUser(name, role) if role else None

    limiter = Limiter(get_remote_address, app=server, storage_uri="memory://", strategy="moving-window")
    failed = lambda response: response.status_code != 302  # noqa: E731  (only failures count)

    @server.route("/login", methods=["GET", "POST"])
    @limiter.limit(login_limit, methods=["POST"], deduct_when=failed)
    @limiter.limit(login_limit, methods=["POST"], deduct_when=failed, per_method=True,
                   key_func=lambda: "user:" + (flask.request.form.get("username") or ""))
    def login():
        lang = current_lang()
        if flask.request.method == "GET":
            return _login_page(lang)
        name = (flask.request.form.get("username") or "").strip()
        password = flask.request.form.get("password") or ""
        role = ctx().accounts.authenticate(name, password)
        if role is None:
            log.warning("failed dashboard login for %r from %s", name, flask.request.remote_addr)
            return _login_page(lang, error=t("login_failed", lang), name=name), 401
        flask.session.clear()
        login_user(DashUser(name, role))
        log.info("dashboard login: %s (%s)", name, role)
        return flask.redirect(_local(flask.request.args.get("next")) or "/")

    @server.errorhandler(429)
    def slowed(_exc):
        lang = current_lang()
        return _login_page(lang, error=t("login_slowed", lang)), 429

    @server.route("/logout")
    def logout():
        logout_user()
        flask.session.clear()
        return flask.redirect("/login")

    @server.route("/lang/<code>")
    def language(code: str):
        response = flask.redirect(_local(flask.request.args.get("next")) or "/")
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax",
                                secure=secure_cookies)
        return response

    @server.before_request
    def guard():
        path = flask.request.path
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC):
            return None
        if current_user.is_authenticated:
            return None
        if path.startswith("/_dash-") or flask.request.method != "GET":
            return flask.Response("login required", status=401)
        if path.startswith("/_dash-component-suites/") or path.startswith("/assets/"):
            return flask.Response("login required", status=401)
        return flask.redirect(f"/login?next={path}")

    return limiter


def _local(target: str | None) -> str | None:
    """``next`` only when it is a path on this site (no open redirect)."""
    if not target:
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_page(lang: str, *, error: str | None = None, name: str = "") -> str:
    other = "en" if lang == "ko" else "ko"
    nxt = html.escape(flask.request.args.get("next") or "", quote=True)
    action = f"/login?next={nxt}" if nxt else "/login"
    err = f'<div class="cm-error" role="alert" id="login-error">{html.escape(error)}</div>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t("login_title", lang)} · {t("app_title", lang)}</title><style>{CSS}</style></head>
<body><form class="cm-login" method="post" action="{action}">
<h1>{t("app_title", lang)}</h1>
<label for="username">{t("username", lang)}</label>
<input id="username" name="username" autocomplete="username" value="{html.escape(name, quote=True)}" required autofocus>
<label for="password">{t("password", lang)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-button">{t("login_button", lang)}</button>
{err}
<p class="cm-muted"><a href="/lang/{other}?next=/login">{t("lang_switch", lang)}</a></p>
</form></body></html>"""


# -- who is reading ------------------------------------------------------------------------------
def user() -> DashUser:
    """The logged-in user of this request."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def may_reveal() -> bool:
    return user().role in MAY_REVEAL


def reveal_reason() -> str | None:
    """The reason this session's user gave for seeing full numbers, while it holds."""
    state = flask.session.get("reveal")
    if not state or not may_reveal() or state.get("until", 0) < time.time():
        return None
    return state.get("why")


def start_reveal(why: str, what: str) -> None:
    """A supervisor or admin asks for full numbers: kept in the session for a while, logged."""
    if not may_reveal():
        raise PermissionError("this role may not see full numbers")
    flask.session["reveal"] = {"why": why, "until": time.time() + REVEAL_MINUTES * 60}
    log_access("unmask", what, why)


def stop_reveal() -> None:
    flask.session.pop("reveal", None)


def viewer() -> Viewer:
    """The request's reader as the read side knows it: masked unless a reveal holds."""
    c = ctx()
    u = user()
    return Viewer(u.name, u.role, reveal=reveal_reason() is not None, style=c.mask_style, region=c.config.region)


def log_access(action: str, what: str, why: str | None = None) -> None:
    """Write one line to the access log: who (this user), when (now), what, why."""
    ctx().accounts.log_access(user().name, action, what, why)
