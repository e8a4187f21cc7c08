"""Errors: JSON for the API and the health check, HTML pages for everything people browse.

The API (``/api/``) and ``/healthz`` answer ``{"error": message}``, plus ``problems`` when a
submission has several, each naming the paper (``index``) or the file's ``line``. Pages get
``templates/errors/<code>.html`` (or the generic ``errors/error.html``) with the same status
and headers (``Retry-After`` on a 429, ``Allow`` on a 405).

The database unreachable is not a bug but an outage: 503 with ``Retry-After``, and for pages
``errors/unavailable.html``, which renders with no database at all (the usual error pages
ask ``current_user`` and the nav for the person's teams, which is one more failing query)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web.extensions import db, settings

JSON_PREFIXES = ("/api/", "/healthz")
PAGE_MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is nothing at this address. It may have moved, or the link is mistyped.",
    405: "This address does not accept that kind of request.",
    429: "Too many requests. Wait a little and try again.",
    500: "Something went wrong on our side. It has been logged; please try again.",
}

# How long a client is asked to wait after an outage (database, task queue).
RETRY_AFTER_S = 30
DATABASE_DOWN = (OperationalError, DisconnectionError, InterfaceError, psycopg.OperationalError)
DATABASE_DOWN_MESSAGE = "the database is unreachable: try again in a minute"

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised by a view to answer ``status`` with a JSON message the client can act on."""

    def __init__(
        self,
        status: int,
        message: str,
        problems: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems
        self.headers = headers or {}


def sentence(message: str) -> str:
    """A message from ``shared`` ("the team name is empty") as a sentence for a page: first
    letter raised, a full stop added. The rest keeps its case: it may quote what was typed."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def json_error(status: int, message: str, problems: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if problems is not None:
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = status
    return response


def _api_error(exc: ApiError) -> Response:
    response = json_error(exc.status, exc.message, exc.problems)
    response.headers.update(exc.headers)
    return response


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.path == "/api"


def html_error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """The error page for ``status``; a bare one when even the template cannot render."""
    context = {"status": status, "message": message}
    try:
        try:
            body = render_template(f"errors/{status}.html", **context)
        except TemplateNotFound:
            body = render_template("errors/error.html", **context)
    except Exception:
        log.exception("the error page for %s failed to render", status)
        body = f"<!doctype html><title>Error {status}</title><h1>Error {status}</h1>"
    response = Response(body, status=status, mimetype="text/html")
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _too_large(_exc: RequestEntityTooLarge) -> Response:
    limit = settings().max_upload_bytes
    size = f"{request.content_length:,} bytes" if request.content_length else "too large"
    message = f"the request is {size}; the limit is {limit:,} bytes: split the file into parts"
    if wants_json():
        return json_error(413, message)
    return html_error(413, sentence(message))


def _csrf_error(exc: CSRFError) -> Response:
    if wants_json():
        return json_error(400, exc.description or "CSRF check failed")
    return html_error(
        400, "This form expired or did not come from this site. Reload the page and try again."
    )


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if not wants_json():
        message = exc.description if _custom(exc) else PAGE_MESSAGES.get(status, exc.name)
        return html_error(status, message or exc.name, exc.get_headers())
    response = json_error(status, exc.description or exc.name)
    # Keep the exception's own headers (Allow on a 405, for instance) but answer JSON.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _custom(exc: HTTPException) -> bool:
    """Whether a view wrote the description (``abort(403, "...")``), not Werkzeug."""
    return bool(exc.description) and exc.description != type(exc).description


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    if wants_json():
        return json_error(500, "internal error: the server failed; the logs say why")
    try:
        db.session.rollback()
    except Exception:
        log.exception("rolling back after the error failed")
    return html_error(500, PAGE_MESSAGES[500])


def _unavailable_page() -> str:
    """Rendered from the Jinja environment directly, skipping the context processors:
    Flask-Login's puts ``current_user`` in every context, which loads the person from the
    database that is down, so ``render_template`` itself would fail here."""
    template = current_app.jinja_env.get_template("errors/unavailable.html")
    return template.render(message=sentence(DATABASE_DOWN_MESSAGE), path=request.path)


def _database_down(exc: Exception) -> Response:
    log.error("database unreachable on %s %s: %s", request.method, request.path, exc)
    try:
        db.session.rollback()
    except Exception:
        log.debug("rolling back on a dead connection failed too", exc_info=True)
    if wants_json():
        response = json_error(503, DATABASE_DOWN_MESSAGE)
    else:
        response = Response(_unavailable_page(), status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    for error in DATABASE_DOWN:
        app.register_error_handler(error, _database_down)
    app.register_error_handler(Exception, _unexpected)
