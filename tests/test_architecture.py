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


def declared_layers() -> list[str]:
    """The layers contract's modules, top first, as pyproject.toml lists them."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")
    return [m.strip() for layer in layers["layers"] for m in layer.replace(":", "|").split("|")]


SHARED_LAYERS = tuple(declared_layers())
# A fake tree with every layer of shared/, then one breach of each contract.
VIOLATIONS = {
    **{f"shared/{name}/__init__.py": "" for name in SHARED_LAYERS},
    "shared/__init__.py": "",
    "web/__init__.py": "import torch\n",
    "web/views.py": "import worker.processing\n",
    "worker/__init__.py": "import flask\n",
    "worker/processing.py": "",
    "shared/leak.py": "import worker\n",  # also not a declared layer: exhaustive catches it
    "shared/engine/__init__.py": "import shared.jobs\n",  # the engine above the domains
    # A cycle hidden in a function, as the CLI's once was.
    "shared/cli/a.py": "import shared.cli.b\n",
    "shared/cli/b.py": "def f():\n    import shared.cli.a\n",
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
    contracts = config["contracts"]
    forbidden = {
        tuple(c["source_modules"]): set(c["forbidden_modules"])
        for c in contracts
        if c["type"] == "forbidden" and not c.get("allow_indirect_imports")
    }
    assert {"torch", "gensim", "shared.engine", "worker"} <= forbidden[("web",)]
    assert {"flask", "web"} <= forbidden[("worker",)]
    assert {"web", "worker"} <= forbidden[("shared",)]
    acyclic = [c for c in contracts if c["type"] == "acyclic_siblings"]
    assert acyclic and set(acyclic[0]["ancestors"]) == {"shared", "web", "worker"}
    layers = next(c for c in contracts if c["type"] == "layers")
    assert layers["exhaustive"] is True
    declared = set(declared_layers())
    on_disk = {p.stem if p.is_file() else p.name for p in (REPO / "shared").iterdir()}
    assert declared == on_disk - {"__init__", "__pycache__"}


def test_the_contracts_catch_violations(tmp_path: Path) -> None:
    # The same contracts over a fake tree that breaks each: proves they are not vacuous
    # (e.g. that torch and flask, external packages, are really in the graph).
    for name, source in VIOLATIONS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    for name in SHARED_LAYERS:  # core modules are modules, not packages, as on disk
        if (REPO / "shared" / f"{name}.py").is_file():
            (tmp_path / "shared" / name / "__init__.py").unlink()
            (tmp_path / "shared" / name).rmdir()
            (tmp_path / "shared" / f"{name}.py").write_text("")
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    done = lint_imports(tmp_path, pythonpath=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "5 broken" in done.stdout, done.stdout
    for line in ("web -> torch", "web.views -> worker.processing", "worker -> flask",
                 "shared.leak -> worker", "shared.engine -> shared.jobs", ".b -> .a",
                 "- shared.leak"):  # fmt: skip
        assert line in done.stdout, done.stdout
