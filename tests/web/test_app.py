"""The application factory, its JSON errors, /healthz, and the rule that the web process
never loads torch, gensim or the engine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from flask.testing import FlaskClient

from shared.config import Settings
from tests.conftest import REPO
from web.app import create_app
from web.extensions import SETTINGS

FORBIDDEN = ("torch", "gensim", "shared.engine", "worker.processing", "worker")


def test_web_process_never_imports_the_engine(service_env: dict[str, str]) -> None:
    """A fresh interpreter (this one has torch loaded by other tests) builds the app and
    serves every kind of request; none of them may import the engine or its libraries."""
    script = textwrap.dedent(
        f"""
        import json, sys
        import web.app
        app = web.app.create_app()
        client = app.test_client()
        client.get("/healthz")
        client.get("/api/v1/openapi.json")
        client.post("/api/v1/jobs", json={{"papers": []}})
        client.get("/api/v1/results/1/heatmap.png")
        loaded = [m for m in {FORBIDDEN!r} if m in sys.modules or
                  any(k.startswith(m + ".") for k in sys.modules)]
        print(json.dumps(loaded))
        """
    )
    env = {**service_env, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_settings_are_read_when_the_app_is_built(
    monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]
) -> None:
    for name, value in {**service_env, "OCCLAB_MAX_UPLOAD_BYTES": "1234"}.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    settings: Settings = app.extensions[SETTINGS]
    assert settings.database_url == service_env["DATABASE_URL"]
    assert app.config["MAX_CONTENT_LENGTH"] == 1234


def test_errors_are_json(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404 and missing.is_json and missing.json["error"]
    wrong = client.delete("/api/v1/jobs")
    assert wrong.status_code == 405 and wrong.is_json
    assert "POST" in wrong.headers["Allow"]


def test_healthz_with_services_up_and_no_worker(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"database": "ok", "redis": "ok", "workers": 0, "status": "degraded"}
