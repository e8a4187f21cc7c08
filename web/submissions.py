"""Turning a request into a :class:`shared.jobs.Submission`: a JSON body or an uploaded file.

Only the shape of the request is checked here; ``shared.jobs.create_job`` checks every
paper against the model. Problems name the field, and for files the line, so a person can
fix them; papers from an uploaded file are indexed by their line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any, NoReturn

from flask import request
from sqlalchemy.orm import Session

from shared.jobs.dispatch import send_ingest, send_job
from shared.jobs.ingest import start_ingest
from shared.jobs.submit import (
    MAX_MODELS,
    ON_ERROR,
    JobRejected,
    PaperProblem,
    Submission,
    create_job,
    link_group,
)
from shared.models import Job
from shared.papers import UNKNOWN_TYPE, FileError, JsonRefused, kind_of, load_json, parse_papers
from shared.papers.objects import object_store
from shared.papers.storage import store_bytes, store_file
from shared.units import DEFAULT_UNIT_OPTIONS, UNITS, Detail
from web.errors import ApiError
from web.extensions import celery, db, settings

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "")
# A JSON body is parsed in the web (about ten times its size in memory); files are streamed.
MAX_JSON_BYTES = 256 * 1024**2
# A form without a file arrives urlencoded; it is answered "no file", not 415.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class QueueUnavailable(RuntimeError):
    """The job was stored but its tasks could not be sent (the broker is down or hung).

    The job stays queued with ``sent_at`` NULL and its results pending: they were accepted,
    and the workers' reaper, ``occlab requeue`` or a resubmission of the same papers sends
    them once the broker is back."""

    def __init__(self, job: Job, cause: Exception) -> None:
        super().__init__(
            f"job {job.id} is saved, but the task queue is unreachable: it will start when "
            "the queue is back"
        )
        self.job = job
        self.cause = cause


def start_job(sub: Submission) -> Job:
    """Store the job (committed) and send its chunks, or for a stored file (a large
    submission) its ingest task: the API's and the pages' one path. A submission naming
    several models stores one job per model in the same transaction, linked as a group
    (``link_group``; each job of a large one reads the same stored file); the first is
    returned.

    Raises ``JobRejected`` or ``InputError`` (unknown model) with nothing stored, or
    :class:`QueueUnavailable` when the broker is unreachable (within about
    ``publish_timeout_s``). Tasks go through the app's Celery client
    (``web.extensions.celery``), the one place tests replace the broker.
    """
    session = db.session
    try:
        made = [_add_job(session, each, bool(sub.other_models)) for each in sub.each_model()]
        link_group([job for job, _ in made])
    except Exception:
        session.rollback()
        raise
    session.commit()  # before enqueueing: a worker must find every row it is sent
    for job, todo in made:  # one failing leaves the rest unsent too: the reaper sends them
        _enqueue(job, todo)
    return made[0][0]


def _add_job(session: Session, sub: Submission, name: bool) -> tuple[Job, list[int] | None]:
    """One model's job; ``name``: say which model a refusal is under (one of several)."""
    try:
        if sub.file_id:  # a worker reads it in and sends its chunks
            return start_ingest(session, settings(), sub), None
        return create_job(session, settings(), sub)
    except JobRejected as exc:
        if name:  # each model reads its own vocabulary: a paper may fail under one only
            exc.message = f"under model {sub.model or 'the default'}: {exc.message}"
        raise


def _enqueue(job: Job, todo: Sequence[int] | None) -> None:
    """Send the chunks, then mark the job sent. If the broker fails, leave the job unsent
    (not failed): its results are still wanted, and ``sent_at`` NULL is what tells the
    reaper and the next submission of these papers that nothing is on its way."""
    try:
        if todo is None:
            send_ingest(celery.app, settings(), job)
        else:
            send_job(celery.app, settings(), db.session, job, todo)
    except Exception as exc:
        log.warning("job %s saved but not sent, the broker failed: %s", job.id, exc)
        raise QueueUnavailable(job, exc) from exc
    db.session.commit()


def read_submission(team_id: int, user_id: int | None) -> Submission:
    if request.mimetype in FORM_TYPES:
        return _from_upload(team_id, user_id)
    if request.mimetype not in JSON_TYPES and not request.is_json:
        raise ApiError(415, "send papers as application/json or a multipart/form-data upload")
    return _from_json(team_id, user_id)


def _from_json(team_id: int, user_id: int | None) -> Submission:
    if (request.content_length or 0) > MAX_JSON_BYTES:
        size = f"{request.content_length:,}"
        raise ApiError(
            413,
            f"the JSON body is {size} bytes; the limit is {MAX_JSON_BYTES:,}: send the papers "
            "as a CSV or JSON Lines file (multipart field 'file'), which is streamed",
        )
    try:
        body = load_json(request.get_data(cache=False) or b"null")
    except JsonRefused as exc:
        raise ApiError(400, f"the body is not read: {exc}") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ApiError(400, f"the body is not valid JSON: {exc.msg} at {where}") from exc
    except UnicodeDecodeError as exc:
        raise ApiError(400, "the body is not valid JSON: it is not UTF-8") from exc
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"papers": [{"title", "abstract"}]}')
    papers = body.get("papers")
    if not isinstance(papers, list):
        raise ApiError(
            400,
            "papers must be a list of objects with title and abstract",
            [{"field": "papers", "error": "missing or not a list"}],
        )
    title_unit, abstract_unit = _units(body)
    detail = _detail(body)
    model, others = _json_models(body)
    large = (request.content_length or 0) > settings().inline_bytes
    return Submission(
        team_id=team_id,
        submitter_id=user_id,
        papers=[] if large else [_with_text_id(p) for p in papers],
        file_id=_as_jsonl(team_id, papers) if large else None,
        title_unit=title_unit,
        abstract_unit=abstract_unit,
        model=model,
        other_models=others,
        source="api",
        on_error=_on_error(body),
        detail=detail,
        keep_boilerplate=keep_boilerplate(body),
    )


def _as_jsonl(team_id: int, papers: list[Any]) -> int:
    """A large body's papers, stored as JSON Lines (line n is paper n) for a worker to read
    with the file reader; the options stay on the job."""
    lines = "\n".join(json.dumps(p, ensure_ascii=False) for p in papers)
    objects = object_store(settings())
    return store_bytes(db.session, team_id, "papers.jsonl", lines.encode(), objects).id


def _with_text_id(paper: Any) -> Any:
    """External ids are stored as text; numbers are common in JSON, so accept them."""
    if isinstance(paper, Mapping) and paper.get("id") is not None:
        return {**paper, "id": str(paper["id"])}
    return paper


def _model(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, "model must be text", [{"field": "model", "error": "not text"}])
    return value


Models = tuple[str | None, tuple[str | None, ...]]  # the first model, and the others


def _json_models(body: Mapping[str, Any]) -> Models:
    """``model`` (one) or ``models`` (a list): the first named, and the others."""
    if body.get("models") is None:
        return _model(body.get("model")), ()
    if body.get("model") not in (None, ""):
        _models_error('give "model" (one model) or "models" (a list), not both')
    return _listed_models(body["models"])


def _form_models(names: list[str]) -> Models:
    """A form names several models by repeating ``model`` (``occlab submit --model A
    --model B``)."""
    return _listed_models(names) if len(names) > 1 else (_model(next(iter(names), None)), ())


def _listed_models(names: Any) -> Models:
    example = 'e.g. ["default", "mine:2"]'
    if not isinstance(names, list) or not names:
        _models_error(f"models must be a list of model names (name or name:version), {example}")
    if len(names) > MAX_MODELS:
        _models_error(f"models names {len(names)} models; the limit is {MAX_MODELS} a job")
    if not all(isinstance(n, str) and n.strip() for n in names):
        _models_error(f"each of models must be a model's name (name or name:version), {example}")
    twice = next((n for k, n in enumerate(names) if n in names[:k]), None)
    if twice is not None:
        _models_error(f"models names {twice!r} twice; name each model once")
    return names[0], tuple(names[1:])


def _models_error(message: str) -> NoReturn:
    raise ApiError(400, message, [{"field": "models", "error": message}])


def _on_error(source: Mapping[str, Any]) -> str:
    value = source.get("on_error") or ON_ERROR[0]
    if value not in ON_ERROR:
        message = f"on_error must be one of {', '.join(ON_ERROR)}, not {value!r}"
        raise ApiError(400, message, [{"field": "on_error", "error": message}])
    return str(value)


# How a form (or a JSON body that sends text) says yes or no; JSON may also send a boolean.
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def keep_boilerplate(source: Mapping[str, Any]) -> bool | None:
    """The ``keep_boilerplate`` option; None when not given (the setting decides)."""
    value = source.get("keep_boilerplate")
    if value is None or value == "" or isinstance(value, bool):
        return value if isinstance(value, bool) else None
    if isinstance(value, str) and value.lower() in _YES + _NO:
        return value.lower() in _YES
    message = f"keep_boilerplate must be true or false, not {value!r}"
    raise ApiError(400, message, [{"field": "keep_boilerplate", "error": message}])


def _units(source: Mapping[str, Any]) -> tuple[str, str]:
    """Unit choices, checked here so a bad one is reported as the field the client sent."""
    chosen = {name: source.get(name) or default for name, default in DEFAULT_UNIT_OPTIONS.items()}
    problems = [
        {"field": name, "error": f"{name} must be one of {', '.join(UNITS)}, not {value!r}"}
        for name, value in chosen.items()
        if value not in UNITS
    ]
    if problems:
        raise ApiError(400, problems[0]["error"], problems)
    return chosen["title_unit"], chosen["abstract_unit"]


def _detail(source: Mapping[str, Any]) -> Detail:
    """``detail``: bulk (the default: per-token traces computed when a result is first shown)
    or full (computed up front)."""
    value = source.get("detail") or Detail.BULK
    if value not in tuple(Detail):
        error = f"detail must be one of {', '.join(Detail)}, not {value!r}"
        raise ApiError(400, error, [{"field": "detail", "error": error}])
    return Detail(value)


def _from_upload(team_id: int, user_id: int | None) -> Submission:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(
            400,
            "no file: send the papers as the multipart field 'file'",
            [{"field": "file", "error": "missing"}],
        )
    name = upload.filename
    title_unit, abstract_unit = _units(request.form)
    detail = _detail(request.form)
    model, others = _form_models(request.form.getlist("model"))
    if _size(upload.stream) > settings().inline_bytes:
        return Submission(
            team_id=team_id,
            submitter_id=user_id,
            papers=[],
            file_id=_store_upload(team_id, name, upload.stream),
            title_unit=title_unit,
            abstract_unit=abstract_unit,
            model=model,
            other_models=others,
            source="upload",
            source_name=name[:300],
            detail=detail,
            on_error=_on_error(request.form),
            keep_boilerplate=keep_boilerplate(request.form),
        )
    try:
        parsed = parse_papers(upload.read(), name)
    except FileError as exc:
        raise ApiError(400, str(exc), [{"field": "file", "error": str(exc)}]) from exc
    return Submission(
        team_id=team_id,
        submitter_id=user_id,
        papers=[row.as_paper() for row in parsed.rows],
        title_unit=title_unit,
        abstract_unit=abstract_unit,
        model=model,
        other_models=others,
        source="upload",
        source_name=name[:300],
        detail=detail,
        indexes=[row.line for row in parsed.rows],
        on_error=_on_error(request.form),
        keep_boilerplate=keep_boilerplate(request.form),
        problems=[PaperProblem(e.line, None, e.message) for e in parsed.errors],
    )


def _size(stream: IO[bytes]) -> int:
    """An uploaded part's size (Werkzeug spools large parts to a temporary file)."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _store_upload(team_id: int, name: str, stream: IO[bytes]) -> int:
    """Copy a large upload into the database, a chunk at a time; its format is checked now
    (the rest when a worker reads it)."""
    if kind_of(name) is None:
        message = f"{name}: {UNKNOWN_TYPE}"
        raise ApiError(400, message, [{"field": "file", "error": message}])
    limit, objects = settings().max_upload_bytes, object_store(settings())
    return store_file(db.session, team_id, name, stream, limit, objects).id


def rejection(exc: JobRejected, sub: Submission) -> ApiError:
    """``create_job``'s problems, located by line for files and by position for JSON."""
    where = "line" if sub.indexes is not None else "paper"
    key = "line" if sub.indexes is not None else "index"
    problems = []
    for p in exc.problems:
        entry: dict[str, Any] = {key: p.index} if p.index else {}
        problems.append({**entry, "field": p.field, "error": p.message})
    first = exc.problems[0] if exc.problems else None
    if first is None:
        return ApiError(400, exc.message, problems)
    at = f"{where} {first.index}: " if first.index else ""
    return ApiError(400, f"{exc.message}; {at}{first.message}", problems)
