"""The engine's commands: `occlab train`, `explain` and `bench`.

Engine imports happen inside the commands, so `occlab --help` stays fast and the web's
commands never load torch; the training defaults come from the torch-free
``shared.engine.options``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from shared.cli.errors import BadInput
from shared.engine.options import TrainConfig, VectorKind  # torch-free: the defaults below
from shared.scales import DEFAULT, SCALES
from shared.units import DEFAULT_UNITS, UNITS

FORMATS = ("json", "csv", "png", "svg")


@click.command()
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Labelled CSV.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Model directory.")
@click.option(
    "--seed", default=TrainConfig.seed, show_default=True, help="Initialisation and batch order."
)
@click.option(
    "--split-seed",
    default=TrainConfig.split_seed,
    show_default=True,
    help="Which papers are train, validation and test.",
)
@click.option(
    "--vectors",
    type=click.Choice([k.value for k in VectorKind]),
    default=TrainConfig.vectors,
    show_default=True,
    help="word2vec or fasttext trained on the papers, or minilm's static word-piece vectors "
    "(fasttext's extra words and minilm need the train extra).",
)
@click.option(
    "--extra-words",
    default=TrainConfig.extra_words,
    show_default=True,
    help="fasttext and minilm: also keep vectors for this many common English words.",
)
@click.option(
    "--keep-boilerplate",
    is_flag=True,
    default=TrainConfig.keep_boilerplate,
    show_default=True,
    help="Train on placeholders and publisher lines as text (the service leaves them out).",
)
@click.option(
    "--epochs",
    "max_epochs",
    default=TrainConfig.max_epochs,
    show_default=True,
    help="At most this many.",
)
@click.option("--patience", default=TrainConfig.patience, show_default=True)
@click.option("--hidden", "hidden_size", default=TrainConfig.hidden_size, show_default=True)
@click.option("--layers", "num_layers", default=TrainConfig.num_layers, show_default=True)
@click.option("--vector-size", default=TrainConfig.vector_size, show_default=True)
@click.option(
    "--limit", type=int, default=TrainConfig.limit, help="Use only this many papers (quick runs)."
)
@click.option("--name", default=TrainConfig.name, show_default=True)
@click.option("--version", default=TrainConfig.version, show_default=True)
def train(data: Path, out: Path, **options: Any) -> None:
    """Train word vectors and the classifier on a labelled CSV; write a model directory."""
    if not data.is_file():
        raise BadInput(f"{data}: no such file; pass the labelled CSV with --data")
    if options["extra_words"] and options["vectors"] == VectorKind.WORD2VEC:
        raise BadInput(
            "--extra-words needs --vectors fasttext or minilm (word2vec has no subwords)"
        )
    from shared.engine.train import train_model
    from shared.engine.word_vectors import MissingPackage

    try:
        manifest = train_model(data, out, TrainConfig(**options), log=click.echo)
    except MissingPackage as exc:
        raise BadInput(str(exc)) from exc
    test = manifest["metrics"]["test"]
    click.echo(f"wrote {out}: test accuracy {test['accuracy']:.4f}, ROC-AUC {test['roc_auc']:.4f}")


@click.command()
@click.argument("papers", required=False, type=click.Path(path_type=Path))
@click.option("--title", help="The paper's title (one paper).")
@click.option("--abstract", help="The paper's abstract (one paper).")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from --out, or json.")
@click.option("--out", type=click.Path(path_type=Path), help="File (one paper) or directory.")
@click.option("--title-unit", type=click.Choice(UNITS), default=DEFAULT_UNITS["title"])
@click.option("--abstract-unit", type=click.Choice(UNITS), default=DEFAULT_UNITS["abstract"])
@click.option("--batch-size", default=32, show_default=True)
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default=DEFAULT.value,
    show_default=True,
    help="The heat map's colours (png, svg): P, its log-odds, or the change from the whole paper.",
)
def explain(
    papers: Path | None,
    title: str | None,
    abstract: str | None,
    fmt: str | None,
    out: Path | None,
    model_dir: Path | None,
    title_unit: str,
    abstract_unit: str,
    batch_size: int,
    scale: str,
) -> None:
    """Explain one paper (--title/--abstract) or every paper in a CSV/JSONL file."""
    from shared.cli import explain_papers

    if papers is None and (title is None or abstract is None):
        raise BadInput("give --title and --abstract for one paper, or a CSV/JSONL file of papers")
    if papers is not None and (title is not None or abstract is not None):
        raise BadInput("give either a file of papers or --title/--abstract, not both")
    units = {"title": title_unit, "abstract": abstract_unit}
    # One paper's format follows --out's suffix; a file's --out is a directory.
    fmt = fmt or (_suffix_format(out) if papers is None else "json")
    opts = explain_papers.Options(model_dir, fmt, out, units, batch_size, scale)
    try:
        if papers is None:
            explain_papers.explain_one_paper(
                {"title": title or "", "abstract": abstract or ""}, opts
            )
        else:
            explain_papers.explain_file(papers, opts)
    except explain_papers.CommandInputError as exc:
        raise BadInput(str(exc)) from exc


def _suffix_format(out: Path | None) -> str:
    suffix = out.suffix.lower().lstrip(".") if out else ""
    return suffix if suffix in FORMATS else "json"


@click.command()
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory.")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Labelled CSV.")
@click.option("--papers", "n_papers", default=64, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), help="Also write figures as JSON.")
def bench(
    model_dir: Path | None, data: Path | None, n_papers: int, seed: int, json_out: Path | None
) -> None:
    """Benchmark the engine against the seed's per-cell loop; prints figures."""
    from shared.cli.benchmark import run_bench

    figures = run_bench(model_dir, data, n_papers, seed, echo=click.echo)
    if json_out:
        json_out.write_text(json.dumps(figures, indent=2) + "\n")
