"""The JSON API at ``/api/v1``: jobs, results and models (each in its own module) and the OpenAPI
document that describes them. Every route but the document needs a Bearer token."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from web.api import jobs, models, results
from web.api.openapi import openapi_document

PREFIX = "/api/v1"
api = Blueprint("api", __name__, url_prefix=PREFIX)
api.register_blueprint(jobs.blueprint)
api.register_blueprint(results.blueprint)
api.register_blueprint(models.blueprint)


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(PREFIX))
