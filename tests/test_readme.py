"""The README's examples run as written: its Python block, and each ``occlab explain`` line
of its command-line block, in a scratch folder with the shipped model.

``make run``/``make test``, ``occlab train`` (minutes) and the service commands (real hosts)
are exercised by their own tests instead (tests/shared/cli/, tests/worker/)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def commands(block: str) -> list[list[str]]:
    """Shell lines (continuations joined, comments dropped) as argument lists."""
    joined = block.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def explain_lines() -> list[list[str]]:
    found = [
        c for b in blocks("sh") for c in commands(b) if c[:2] == [".venv/bin/occlab", "explain"]
    ]
    assert len(found) >= 2, "the README lost its `occlab explain` examples"
    return found


def test_the_python_example_runs(default_model_dir: Path) -> None:
    [source] = [b for b in blocks("python") if "from shared.engine" in b]
    scope: dict[str, object] = {}
    exec(compile(source, "README.md", "exec"), scope)
    assert 0.0 <= float(scope["p"]) <= 1.0  # type: ignore[arg-type]
    grid = scope["g"].probabilities  # type: ignore[attr-defined]
    assert grid.shape == (len(scope["title"].split()), 2)  # type: ignore[attr-defined]
    assert abs(grid[-1, -1] - float(scope["p"])) < 1e-5  # type: ignore[arg-type]


@pytest.mark.parametrize("argv", explain_lines(), ids=lambda a: " ".join(a[2:4]))
def test_each_explain_line_runs(argv: list[str], tmp_path: Path, default_model_dir: Path) -> None:
    if "papers.csv" in argv:  # the example's own file: a Web of Science-style export
        (tmp_path / "papers.csv").write_text(
            'Article Title,Abstract,UT\n"Humans, society and R",We used methods. Code is on '
            "Github.,WOS:1\nSurvey methods,We asked people. They answered.,WOS:2\n",
            encoding="utf-8",
        )
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / argv[argv.index("--out") + 1] if "--out" in argv else None
    if out is not None and out.suffix == ".png":
        assert out.read_bytes().startswith(b"\x89PNG")
    elif out is not None:  # a directory with one JSON line per paper
        rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert [(r["line"], r["id"]) for r in rows] == [(2, "WOS:1"), (3, "WOS:2")]


# "20 MiB", "3600 s", "7 days (s)", "20,000", "off", "`occlab`": the README's ways of
# writing a default, read back as the value the Settings field holds.
_SCALES = {"MiB": 1024**2, "GiB": 1024**3, "s": 1, "days": 24 * 3600}


def _value(cell: str) -> object:
    cell = cell.strip()
    if cell == "(none)":
        return ""
    if cell in ("off", "on"):
        return cell == "on"
    if cell.startswith("`"):
        return cell.strip("`")
    number, _, unit = cell.partition(" ")
    scale = _SCALES.get(unit.split(" ")[0], 1)
    value = float(number.replace(",", "")) * scale
    return int(value) if value.is_integer() and "." not in number else value


def test_the_settings_table_states_the_code_defaults() -> None:
    from shared.config import _DEFAULTS, _FROM_ENV

    field_of = {var: name for name, var, _ in _FROM_ENV}
    rows = re.findall(r"^\| (`OCCLAB_[^|]+) \| ([^|]+) \|", README, re.M)
    checked = set()
    for names, defaults in rows:
        variables = [v.strip().strip("`") for v in names.split(",")]
        cells = defaults.split(", ") if len(variables) > 1 else [defaults]
        for variable, cell in zip(variables, cells, strict=True):
            if variable in field_of:
                assert _value(cell) == _DEFAULTS[field_of[variable]], variable
                checked.add(variable)
    assert checked == set(field_of), "variables the README's table does not give"
