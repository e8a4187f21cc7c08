"""``occlab model import``: in-process for its messages and registration, and once as the real
command line, whose imported model ``occlab explain`` then reads as the author's module."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from shared.cli import main
from shared.config import load_settings
from shared.db import session_scope
from shared.engine.dataset import read_labelled_csv
from shared.registry.catalog import find_model
from tests.shared.cli.test_engine_commands import assert_bad_input, occlab
from tests.shared.engine.seed_layout import Layout, Reference, seed_net, vocabulary, write_sources

LAYOUT = Layout(layers=2)


@pytest.fixture(scope="module")
def papers(data_path: Path) -> list[dict[str, str]]:
    return [
        {"title": p.title, "abstract": p.abstract}
        for p in read_labelled_csv(data_path, limit=2, seed=3)
    ]


@pytest.fixture
def sources(tmp_path: Path, papers) -> tuple[Path, Path, Path]:
    return write_sources(tmp_path, seed_net(LAYOUT), vocabulary(papers), LAYOUT.spec(), binary=True)


def run(
    sources: tuple[Path, Path, Path], out: Path, *extra: str, env: dict[str, str] | None = None
) -> Result:
    checkpoint, vectors, spec = map(str, sources)
    args = ["model", "import", checkpoint, "--vectors", vectors, "--spec", spec, "--out", str(out)]
    args += ["--name", "seed", "--version", "1", *extra]
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_import_writes_a_model_directory(sources, tmp_path):
    result = run(sources, tmp_path / "model")
    assert result.exit_code == 0, result.output
    assert "2 layer(s) of 4 (bidirectional)" in result.stdout
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["name"] == "seed" and manifest["version"] == "1"
    assert manifest["architecture"]["pooling"] == {
        "title": "last-output",
        "abstract": "last-output",
    }
    assert manifest["imported"]["sources"]["vectors"]["format"] == "binary"


def test_the_text_flag_overrides_detection(sources, tmp_path):
    result = run(sources, tmp_path / "model", "--text")  # the file is binary
    assert_one_line_error(result, "is not a text word2vec file")
    assert not (tmp_path / "model").exists()


def test_bad_spec_and_pickle_are_one_line_errors(sources, tmp_path):
    spec = json.loads(sources[2].read_text())
    spec["fields"]["abstract"]["lstm"] = "lstmAbs"
    sources[2].write_text(json.dumps(spec))
    assert_one_line_error(run(sources, tmp_path / "a"), "no nn.LSTM 'lstmAbs'")
    torch.save(seed_net(LAYOUT), sources[0])  # the whole module: pickled classes
    assert_one_line_error(run(sources, tmp_path / "b"), "not a plain state_dict")


def test_register_makes_the_model_findable_by_name(sources, tmp_path):
    instance = tmp_path / "instance"
    env = {"OCCLAB_INSTANCE": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'o.db'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    result = run(sources, tmp_path / "model", "--register", env=env)
    assert result.exit_code == 0, result.output
    assert "registered seed:1 for every team" in result.stdout
    with session_scope(env["DATABASE_URL"]) as session:
        row = find_model(session, load_settings(env), 1, "seed:1")
        assert Path(row.path) == (tmp_path / "model").resolve()
        assert row.fields == ["title", "abstract"]


def test_the_command_line_import_explains_as_the_author(tmp_path, papers):
    net, kv = seed_net(LAYOUT), vocabulary(papers)
    sources = write_sources(tmp_path, net, kv, LAYOUT.spec(), binary=False)
    checkpoint, vectors, spec = sources
    out = tmp_path / "model"
    args = ["--vectors", vectors, "--spec", spec, "--out", out, "--name", "seed", "--version", "1"]
    done = occlab("model", "import", checkpoint, *args)
    assert done.returncode == 0, done.stderr
    for path in sources:
        path.unlink()
    paper = papers[0]
    result = occlab(
        "explain", "--model", out, "--title", paper["title"], "--abstract", paper["abstract"]
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    reference = Reference(net, kv)
    titles, abstracts = data["title_units"], data["abstract_units"]
    expected = [
        [
            reference.probability(
                [t for u in titles[: i + 1] for t in u], [t for u in abstracts[: j + 1] for t in u]
            )
            for j in range(len(abstracts))
        ]
        for i in range(len(titles))
    ]
    np.testing.assert_allclose(data["probabilities"], expected, atol=1e-5, rtol=0)
    args[args.index(out)] = tmp_path / "again"
    assert_bad_input(occlab("model", "import", checkpoint, *args), "no such spec file")


def test_the_readme_spec_is_the_seed_layouts():
    from shared.engine.import_spec import parse_spec
    from tests.shared.engine.seed_layout import SEED_SPEC
    from tests.test_readme import blocks

    [spec] = [b for b in blocks("json") if '"head_order"' in b]
    assert json.loads(spec) == SEED_SPEC
    assert parse_spec(spec).lstms == {"title": "lstmTi", "abstract": "lstmAb"}
    [line] = [b for b in blocks("sh") if "occlab model import" in b]
    for option in ("--vectors", "--spec", "--out", "--name", "--version", "--register"):
        assert option in line


@pytest.mark.parametrize("layout", [Layout(layers=2), Layout(layers=1, bidirectional=False)])
def test_the_benchmarks_per_cell_loop_reads_an_imported_model(tmp_path, papers, layout):
    from shared.cli.benchmark import fused_encoders, per_cell
    from shared.engine.explanations import occlusion_grid
    from shared.engine.importer import import_model
    from shared.engine.runtime import load_model

    sources = write_sources(tmp_path, seed_net(layout), vocabulary(papers), layout.spec(), False)
    import_model(*sources, out=tmp_path / "model", name="seed", version="1")
    model = load_model(tmp_path / "model", device="cpu")
    grid = occlusion_grid(model, papers[0]["title"], papers[0]["abstract"])
    loop = per_cell(model, grid, fused_encoders(model))
    np.testing.assert_allclose(loop, grid.probabilities, atol=1e-5, rtol=0)
