"""The worker's Celery app: built from settings read when it is created, never at import.

``create_celery_app()`` is the factory (tests and ``occlab worker`` call it). The Celery CLI
needs a module attribute, so ``celery -A worker.app:celery_app worker`` gets one lazily: the
attribute is built on first access (PEP 562 ``__getattr__``), which is the moment the CLI
loads it, so the environment of that moment decides the broker, database and queues.

Fork safety: the parent only imports code. Pooled SQL connections are dropped in each pool
child (``worker_process_init``) and the model is loaded by the child on its first chunk
(``worker.processing.model_for``), because neither sockets nor CUDA state survive a fork.
Each child sets PyTorch's threads to the worker's CPUs divided by its concurrency
(``shared/engine/threads.py``).

Redelivery: a chunk is acknowledged only when it returns, so Redis hands a dead worker's
chunk to another worker once ``OCCLAB_VISIBILITY_TIMEOUT`` has passed (see ``Settings``). No
chunk may run that long, or one still being computed is handed out twice (harmless, results
are written once, but wasted work): the task time limits of ``CeleryConfig`` stop it first.
Tests set the timeout to seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from shared.config import Settings, load_settings
from shared.db import dispose_engines
from shared.jobs.dispatch import CeleryConfig
from worker import reaper

log = logging.getLogger(__name__)

# Imported by name when the app finalizes, so the task registers on every worker app.
TASK_MODULES = ("worker.tasks",)


class WorkerCelery(Celery):
    """A Celery app that carries the settings it was built from, for its tasks to read."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__("occlab", include=list(TASK_MODULES), **kwargs)
        self.config_from_object(CeleryConfig(settings))
        self.settings = settings

    def start_reaper(self, sender: Any = None, **_: Any) -> None:
        """``worker_ready``'s receiver: this app's worker runs the reaper and the beat."""
        if getattr(sender, "app", None) is self:
            name = str(getattr(sender, "hostname", None) or "worker")
            reaper.start_reaper(self, self.settings, name)


def create_celery_app(settings: Settings | None = None) -> WorkerCelery:
    """The worker app for ``settings`` (default: the environment, read now)."""
    app = WorkerCelery(settings or load_settings())
    # Weakly (the default), so an app that is dropped takes its receiver with it.
    worker_ready.connect(app.start_reaper)
    worker_shutdown.connect(reaper.stop_reaper)
    return app


def settings_of(app: Celery) -> Settings:
    """The settings of a worker app; a plain app (the web's) falls back to the environment."""
    settings = getattr(app, "settings", None)
    return settings if isinstance(settings, Settings) else load_settings()


# The worker's pool size and thread setting, noted in the main process before it forks.
_POOL = {"processes": 1, "threads": 0}


@worker_init.connect
def _note_pool(sender: Any = None, **_: Any) -> None:
    concurrency = getattr(sender, "concurrency", None)
    if isinstance(concurrency, int) and concurrency > 0:
        _POOL["processes"] = concurrency
    app = getattr(sender, "app", None)
    _POOL["threads"] = settings_of(app).torch_threads if app is not None else 0


@worker_process_init.connect
def _fresh_child(**_: Any) -> None:
    # A pooled connection inherited from the parent would be shared by two processes.
    dispose_engines()
    # The children share the worker's CPUs: default threads would oversubscribe them. Set in
    # the child, never the parent: an OpenMP pool started before fork hangs after it.
    from shared.engine.threads import set_threads

    set_threads(_POOL["processes"], _POOL["threads"])
    log.debug("pool child ready: inherited SQL connections dropped")


_APP: WorkerCelery | None = None


def __getattr__(name: str) -> Any:
    """``worker.app.celery_app``: created on first access, from the environment of then."""
    global _APP
    if name == "celery_app":
        if _APP is None:
            _APP = create_celery_app()
        return _APP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
