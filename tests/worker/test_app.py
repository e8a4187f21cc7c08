"""The worker app, task and command without a running worker: wiring, isolation, settings."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from celery.signals import worker_ready, worker_shutdown
from click.testing import CliRunner
from sqlalchemy import text

import worker.app
from shared.config import load_settings
from shared.jobs.dispatch import PROCESS_CHUNK
from worker.app import create_celery_app, settings_of
from worker.cli import worker_argv, worker_command
from worker.tasks import DatabaseTask, TaskSessions

REPO = Path(__file__).resolve().parents[2]

NO_WEB = (
    "import worker.app, worker.tasks, sys; "
    "bad = [m for m in sys.modules if m in ('flask', 'web') or m.startswith(('flask.', 'web.'))]; "
    "assert not bad, bad"
)


def test_the_worker_never_imports_flask_or_the_web_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_WEB], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_occlab_worker_is_registered_as_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", "worker", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--concurrency" in done.stdout and "--gpu" in done.stdout


def test_the_lazy_app_reads_settings_when_first_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker.app, "_APP", None)
    monkeypatch.setenv("OCCLAB_QUEUE", "read-at-access")
    monkeypatch.setenv("OCCLAB_VISIBILITY_TIMEOUT", "77")
    app = worker.app.celery_app
    assert app is worker.app.celery_app  # built once
    assert app.conf.task_default_queue == "read-at-access"
    assert app.conf.broker_transport_options["visibility_timeout"] == 77
    assert settings_of(app).task_queue == "read-at-access"


def test_the_task_is_registered_by_its_shared_name() -> None:
    app = create_celery_app(load_settings({"OCCLAB_QUEUE": "q"}))
    app.loader.import_default_modules()
    task = app.tasks[PROCESS_CHUNK]
    assert isinstance(task, DatabaseTask)
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


def test_the_task_closes_every_session_it_opened(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": sqlite_url, "OCCLAB_INSTANCE": str(tmp_path)})
    task = create_celery_app(settings).tasks[PROCESS_CHUNK]
    task.push_request()
    try:
        sessions = task.sessions
        assert isinstance(sessions, TaskSessions) and task.sessions is sessions  # one per run
        session = sessions()
        session.execute(text("select 1"))  # leaves a transaction (and a connection) open
        assert session.in_transaction()
        task.after_return("SUCCESS", None, "id", (), {}, None)
        assert not session.in_transaction() and task.request.occlab_sessions is None
    finally:
        task.pop_request()


def test_worker_arguments_consume_the_detail_queue_first_then_both_job_queues() -> None:
    settings = load_settings({"OCCLAB_QUEUE": "cpu-q", "OCCLAB_GPU_QUEUE": "gpu-q"})
    argv = worker_argv(settings, concurrency=3)
    assert argv[:5] == ["worker", "--pool", "prefork", "--concurrency", "3"]
    assert argv[argv.index("--queues") + 1] == "cpu-q-detail,cpu-q,gpu-q"
    gpu = worker_argv(settings, concurrency=3, gpu=True, extra=("-n", "gpu0@%h"))
    assert gpu[gpu.index("--concurrency") + 1] == "1" and gpu[-2:] == ["-n", "gpu0@%h"]


def test_the_command_starts_celery_with_those_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(
        worker.app.WorkerCelery, "worker_main", lambda self, argv: seen.update(app=self, argv=argv)
    )
    monkeypatch.setenv("OCCLAB_QUEUE", "cmd-q")
    done = CliRunner().invoke(worker_command, ["--gpu", "-c", "2", "--without-mingle"])
    assert done.exit_code == 0, done.output
    assert "--concurrency 1" in " ".join(seen["argv"]) and seen["argv"][-1] == "--without-mingle"
    assert seen["app"].settings.task_queue == "cmd-q"


class Consumer:
    """What ``worker_ready`` is sent by: a worker's consumer, which knows its app."""

    def __init__(self, app: Any) -> None:
        self.app = app


def test_the_app_runs_the_reaper_while_its_worker_is_up(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": sqlite_url, "OCCLAB_INSTANCE": str(tmp_path)})
    app, other = create_celery_app(settings), create_celery_app(settings)

    def reapers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "occlab-reaper"]

    before = reapers()
    worker_ready.send(sender=Consumer(app))  # as app's worker does when ready
    started = [t for t in reapers() if t not in before]
    assert len(started) == 1  # app's receiver only, not other's
    worker_shutdown.send(sender=None)
    started[0].join(10)
    assert not started[0].is_alive() and other is not app
