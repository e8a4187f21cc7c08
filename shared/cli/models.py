"""``occlab model``: bring your own model. ``import`` converts a researcher's PyTorch state
dict and word2vec vectors, as a spec describes them, into a model directory (the format
``occlab train`` writes), and can register it for jobs on this installation.

Torch and gensim are imported inside the command, so ``occlab --help`` stays fast."""

from __future__ import annotations

from pathlib import Path

import click

from shared.cli.errors import fail, settings_or_fail

FILE = click.Path(path_type=Path, dir_okay=False)


@click.group("model")
def model() -> None:
    """Models of your own: import a checkpoint."""


@model.command("import")
@click.argument("checkpoint", type=FILE)
@click.option("--vectors", type=FILE, required=True, help="word2vec file, text or binary.")
@click.option(
    "--binary/--text",
    default=None,
    help="The vectors file's word2vec format [default: detected].",
)
@click.option("--spec", "spec_path", type=FILE, required=True, help="SPEC.json (see README).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="New model directory.")
@click.option("--name", required=True, help="The model's name.")
@click.option("--version", required=True, help="Its version: a new one for new weights.")
@click.option(
    "--register", is_flag=True, help="Also register it in the database (DATABASE_URL) for jobs."
)
def import_command(
    checkpoint: Path,
    vectors: Path,
    binary: bool | None,
    spec_path: Path,
    out: Path,
    name: str,
    version: str,
    register: bool,
) -> None:
    """Convert CHECKPOINT (torch.save(model.state_dict())) into a model directory at --out."""
    from shared.engine.importer import ImportProblem, import_model

    if not name.strip() or not version.strip():
        fail("--name and --version must not be blank")
    try:
        manifest = import_model(checkpoint, vectors, spec_path, out, name, version, binary)
    except ImportProblem as exc:
        fail(str(exc))
    arch = manifest["architecture"]
    kind = "bidirectional" if arch["bidirectional"] else "unidirectional"
    click.echo(
        f"wrote {out}: {name} {version}, {arch['num_layers']} layer(s) of "
        f"{arch['hidden_size']} ({kind}), {manifest['vectors']['count']} words"
    )
    if register:
        _register(out)


def _register(out: Path) -> None:
    from shared.db import session_scope
    from shared.jobs.registry import register_model
    from shared.units import InputError

    try:
        with session_scope(settings_or_fail().database_url) as session:
            row = register_model(session, out)
            label = f"{row.name}:{row.version}"
    except InputError as exc:
        fail(f"{out} was written but not registered: {exc}")
    click.echo(f"registered {label}: submit jobs with model {label!r}")
