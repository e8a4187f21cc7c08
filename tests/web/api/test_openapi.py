"""The hand-written OpenAPI document: valid JSON, OpenAPI 3.1, and every route documented."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _documented_path(rule: str) -> str:
    """Flask's ``/results/<id:result_id>/heatmap.<any(png, svg):fmt>`` as OpenAPI paths."""
    return re.sub(r"<(?:id:)?\w+>", "{id}", rule)


def test_document_parses_and_references_resolve(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.data)
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_route_is_documented(app: Flask, client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for rule in app.url_map.iter_rules():
        # Pages (the *_pages blueprints) are HTML for people, not API: openapi.json skips them.
        if rule.endpoint == "static" or rule.endpoint.split(".")[0].endswith("_pages"):
            continue
        variants = [rule.rule]
        if (choice := re.search(r"<any\(([^)]*)\):\w+>", rule.rule)) is not None:
            variants = [rule.rule.replace(choice[0], c.strip()) for c in choice[1].split(",")]
        for path in map(_documented_path, variants):
            assert path in paths, f"{path} ({rule.endpoint}) is not in openapi.json"
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in paths[path], f"{method} {path} is not documented"


def test_documented_statuses(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    submit = paths["/api/v1/jobs"]["post"]["responses"]
    assert {"202", "400", "401", "413"} <= set(submit)
    assert {"404", "409"} <= set(paths["/api/v1/jobs/{id}/cancel"]["post"]["responses"])
    assert "409" in paths["/api/v1/results/{id}/heatmap.png"]["get"]["responses"]
    # Bad page or per_page (tests/web/test_params.py) is a 400 with the Error body.
    listing = paths["/api/v1/jobs"]["get"]["responses"]
    assert listing["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_enums_and_defaults_come_from_the_models(client: FlaskClient) -> None:
    from shared.models import JobStatus, ResultStatus
    from shared.units import DEFAULT_UNIT_OPTIONS, UNITS

    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["JobSummary"]["properties"]["status"]["enum"] == list(JobStatus)
    assert schemas["Result"]["properties"]["status"]["enum"] == list(ResultStatus)
    submission = schemas["Submission"]["properties"]
    for name, unit in DEFAULT_UNIT_OPTIONS.items():
        assert (submission[name]["enum"], submission[name]["default"]) == (list(UNITS), unit)
