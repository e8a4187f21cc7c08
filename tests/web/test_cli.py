"""``occlab web``: gunicorn by default, Flask's dev server with --dev."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from gunicorn.app.base import BaseApplication

from web.cli import web_command


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str]) -> None:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)


def test_gunicorn_gets_the_bind_and_workers(monkeypatch: pytest.MonkeyPatch, env: None) -> None:
    seen: dict[str, Any] = {}

    def run(self: BaseApplication) -> None:  # the real one would serve until killed
        seen.update(bind=self.cfg.bind, workers=self.cfg.workers, app=self.load())

    monkeypatch.setattr(BaseApplication, "run", run)
    result = CliRunner().invoke(web_command, ["--port", "5055", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert seen["bind"] == ["127.0.0.1:5055"] and seen["workers"] == 3
    assert isinstance(seen["app"], Flask)


def test_dev_server(monkeypatch: pytest.MonkeyPatch, env: None) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(Flask, "run", lambda self, **kw: seen.update(kw))
    result = CliRunner().invoke(web_command, ["--dev", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert seen == {"host": "0.0.0.0", "port": 5000, "debug": True, "use_reloader": True}
