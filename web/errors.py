"""Every error the web app answers is JSON: ``{"error": message}``, plus ``problems`` when
a submission has several, each naming the paper (``index``) or the file's ``line``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web.extensions import settings

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


def _too_large(_exc: RequestEntityTooLarge) -> Response:
    limit = settings().max_upload_bytes
    size = f"{request.content_length:,} bytes" if request.content_length else "too large"
    return json_error(
        413, f"the request is {size}; the limit is {limit:,} bytes: split the file into parts"
    )


def _http_error(exc: HTTPException) -> Response:
    response = json_error(exc.code or 500, exc.description or exc.name)
    # Keep the exception's own headers (Allow on a 405, for instance) but answer JSON.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return json_error(500, "internal error: the server failed; the logs say why")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
