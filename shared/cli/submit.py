"""`occlab submit` sends a file of papers to a server and follows the job; `occlab export`
downloads every result of a job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from shared.cli.errors import fail
from shared.models import FINISHED, JobStatus
from shared.units import DEFAULT_UNITS, UNITS, Detail


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", required=True, envvar="OCCLAB_SERVER", help="e.g. http://host:5000")
@click.option("--token", "api_token", required=True, envvar="OCCLAB_TOKEN", help="API token.")
@click.option(
    "--model",
    "models",
    multiple=True,
    help="name or name:version (default: the server's default model); give it again (at "
    "most 4 in all) to run the same papers under each model, one job each, to compare.",
)
@click.option("--title-unit", type=click.Choice(UNITS), default=DEFAULT_UNITS["title"])
@click.option("--abstract-unit", type=click.Choice(UNITS), default=DEFAULT_UNITS["abstract"])
@click.option(
    "--detail",
    type=click.Choice([d.value for d in Detail]),
    help="bulk (default): per-token traces when a result is first shown; full: all up front.",
)
@click.option(
    "--keep-boilerplate/--leave-out-boilerplate",
    default=None,
    help="Explain placeholders and trailing publisher lines as units, or leave them out "
    "(default: the server's OCCLAB_KEEP_BOILERPLATE).",
)
@click.option("--wait/--no-wait", default=True, help="Follow the job until it ends.")
def submit(
    file: Path,
    server: str,
    api_token: str,
    models: tuple[str, ...],
    detail: str | None,
    keep_boilerplate: bool | None,
    wait: bool,
    **units: str,
) -> None:
    """Submit a CSV/JSONL file of papers to a server and follow the job."""
    from shared.client import ClientError, submit_file

    options = {"detail": detail}
    if keep_boilerplate is not None:
        options["keep_boilerplate"] = "true" if keep_boilerplate else "false"
    fields: dict[str, str | list[str]] = {**units, **{k: v for k, v in options.items() if v}}
    if models:
        fields["model"] = list(models)  # repeated: one job per model
    try:
        first = submit_file(server, api_token, file, fields)
        group = first.get("group") or [{}]  # the first job's entry, then the others'
        jobs = [{**first, **group[0]}, *group[1:]]
        for job in jobs:
            _started(server, job, first)
        if first.get("status") == JobStatus.INGESTING:
            click.echo("the file is stored; a worker reads it in, computing as it goes")
        _left_out(server, first)
        finals = [_follow(server, api_token, job, wait) for job in jobs]
    except ClientError as exc:
        fail(str(exc))
    if any(str(f.get("status")) in FINISHED - {JobStatus.DONE} for f in finals):
        sys.exit(1)


def _started(server: str, job: dict[str, Any], first: dict[str, Any]) -> None:
    from shared.client import job_url

    model = job.get("model")
    under = f" ({model['name']}:{model['version']})" if isinstance(model, dict) else ""
    click.echo(f"job {job['id']}{under}: {job_url(server, job)}")
    if job["id"] != first["id"]:
        compare = f"{server.rstrip('/')}/jobs/{first['id']}/compare/{job['id']}"
        click.echo(f"compare job {first['id']} with job {job['id']}: {compare}")


def _follow(server: str, token: str, job: dict[str, Any], wait: bool) -> dict[str, Any]:
    """Follow one job to its end (``wait``), and say how it ended."""
    from shared.client import follow_job

    final = follow_job(server, token, job) if wait else job
    if final is not job and final.get("rejected") != job.get("rejected"):
        _left_out(server, final)  # found while the file was read in
    click.echo(f"job {job['id']} {final.get('status')}")
    return final


def _left_out(server: str, job: dict[str, Any]) -> None:
    if job.get("rejected"):
        problems = f"{server.rstrip('/')}{job.get('problems_url', '')}"
        click.echo(f"{job['rejected']:,} row(s) left out; why, by line: {problems}")


EXPORT_FORMATS = ("csv", "jsonl")


@click.command()
@click.argument("job_id", type=click.IntRange(min=1))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write; .csv or .jsonl picks the format.")  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), help="Overrides --out's suffix."
)
@click.option("--server", required=True, envvar="OCCLAB_SERVER", help="e.g. http://host:5000")
@click.option("--token", "api_token", required=True, envvar="OCCLAB_TOKEN", help="API token.")
def export(job_id: int, out: Path, fmt: str | None, server: str, api_token: str) -> None:
    """Download every result of job JOB_ID: one CSV row, or one JSON line, per paper."""
    from shared.client import ClientError, download

    fmt = fmt or out.suffix.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        fail(f"{out}: give a .csv or .jsonl file, or --format csv|jsonl")
    url = f"{server.rstrip('/')}/api/v1/jobs/{job_id}/results.{fmt}"
    try:
        size = download(url, api_token, out)
    except ClientError as exc:
        fail(str(exc))
    click.echo(f"job {job_id}: {size:,} bytes written to {out}")
