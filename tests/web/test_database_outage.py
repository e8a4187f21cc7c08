"""The database unreachable (an address where nothing listens): the API and pages answer 503
with Retry-After, the page renders without the database, and /healthz names the database
as the part that is down while still counting the live worker."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.db import session_factory
from tests.fixtures.web import AuthActions
from tests.worker.support import start_worker, stop_worker, wait_for, worker_env
from web.extensions import Database


def nowhere_url() -> str:
    """A PostgreSQL URL on a local port where nothing listens (refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


def database_goes_down(app: Flask) -> None:
    app.extensions[Database.key] = session_factory(nowhere_url())


def test_the_api_answers_503_json_with_retry_after(
    app: Flask, client: FlaskClient, auth: dict[str, str]
) -> None:
    database_goes_down(app)
    response = client.get("/api/v1/jobs", headers=auth)
    assert response.status_code == 503 and response.is_json
    assert "database is unreachable" in response.json["error"]
    assert response.headers["Retry-After"].isdigit()


def test_a_page_of_a_logged_in_person_answers_a_503_page(app: Flask, login: AuthActions) -> None:
    ada = login.login()  # her session cookie makes every page load her from the database
    database_goes_down(app)
    response = ada.get("/history")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert "The database is unreachable" in page and "<h1>Error 500</h1>" not in page
    assert response.headers["Retry-After"].isdigit()


@pytest.mark.slow
def test_healthz_names_the_database_and_counts_the_live_worker(
    app: Flask, client: FlaskClient, service_env: dict[str, str], tmp_path: Path
) -> None:
    down = nowhere_url()
    database_goes_down(app)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env({**service_env, "DATABASE_URL": down}), log)
    try:

        def counted() -> bool:
            return client.get("/healthz").json["workers"] == 1

        wait_for(counted, 30, "the worker to be counted", log)
        response = client.get("/healthz")
    finally:
        stop_worker(worker)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json == {"database": "error", "redis": "ok", "workers": 1, "status": "degraded"}
