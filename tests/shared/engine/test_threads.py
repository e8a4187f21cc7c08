"""PyTorch's threads follow the CPUs a process may use, shared by its siblings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.engine.threads import threads_for, usable_cpus
from tests.conftest import REPO


def cpus_when_pinned_to(cpus: set[int], cpu_max: str | None = None, tmp: Path | None = None) -> int:
    """``usable_cpus`` in a fresh process whose affinity mask is ``cpus``."""
    quota = f"Path({str(tmp / 'cpu.max')!r})" if cpu_max and tmp else "CGROUP_CPU_MAX"
    if cpu_max and tmp:
        (tmp / "cpu.max").write_text(cpu_max)
    code = (
        "import os; from pathlib import Path\n"
        f"os.sched_setaffinity(0, {cpus!r})\n"
        "from shared.engine.threads import CGROUP_CPU_MAX, usable_cpus\n"
        f"print(usable_cpus({quota}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_a_process_pinned_to_one_cpu_counts_one() -> None:
    assert cpus_when_pinned_to({0}) == 1


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000\n", 1), ("50000 100000\n", 1), ("250000 100000\n", 1), ("garbled", 1)],
)
def test_a_cgroup_quota_never_raises_the_count_above_the_mask(
    tmp_path: Path, cpu_max: str, expected: int
) -> None:
    assert cpus_when_pinned_to({0}, cpu_max, tmp_path) == expected


def test_a_cgroup_quota_caps_the_mask(tmp_path: Path) -> None:
    mask = usable_cpus(tmp_path / "absent")
    (tmp_path / "cpu.max").write_text("100000 100000\n")  # one CPU's worth of time
    assert usable_cpus(tmp_path / "cpu.max") == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: two threads can use it
    assert usable_cpus(tmp_path / "cpu.max") == min(mask, 2)


def test_siblings_share_the_cpus_and_never_get_zero(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("400000 100000\n")
    four = min(4, usable_cpus(tmp_path / "absent"))
    assert threads_for(1, cpu_max=tmp_path / "cpu.max") == four
    assert threads_for(2, cpu_max=tmp_path / "cpu.max") == max(1, four // 2)
    assert threads_for(64, cpu_max=tmp_path / "cpu.max") == 1
    assert threads_for(2, override=3, cpu_max=tmp_path / "cpu.max") == 3
