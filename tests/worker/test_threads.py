"""Each pool child of a real worker sets PyTorch's threads to its share of the CPUs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.engine.threads import usable_cpus
from tests.worker.support import start_worker, stop_worker, wait_for, worker_env

CHILD_LINE = re.compile(
    r"ForkPoolWorker-\d+\] torch threads: (\d+) \((\d+) usable CPUs shared by (\d+)"
)


def child_threads(env: dict[str, str], log: Path, concurrency: int) -> list[tuple[int, ...]]:
    worker = start_worker(worker_env(env), log, concurrency=concurrency)
    try:
        found = lambda: CHILD_LINE.findall(log.read_text(errors="replace"))  # noqa: E731
        wait_for(lambda: len(found()) >= concurrency, 60, "every child's thread count", log)
        return [tuple(int(n) for n in line) for line in found()]
    finally:
        stop_worker(worker)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("concurrency", [1, 2])
def test_children_share_the_cpus(
    service_env: dict[str, str], tmp_path: Path, concurrency: int
) -> None:
    cpus = usable_cpus()
    lines = child_threads(service_env, tmp_path / "worker.log", concurrency)
    expected = (max(1, cpus // concurrency), cpus, concurrency)
    assert lines == [expected] * concurrency


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_setting_overrides_the_share(service_env: dict[str, str], tmp_path: Path) -> None:
    env = {**service_env, "OCCLAB_TORCH_THREADS": "3"}
    [(threads, _, sharing)] = child_threads(env, tmp_path / "worker.log", 1)
    assert (threads, sharing) == (3, 1)
