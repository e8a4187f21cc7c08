"""The real ``occlab`` command line, run as a subprocess against the tiny model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.engine.model_dir import sha256_file
from tests.conftest import REPO, TOY_ABSTRACT, TOY_TITLE

TITLE = "Social media use and society"
ABSTRACT = "We used methods and techniques to study society. Then we did more research."


def occlab(*args: str | os.PathLike[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"}
    argv = [sys.executable, "-m", "shared.cli", *map(os.fsdecode, args)]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def assert_bad_input(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip("\n").split("\n")
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_module_entry_point_runs_the_cli():
    assert (REPO / "shared" / "cli" / "__main__.py").is_file()
    result = occlab("--help")  # python -m shared.cli
    assert result.returncode == 0
    assert "explain" in result.stdout and "train" in result.stdout


# Runs the CLI as ``python -m shared.cli`` would, then says whether torch was loaded.
TORCH_PROBE = """
import runpy, sys
sys.argv = ["occlab", *sys.argv[1:]]
try:
    runpy.run_module("shared.cli", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print("torch loaded:", "torch" in sys.modules)
"""


@pytest.mark.parametrize("args", [["--help"], ["web", "--help"], ["train", "--help"]])
def test_help_never_loads_torch(args: list[str]):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", TORCH_PROBE, *args]
    result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert result.stdout.rstrip().endswith("torch loaded: False"), result.stdout


def test_train_help_shows_the_train_config_defaults():
    from shared.cli.engine import train
    from shared.engine.options import TrainConfig

    defaults = TrainConfig()
    options = [p for p in train.params if p.name in TrainConfig.__dataclass_fields__]
    assert len(options) >= 9
    assert all(p.default == getattr(defaults, str(p.name)) for p in options)
    result = occlab("train", "--help")
    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())
    for p in options:
        # click shows no default for an off flag (--keep-boilerplate): its absence is it.
        if p.default is not None and not (getattr(p, "is_flag", False) and p.default is False):
            assert f"[default: {p.default}]" in shown, p.name


def test_one_paper_json(tiny_model_dir, tiny_model):
    result = occlab("explain", "--model", tiny_model_dir, "--title", TITLE, "--abstract", ABSTRACT)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "probability",
        "probabilities",
        "title_units",
        "abstract_units",
        "leave_one_out",
        "skipped",
        "model",
        "activations",
    ):
        assert key in data
    assert data["model"] == {"name": "default", "version": "1.0.0"}
    assert data["title_units"] == [[w] for w in TITLE.lower().split()]
    assert len(data["abstract_units"]) == 2
    grid = data["probabilities"]
    assert [len(row) for row in grid] == [2] * 5
    assert data["probability"] == pytest.approx(grid[-1][-1], abs=1e-6)
    assert data["probability"] == pytest.approx(tiny_model.predict(TITLE, ABSTRACT), abs=1e-5)
    assert len(data["leave_one_out"]["title"]) == 5
    assert len(data["leave_one_out"]["abstract"]) == 2
    activations = data["activations"]
    assert {"bias", "top_features", "fields"} <= set(activations)
    assert "forward" in activations["fields"]["title"]


def test_one_paper_png(tiny_model_dir, tmp_path):
    out = tmp_path / "x.png"
    result = occlab(
        "explain", "--model", tiny_model_dir, "--title", TOY_TITLE, "--abstract", TOY_ABSTRACT,
        "--format", "png", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert out.stat().st_size > 1000
    assert "P = " in result.stderr


def test_one_paper_png_in_each_scale(tiny_model_dir, tmp_path):
    paper = ["--title", TOY_TITLE, "--abstract", TOY_ABSTRACT]
    images = {}
    for scale in ("logodds", "p"):
        out = tmp_path / f"{scale}.png"
        args = ["--model", tiny_model_dir, *paper, "--scale", scale, "--out", out]
        result = occlab("explain", *args)
        assert result.returncode == 0, result.stderr
        images[scale] = out.read_bytes()
        assert images[scale].startswith(b"\x89PNG\r\n\x1a\n")
    assert images["logodds"] != images["p"]  # the colours follow the scale
    bad = occlab("explain", "--model", tiny_model_dir, *paper, "--scale", "linear", "--out", "x")
    assert bad.returncode == 2 and "'linear' is not one of 'p', 'logodds', 'change'" in bad.stderr


@pytest.mark.slow
def test_one_paper_svg_and_format_from_suffix(tiny_model_dir, tmp_path):
    svg = tmp_path / "x.svg"
    result = occlab(
        "explain", "--model", tiny_model_dir, "--title", TITLE, "--abstract", ABSTRACT,
        "--format", "svg", "--out", svg,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "<svg" in svg.read_text(encoding="utf-8")
    as_json = tmp_path / "x.json"
    result = occlab(
        "explain", "--model", tiny_model_dir, "--title", TITLE, "--abstract", ABSTRACT,
        "--out", as_json,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "probabilities" in json.loads(as_json.read_text(encoding="utf-8"))


def test_one_paper_csv(tiny_model_dir):
    result = occlab(
        "explain", "--model", tiny_model_dir, "--title", TITLE, "--abstract", ABSTRACT,
        "--format", "csv",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert lines[0] == "title_prefix,abstract_prefix,title_added,abstract_added,probability"
    assert len(lines) == 1 + 5 * 2
    assert lines[1].startswith("1,1,Social,We used methods")
    assert lines[-1].startswith("5,2,society,Then we did more research.,")


def _altered_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    model = tmp_path / "altered"
    shutil.copytree(tiny_model_dir, model)
    weights = model / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01
    weights.write_bytes(bytes(data))
    return model


@pytest.mark.parametrize(
    "case",
    [
        "empty title",
        "whitespace abstract",
        "only punctuation",
        "missing model dir",
        "altered model file",
        "png without out",
        "csv without columns",
        "undecodable csv",
        "undecodable title",
        "no paper given",
    ],
)
def test_bad_input_is_one_line_exit_2(case, tiny_model_dir, tmp_path):
    model: Path = tiny_model_dir
    paper: list[str | Path] = ["--title", TITLE, "--abstract", ABSTRACT]
    extra: list[str | Path] = []
    expect = []
    if case == "empty title":
        paper[1] = ""
        expect = ["title is empty"]
    elif case == "whitespace abstract":
        paper[3] = "  \n "
        expect = ["abstract is empty"]
    elif case == "only punctuation":
        paper[3] = "... !!! ---"
        expect = ["abstract has no words"]
    elif case == "missing model dir":
        model = tmp_path / "no-such-model"
        expect = [str(model)]
    elif case == "altered model file":
        model = _altered_model(tiny_model_dir, tmp_path)
        expect = ["weights.safetensors"]
    elif case == "png without out":
        extra = ["--format", "png"]
        expect = ["--out"]
    elif case == "csv without columns":
        path = tmp_path / "papers.csv"
        path.write_text("heading,body\nA,B\n", encoding="utf-8")
        paper, extra = [path], ["--out", tmp_path / "out"]
        expect = ["'title' or 'abstract'", "heading, body"]
    elif case == "undecodable csv":
        path = tmp_path / "papers.csv"
        path.write_bytes(b"title,abstract\nSocial media,We study it.\nCaf\xe9,Fine.\n")
        paper, extra = [path], ["--out", tmp_path / "out"]
        expect = ["line 3", "0xe9"]
    elif case == "undecodable title":
        paper[1] = os.fsdecode(b"\xff\xfe")
        expect = ["title"]
    elif case == "no paper given":
        paper = ["--title", TITLE]
    result = occlab("explain", "--model", model, *paper, *extra)
    assert_bad_input(result, *expect)
    assert result.stdout == ""


def test_undecodable_bytes_inside_a_title_never_crash(tiny_model_dir, tmp_path):
    """A title argument with a stray non-UTF-8 byte gives a picture or one error line."""
    out = tmp_path / "x.png"
    title = os.fsdecode(b"Social \xff media use")
    result = occlab(
        "explain", "--model", tiny_model_dir, "--title", title, "--abstract", ABSTRACT,
        "--out", out,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    if result.returncode == 0:
        assert out.read_bytes().startswith(b"\x89PNG")
    else:
        assert_bad_input(result)


def test_inconsistent_model_dir_is_one_line_exit_2(tiny_model_dir, tmp_path):
    """Files that match the manifest but not each other: a bad model, not a crash."""
    model = tmp_path / "inconsistent"
    shutil.copytree(tiny_model_dir, model)
    vocab = model / "vocab.txt"
    vocab.write_text(vocab.read_text(encoding="utf-8") + "extraword\n", encoding="utf-8")
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["files"]["vocab.txt"] = sha256_file(vocab)
    (model / "manifest.json").write_text(json.dumps(manifest))
    result = occlab("explain", "--model", model, "--title", TITLE, "--abstract", ABSTRACT)
    assert_bad_input(result, "vocab.txt")


def test_file_with_one_bad_row(tiny_model_dir, tmp_path):
    papers = tmp_path / "papers.csv"
    papers.write_text(
        "eid,title,abstract\n"
        f'e-1,"{TITLE}","{ABSTRACT}"\n'
        'e-2,"...","We study society."\n'
        f'e-3,"{TOY_TITLE}","{TOY_ABSTRACT}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = occlab("explain", papers, "--model", tiny_model_dir, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["line"], r["id"]) for r in results] == [(2, "e-1"), (4, "e-3")]
    assert all("probabilities" in r and "activations" in r for r in results)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [3]
    assert "title has no words" in errors[0]["error"]
    assert "papers.csv, line 3: title has no words" in result.stderr
    assert "explained 2 papers, skipped 1" in result.stderr


@pytest.mark.slow
def test_file_with_images_and_a_bad_json_line(tiny_model_dir, tmp_path):
    papers = tmp_path / "papers.jsonl"
    papers.write_text(
        json.dumps({"title": TITLE, "abstract": ABSTRACT, "id": 9}) + "\n{broken\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = occlab("explain", papers, "--model", tiny_model_dir, "--out", out, "--format", "png")
    assert result.returncode == 0, result.stderr
    assert (out / "line-1.png").read_bytes().startswith(b"\x89PNG")
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [2]
    assert "papers.jsonl, line 2: not valid JSON" in result.stderr


@pytest.mark.slow
def test_file_with_no_good_row_is_bad_input(tiny_model_dir, tmp_path):
    papers = tmp_path / "papers.csv"
    papers.write_text('title,abstract\n"",We study society.\n', encoding="utf-8")
    out = tmp_path / "out"
    result = occlab("explain", papers, "--model", tiny_model_dir, "--out", out)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().split("\n")[-1].startswith("error: papers.csv: no paper")
    assert "line 2: title is empty" in result.stderr
