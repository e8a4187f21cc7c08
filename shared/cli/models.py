"""``occlab model``: bring your own model. ``import`` converts a researcher's PyTorch state
dict and word2vec vectors, as a spec describes them, into a model directory (the format
``occlab train`` writes), and can register it for jobs on this installation.

Torch and gensim are imported inside the command, so ``occlab --help`` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from shared.cli.errors import fail, settings_or_fail

FILE = click.Path(path_type=Path, dir_okay=False)


@click.group("model")
def model() -> None:
    """Models of your own: import a checkpoint, register a model directory, list them."""


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
@click.option("--team", help="Register it for this team only [default: every team].")
def import_command(
    checkpoint: Path,
    vectors: Path,
    binary: bool | None,
    spec_path: Path,
    out: Path,
    name: str,
    version: str,
    register: bool,
    team: str | None,
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
    if register or team:
        _register(out, team)


@model.command("register")
@click.argument("model_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--team", help="For this team only [default: every team].")
def register_command(model_dir: Path, team: str | None) -> None:
    """Register a model directory (one `occlab train` or `occlab model import` wrote): its
    files go into the database, so every worker can fetch them."""
    _register(model_dir, team)


@model.command("list")
@click.option("--team", help="The models this team may use [default: the shared ones].")
def list_command(team: str | None) -> None:
    """The registered models: name:version, status, fields and who may use them."""
    from shared.db import session_scope
    from shared.registry.catalog import shared_models, team_models

    with session_scope(settings_or_fail().database_url) as session:
        rows = team_models(session, _team_id(session, team)) if team else shared_models(session)
        for row in rows:
            scope = "every team" if row.team_id is None else team
            click.echo(f"{row.spec}\t{row.status}\t{' + '.join(row.fields)}\t{scope}")


def _team_id(session: Any, name: str) -> int:
    from sqlalchemy import select

    from shared.models import Team

    found = session.scalar(select(Team.id).where(Team.name == name))
    if found is None:
        fail(f"no team named {name!r}; teams are made with: occlab user add EMAIL --team NAME")
    return int(found)


def _register(out: Path, team: str | None) -> None:
    from shared.db import session_scope
    from shared.manifest import ModelFileError
    from shared.papers.objects import object_store
    from shared.registry.catalog import register_model
    from shared.units import InputError

    settings = settings_or_fail()
    try:
        with session_scope(settings.database_url) as session:
            team_id = _team_id(session, team) if team else None
            row = register_model(session, out, team_id, objects=object_store(settings))
            label = row.spec
    except (InputError, ModelFileError) as exc:
        fail(f"{out} was not registered: {exc}")
    who = f"team {team}" if team else "every team"
    click.echo(f"registered {label} for {who}: submit jobs with model {label!r}")
