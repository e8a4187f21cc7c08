"""Import directions, as import-linter checks them (contracts in pyproject.toml).

The web process must start without torch, the worker without Flask, and ``shared`` must
serve both without knowing either; one wrong import would quietly undo that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# Packages that break every contract, each one import at a time.
VIOLATIONS = {
    "web/__init__.py": "import torch\n",
    "web/views.py": "import shared.processing\n",
    "worker/__init__.py": "import flask\n",
    "shared/__init__.py": "",
    "shared/processing.py": "",
    "shared/engine/__init__.py": "",
    "shared/leak.py": "import worker\n",
}


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_code_keeps_every_import_contract() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_contracts_cover_each_direction() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert config["include_external_packages"] is True
    forbidden = {
        tuple(c["source_modules"]): set(c["forbidden_modules"])
        for c in config["contracts"]
        if c["type"] == "forbidden" and not c.get("allow_indirect_imports")
    }
    assert {"torch", "gensim", "shared.engine", "shared.processing"} <= forbidden[("web",)]
    assert {"flask", "web"} <= forbidden[("worker",)]
    assert {"web", "worker"} <= forbidden[("shared",)]


def test_the_contracts_catch_violations(tmp_path: Path) -> None:
    # The same contracts over a fake tree that breaks each: proves they are not vacuous
    # (e.g. that torch and flask, external packages, are really in the graph).
    for name, source in VIOLATIONS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    done = lint_imports(tmp_path, pythonpath=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 broken" in done.stdout, done.stdout
    for line in ("web -> torch", "web.views -> shared.processing", "worker -> flask"):
        assert line in done.stdout, done.stdout
    assert "shared.leak -> worker" in done.stdout
