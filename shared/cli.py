"""The ``occlab`` command line.

Engine imports happen inside the commands, so ``occlab --help`` stays fast and commands of the
web and worker packages (registered as ``occlab.commands`` entry points) never load torch.
"""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from shared.service_cli import db, requeue_command, run_command, submit, token, user

FORMATS = ("json", "csv", "png", "svg")


class BadInput(click.ClickException):
    """A one-line error with exit status 2: the input, not the program, needs fixing."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


@click.group()
def main() -> None:
    """Occlusion Lab: see why a recurrent text classifier decides what it decides."""


@main.command()
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Labelled CSV.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Model directory.")
@click.option("--seed", default=13, show_default=True)
@click.option("--epochs", "max_epochs", default=15, show_default=True, help="At most this many.")
@click.option("--patience", default=3, show_default=True)
@click.option("--hidden", "hidden_size", default=128, show_default=True)
@click.option("--layers", "num_layers", default=2, show_default=True)
@click.option("--vector-size", default=200, show_default=True)
@click.option("--limit", type=int, default=None, help="Use only this many papers (quick runs).")
@click.option("--name", default="default", show_default=True)
@click.option("--version", default="1.0.0", show_default=True)
def train(data: Path, out: Path, **options: Any) -> None:
    """Train word2vec and the classifier on a labelled CSV; write a model directory."""
    from shared.engine.train import TrainConfig, train_model

    if not data.is_file():
        raise BadInput(f"{data}: no such file; pass the labelled CSV with --data")
    manifest = train_model(data, out, TrainConfig(**options), log=click.echo)
    test = manifest["metrics"]["test"]
    click.echo(f"wrote {out}: test accuracy {test['accuracy']:.4f}, ROC-AUC {test['roc_auc']:.4f}")


@main.command()
@click.argument("papers", required=False, type=click.Path(path_type=Path))
@click.option("--title", help="The paper's title (one paper).")
@click.option("--abstract", help="The paper's abstract (one paper).")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from --out, or json.")
@click.option("--out", type=click.Path(path_type=Path), help="File (one paper) or directory.")
@click.option("--title-unit", type=click.Choice(["word", "sentence"]), default="word")
@click.option("--abstract-unit", type=click.Choice(["word", "sentence"]), default="sentence")
@click.option("--batch-size", default=32, show_default=True)
def explain(papers: Path | None, title: str | None, abstract: str | None, **opts: Any) -> None:
    """Explain one paper (--title/--abstract) or every paper in a CSV/JSONL file."""
    from shared.engine import explain_cmd

    if papers is None and (title is None or abstract is None):
        raise BadInput("give --title and --abstract for one paper, or a CSV/JSONL file of papers")
    if papers is not None and (title is not None or abstract is not None):
        raise BadInput("give either a file of papers or --title/--abstract, not both")
    try:
        if papers is None:
            explain_cmd.one({"title": title or "", "abstract": abstract or ""}, **opts)
        else:
            explain_cmd.many(papers, **opts)
    except explain_cmd.CommandInputError as exc:
        raise BadInput(str(exc)) from exc


@main.command()
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model directory.")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="Labelled CSV.")
@click.option("--papers", "n_papers", default=64, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), help="Also write figures as JSON.")
def bench(
    model_dir: Path | None, data: Path | None, n_papers: int, seed: int, json_out: Path | None
) -> None:
    """Benchmark the engine against the seed's per-cell loop; prints figures."""
    from shared.engine.bench import run_bench

    figures = run_bench(model_dir, data, n_papers, seed, echo=click.echo)
    if json_out:
        json_out.write_text(json.dumps(figures, indent=2) + "\n")


for _command in (db, user, token, submit, run_command, requeue_command):
    main.add_command(_command)


def _register_plugins() -> None:
    for ep in entry_points(group="occlab.commands"):
        main.add_command(ep.load(), ep.name)


def run() -> None:
    _register_plugins()
    main(prog_name="occlab")


if __name__ == "__main__":
    run()
