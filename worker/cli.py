"""``occlab worker``: a Celery worker in this process, consuming the detail and both job queues.

CPU workers run ``--concurrency`` prefork children. A GPU worker runs one child: start one
``occlab worker --gpu`` per GPU, each with its own ``CUDA_VISIBLE_DEVICES``, because a CUDA
context belongs to one process and one device.
"""

from __future__ import annotations

import click

from shared.config import Settings, load_settings


def worker_argv(
    settings: Settings,
    concurrency: int = 1,
    gpu: bool = False,
    loglevel: str = "INFO",
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The ``celery worker`` arguments: the detail queue first (a person waits on those
    traces), then both job queues, since small jobs must not wait on GPUs."""
    return [
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(1 if gpu else concurrency),
        "--queues",
        f"{settings.detail_queue},{settings.task_queue},{settings.gpu_queue}",
        "--loglevel",
        loglevel,
        *extra,
    ]


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--concurrency",
    "-c",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (each loads its own copy of the model).",
)
@click.option("--gpu", is_flag=True, help="One process for one GPU (forces --concurrency 1).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker_command(
    concurrency: int, gpu: bool, loglevel: str, celery_args: tuple[str, ...]
) -> None:
    """Run a worker that computes queued chunks; extra arguments go to `celery worker`.

    Settings (DATABASE_URL, REDIS_URL, OCCLAB_QUEUE, ...) are read from the environment now.
    """
    from worker.app import create_celery_app  # here: `occlab --help` must not import Celery

    if gpu and concurrency != 1:
        click.echo("--gpu: one process per GPU, so --concurrency is 1", err=True)
    settings = load_settings()
    app = create_celery_app(settings)
    app.worker_main(worker_argv(settings, concurrency, gpu, loglevel, celery_args))
