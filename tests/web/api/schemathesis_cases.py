"""Property tests of the API against its own OpenAPI document (schemathesis over WSGI).

Each documented operation gets 25 generated requests, the same every run (derandomized),
sent to the Flask app in-process with a live token of Ada's: none may answer 5xx, and each
answer must be one the document lists, with its content type and body schema. A failure
means the code or the document is wrong: fix whichever lies. PostgreSQL only: it is what
production runs, and the stricter of the two (integer ranges, text encodings).

The document is loaded when the module is collected, from the function the app serves it
with (a test below checks they are the same), because schemathesis 4.32's fixture-loaded
schemas (``schemathesis.pytest.from_fixture``) rename the test node through an attribute
pytest 9.2 no longer has; the requests still go to each test's own app (``app=``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.config import Settings
from shared.jobs import liveness
from tests.fixtures.factories import Factory
from web.api import PREFIX
from web.api.openapi import openapi_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
schema = schemathesis.openapi.from_dict(openapi_document(PREFIX))


def test_the_document_tested_is_the_one_served(client: FlaskClient) -> None:
    assert client.get(f"{PREFIX}/openapi.json").json == openapi_document(PREFIX)


@pytest.fixture
def seeded(
    app: Flask, make: Factory, team_id: int, settings: Settings, redis_client: redis.Redis
) -> Iterator[Flask]:
    make.result(team_id)  # a done result, so small ids answer 200 as well as 404 and 409
    # A worker is up (its liveness key), or /healthz rightly answers 503 "degraded".
    liveness.beat(redis_client, settings, "schemathesis-worker")
    yield app
    liveness.forget(redis_client, settings, "schemathesis-worker")


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,  # nothing saved between runs: every run tries the same requests
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_document(case: Any, seeded: Flask, auth: dict[str, str]) -> None:
    case.call_and_validate(app=seeded, headers=auth, checks=CHECKS)
