"""Browser security for the pages: cookie flags, CSRF on every form (the API exempt: it uses
bearer tokens, never the cookie), a strict CSP (a style-only one for SVG images), HSTS over
HTTPS and other headers, safe redirects, and no NUL character in any query or form value
(PostgreSQL refuses them with a server error)."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from flask_wtf.csrf import CSRFProtect

from shared.text import NUL, nul_message
from web.errors import sentence
from web.extensions import SETTINGS

csrf = CSRFProtect()


# No inline script or style anywhere: every page's JS and CSS is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# An SVG opened on its own is a document under its own CSP: matplotlib paints every cell
# with a style attribute and a <style> element, which CSP's style-src 'self' drops (the heat
# map renders black). They may style themselves; nothing may run or load.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
SVG = "image/svg+xml"

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Only when the site is served over HTTPS (OCCLAB_HTTPS): browsers then refuse plain HTTP
# to it for a year, so a network attacker cannot strip TLS from a later visit.
HSTS = "max-age=31536000; includeSubDomains"


def init_security(app: Flask) -> None:
    """Cookie flags, CSRF and the security headers on every response (HSTS with https)."""
    secure = app.config.get("PREFERRED_URL_SCHEME") == "https" or app.extensions[SETTINGS].https
    for prefix in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        # Flask's own defaults are None/False, so fill in only what the caller left unset.
        app.config[f"{prefix}_HTTPONLY"] = app.config.get(f"{prefix}_HTTPONLY", True)
        app.config[f"{prefix}_SAMESITE"] = app.config.get(f"{prefix}_SAMESITE") or "Lax"
        if secure:
            app.config[f"{prefix}_SECURE"] = True
    # Tests post forms without tokens unless they turn CSRF on; production always has it.
    app.config.setdefault("WTF_CSRF_ENABLED", not app.config.get("TESTING", False))
    csrf.init_app(app)
    app.before_request(refuse_nul)
    headers = dict(SECURITY_HEADERS)
    if app.extensions[SETTINGS].https:
        headers["Strict-Transport-Security"] = HSTS
    app.after_request(partial(_security_headers, headers))


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def refuse_nul() -> None:
    """400 for a NUL in any query or form value or name, or an uploaded file's name, before a
    view runs: several views read fields without validating them (login, invitations,
    roles), and one check here keeps every such value from reaching a query. JSON bodies
    are checked where they are read (papers by ``shared.units``, the model by its lookup)."""
    sources = [request.args]
    if request.mimetype in FORM_TYPES:
        sources.append(request.form)
        files = [(name, f.filename or "") for name, f in request.files.items(multi=True)]
        if bad := next((name for name, filename in files if NUL in filename), None):
            abort(400, sentence(nul_message(f"the name of the file sent as {bad!r}")))
    for values in sources:
        for name, value in values.items(multi=True):
            # A part with an odd header can come through with no value (None): not a NUL.
            if NUL in (name or "") or NUL in (value or ""):
                shown = (name or "").replace(NUL, "")
                abort(400, sentence(nul_message(f"the field {shown!r}")))


def exempt_api_from_csrf(app: Flask) -> None:
    """The API (``api`` and its nested blueprints) uses bearer tokens, not the cookie."""
    for name, blueprint in app.blueprints.items():
        if name == "api" or name.startswith("api."):
            csrf.exempt(blueprint)


def _security_headers(headers: dict[str, str], response: Response) -> Response:
    if response.mimetype == SVG:
        response.headers.setdefault("Content-Security-Policy", SVG_CSP)
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    return response


def safe_next(target: str | None, default: str = "/history") -> str:
    """``target`` if it is a path on this site, else ``default``: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target
