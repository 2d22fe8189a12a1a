"""The dashboard's shell: :func:`create_app` builds the Dash app; the pages (``pages/*.py``)
register themselves with their layouts and callbacks, the header's navigation is drawn from
``dash.page_registry``. Nothing is read from the database here or at import time.

    app = create_app("sqlite:///callmon.db", load_config(None))
    app.server        # the Flask app (gunicorn: callmon.dashboard.wsgi:server)

One process runs one dashboard: Dash collects the pages' callbacks per process.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, dcc, html
from flask_login import current_user

from callmon.core.config import Config
from callmon.dashboard import auth
from callmon.dashboard.context import Context, install
from callmon.dashboard.i18n import current_lang, t
from callmon.dashboard.theme import INDEX

log = logging.getLogger(__name__)

PAGES = Path(__file__).with_name("pages")
SECRET_ENV = "CALLMON_SECRET_KEY"
# the order of the header's links (each page's ``order``) and who sees them
ROLE_PAGES = {"admin_only": {"admin"}}


class _Dash(dash.Dash):
    def interpolate_index(self, **kwargs: Any) -> str:
        return super().interpolate_index(**kwargs).replace("{%lang%}", current_lang())


def create_app(db_url: str, config: Config, *, secret_key: str | None = None, reader: Any = None,
               accounts: Any = None, login_limit: str = auth.DEFAULT_LOGIN_LIMIT, secure_cookies: bool = False,
               mask_style: str | None = None) -> dash.Dash:
    """The dashboard over the database at ``db_url``.

    ``secret_key`` signs the session cookies: given, else ``$CALLMON_SECRET_KEY``, else one made
    for this process (sessions then end with it; several gunicorn workers need one key).
    ``reader`` and ``accounts`` default to the read side and the users service over ``db_url``.
    ``login_limit`` is how many failed logins an address or user name gets (Flask-Limiter's
    notation, e.g. ``"5 per minute"``).
    """
    from callmon.dashboard.accounts import CallbackDesk, open_accounts, open_reader

    key = secret_key or os.environ.get(SECRET_ENV)
    if not key:
        key = secrets.token_hex(32)
        log.info("no %s given: a session key was generated for this process", SECRET_ENV)
    app = _Dash(
        "callmon.dashboard",
        use_pages=True,
        pages_folder=str(PAGES),
        title="callmon",
        update_title=None,
        suppress_callback_exceptions=True,
        index_string=INDEX,
        assets_folder=str(Path(__file__).with_name("assets")),
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    server = app.server
    server.secret_key = key
    # the accounts first: their store brings the schema up to date before the read side checks it
    accounts = accounts if accounts is not None else open_accounts(db_url)
    reader = reader if reader is not None else open_reader(db_url, config)
    install(server, Context(
        db_url=db_url,
        config=config,
        reader=reader,
        accounts=accounts,
        desk=CallbackDesk(db_url, reader),
        mask_style=mask_style or getattr(config, "mask_style", "middle"),
    ))
    auth.setup(server, login_limit=login_limit, secure_cookies=secure_cookies)
    app.layout = shell
    _navigation_callback(app)
    return app


def _visible(page: dict) -> bool:
    roles = page.get("roles")
    return not roles or (current_user.is_authenticated and current_user.role in roles)


def shell() -> html.Div:
    """The header (brand, pages, language, user) around the page container; per request, so it
    is drawn in the reader's language and shows only the pages their role may open."""
    lang = current_lang()
    pages = sorted((p for p in dash.page_registry.values() if _visible(p)), key=lambda p: p.get("order", 99))
    links = [dcc.Link(t(p["title_key"], lang), href=p["path"], id={"type": "nav", "path": p["path"]},
                      className="nav-link") for p in pages]
    other = "en" if lang == "ko" else "ko"
    who = []
    if current_user.is_authenticated:
        who = [html.Span(f"{current_user.name} ({t('role_' + current_user.role, lang)})", id="who"),
               html.A(t("logout", lang), href="/logout", id="logout")]
    return html.Div([
        dcc.Location(id="shell-location"),
        html.Header([
            html.Span(t("app_title", lang), className="cm-brand"),
            html.Nav(links),
            html.Div([html.A(t("lang_switch", lang), href=f"/lang/{other}", id="lang-switch"), *who],
                     className="cm-user"),
        ], className="cm-top"),
        html.Main(dash.page_container, className="cm-main"),
    ])


def _navigation_callback(app: dash.Dash) -> None:
    # the current page's link is highlighted; the language switch comes back to the same page
    app.clientside_callback(
        """function(path) {
            const links = dash_clientside.callback_context.outputs_list[0].map(o => o.id.path);
            const mark = links.map(p => (p === path ? 'nav-link active' : 'nav-link'));
            const el = document.getElementById('lang-switch');
            const target = el ? el.getAttribute('href').split('?')[0] + '?next=' + encodeURIComponent(path) : null;
            return [mark, target || window.dash_clientside.no_update];
        }""",
        Output({"type": "nav", "path": dash.ALL}, "className"),
        Output("lang-switch", "href"),
        Input("shell-location", "pathname"),
    )
