"""``occlab run``: process supervision, the demo account, the bundled Redis, and end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from shared.cli.launch import (
    LaunchError,
    Supervisor,
    child_env,
    ensure_demo_account,
    redis_for,
    wait_for_health,
    wait_for_stop,
)
from shared.config import load_settings
from shared.db import upgrade_database
from tests.conftest import REPO

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
# Ignores SIGTERM and leaves a grandchild that inherits that: only SIGKILL of the group ends it.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print(p.pid, flush=True); time.sleep(600)",
]
LAUNCHER = f"""
import json, os, sys
from shared.cli.launch import Supervisor, stop_on_signals, wait_for_stop
sup = Supervisor(env=dict(os.environ))
with stop_on_signals():
    try:
        pids = [sup.start("sleeper", {SLEEPER!r}).pid, sup.start("stubborn", {STUBBORN!r}).pid]
        print(json.dumps(pids), flush=True)
        code = wait_for_stop(sup, poll_s=0.05)
    finally:
        sup.stop_all(timeout_s=1)
sys.exit(code)
"""


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie that only waits for its parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_every_child_and_grandchild(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    pids = [*json.loads(proc.stdout.readline()), int(proc.stdout.readline())]
    assert all(alive(pid) for pid in pids)
    proc.send_signal(sig)
    assert proc.wait(timeout=15) == 0
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)]


def test_a_child_that_ends_stops_the_launcher(capsys: pytest.CaptureFixture[str]) -> None:
    supervisor = Supervisor(env=dict(os.environ))
    sleeper = supervisor.start("sleeper", SLEEPER)
    supervisor.start("quitter", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        assert wait_for_stop(supervisor, poll_s=0.05) == 1
    finally:
        supervisor.stop_all(timeout_s=2)
    assert "the quitter process exited with status 3" in capsys.readouterr().err
    assert sleeper.poll() is not None and not supervisor.children


def test_health_wait_gives_up_when_a_child_dies() -> None:
    supervisor = Supervisor(env=dict(os.environ))
    supervisor.start("web", [sys.executable, "-c", "raise SystemExit(2)"])
    with pytest.raises(LaunchError, match="web process exited with status 2"):
        wait_for_health("http://127.0.0.1:9/healthz", supervisor, timeout_s=10)


def test_demo_account_is_created_once_and_renewed_without_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCCLAB_INSTANCE", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings()
    upgrade_database(settings)
    first = ensure_demo_account(settings)
    path = tmp_path / "demo-credentials.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    assert first["email"] == "demo@example.org" and first["password"] in path.read_text()
    assert ensure_demo_account(settings) == first
    path.unlink()
    renewed = ensure_demo_account(settings)
    assert renewed["password"] != first["password"] and renewed["token"] != first["token"]


def test_bundled_redis_is_started_and_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCCLAB_INSTANCE", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    with redis_for(load_settings(), echo=lambda _: None) as url:
        assert url == f"unix://{tmp_path / 'redis.sock'}"
        assert redis.Redis.from_url(url).ping()
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url).ping()


def processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker``: everything this launcher started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes() and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_until(proc: subprocess.Popen[str], prefix: str, timeout_s: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
        if not line and proc.poll() is not None:
            break
    pytest.fail(f"occlab run never printed {prefix!r} (exit status {proc.poll()})")


def poll_job(url: str, token: str, timeout_s: float = 180) -> dict[str, object]:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=10) as response:
            job = json.loads(response.read())
        if job["status"] in ("done", "failed", "cancelled"):
            return dict(job)
        time.sleep(0.5)
    pytest.fail(f"{url} did not finish in {timeout_s} s")


@pytest.mark.slow
@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("web.cli", "worker.cli")),
    reason="needs `occlab web` and `occlab worker` (web/cli.py, worker/cli.py) to exist",
)
def test_occlab_run_serves_the_toy_paper_and_stops_cleanly(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"OCCLAB_INSTANCE": str(instance), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "shared.cli", "run", "--port", str(free_port())]
    # A group of its own, like a terminal's foreground job, so SIGINT goes where Ctrl-C would.
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, process_group=0
    )
    try:
        page = read_until(proc, "the toy paper's job: ", timeout_s=180)
        server, _, job_id = page.rpartition("/jobs/")
        assert job_id.isdecimal(), page  # the page a person opens, not the API's JSON
        creds = (instance / "demo-credentials.txt").read_text()
        token = creds.split("token: ", 1)[1].strip()
        assert poll_job(f"{server}/api/v1/jobs/{job_id}", token)["status"] == "done"
        assert len(processes_with(f"OCCLAB_INSTANCE={instance}")) >= 3  # launcher, web, worker
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while processes_with(f"OCCLAB_INSTANCE={instance}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(f"OCCLAB_INSTANCE={instance}") == []


def test_children_get_the_instance_secret_key_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCCLAB_INSTANCE", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    env = child_env(load_settings(), "redis://x")
    path = tmp_path / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert env["SECRET_KEY"] == path.read_text().strip() and len(env["SECRET_KEY"]) >= 40
    assert child_env(load_settings(), "redis://x")["SECRET_KEY"] == env["SECRET_KEY"]
    monkeypatch.setenv("SECRET_KEY", "operator-chosen-" * 3)  # the operator's key wins
    assert child_env(load_settings(), "redis://x")["SECRET_KEY"] == "operator-chosen-" * 3
