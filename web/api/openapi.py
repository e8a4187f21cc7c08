"""The OpenAPI 3.1 description of the API, written by hand next to the views it describes;
tests/web/test_openapi.py fails when a route of the app is missing from it."""

from __future__ import annotations

from typing import Any

from shared.figures import DPIS
from shared.scales import DEFAULT, SCALES
from web.api import schemas as s
from web.api.jobs import MAX_PAGE, MAX_PER_PAGE
from web.api.schemas import JSON, error_response, ok_response, ref
from web.params import MAX_ID

# Any other id answers 404, like one of another team's.
ID_RANGE = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ID = {"name": "id", "in": "path", "required": True, "schema": ID_RANGE}
PAGING = [
    {"name": "page", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
    {"name": "per_page", "in": "query", "description": f"Above {MAX_PER_PAGE}: {MAX_PER_PAGE}.",
     "schema": {"type": "integer", "minimum": 1, "default": 20}},
]  # fmt: skip
BAD_PAGING = {
    "400": error_response(
        "page or per_page is not a whole number in its range; problems name the parameter."
    )
}
UNAUTHORISED = {"401": error_response("No token, or an unknown or revoked one.")}
NOT_FOUND = {
    "404": error_response("No such id in the token's team; another team's ids look the same.")
}
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "security": SECURED, "responses": responses, **extra}


def _submit() -> dict[str, Any]:
    body = {
        "required": True,
        "content": {
            JSON: {"schema": ref("Submission")},
            "multipart/form-data": {"schema": ref("Upload")},
        },
    }
    created = {
        "description": "Stored and queued; follow the Location.",
        "headers": {"Location": {"schema": {"type": "string"}}},
        "content": {JSON: {"schema": ref("Accepted")}},
    }
    responses = {
        "202": created,
        "400": error_response(
            "A bad unit, model or file, no good paper, or a bad one under on_error=reject; "
            "nothing was stored. problems name each paper (index) or file line, and the field."
        ),
        **UNAUTHORISED,
        "413": error_response("The body or file is larger than the upload limit."),
        "415": error_response("Neither JSON nor a multipart upload."),
        "503": error_response(
            "The task queue is unreachable: the job is kept (job names it) and sent when the "
            "queue is back; Retry-After says when to look."
        ),
    }
    return _op("Submit papers to explain", responses, requestBody=body)


def _image(mimetype: str, what: str) -> dict[str, Any]:
    return {
        "description": f"{what} (ETag; 304 on If-None-Match).",
        "content": {mimetype: {"schema": {"type": "string"}}},
    }


NOT_MODIFIED = {"304": {"description": "Not modified: the If-None-Match ETag still holds."}}
NOT_DONE = {"409": error_response("The result is not done, so it has no figures yet.")}
OWNED = {**UNAUTHORISED, **NOT_FOUND}


SCALE = {
    "name": "scale",
    "in": "query",
    "description": "The colours: P (0 to 1), its log-odds, or the change from the whole paper "
    "(the top-right cell); the last two over the grid's own symmetric range.",
    "schema": {"type": "string", "enum": list(SCALES), "default": DEFAULT.value},
}
DPI = {
    "name": "dpi",
    "in": "query",
    "description": "A PNG's resolution, written in the file (an SVG ignores it).",
    "schema": {"type": "integer", "enum": list(DPIS), "default": DPIS[0]},
}
TITLE = {
    "name": "title",
    "in": "query",
    "description": "1: the paper's title and P on top; 0: none (for a caption to say).",
    "schema": {"type": "string", "enum": ["1", "0"], "default": "1"},
}
BAD_OPTION = {"400": error_response("scale, dpi or title is not one of its values.")}
FIGURES = {
    "heatmap": "The heat map",
    "loo": "The title and abstract coloured by leave-one-out, each unit's change in P after it",
    "contributions": "The top features' contributions to the logit, named in words",
}
JOB_CONTEXT = {
    "name": "job",
    "in": "query",
    "description": "A job of the team's that holds the result (else 404): paper.label is "
    "that job's label for it.",
    "schema": ID_RANGE,
}


def _figure(figure: str, fmt: str, mimetype: str) -> dict[str, Any]:
    what = FIGURES[figure]
    responses = {"200": _image(mimetype, what), **BAD_OPTION, **NOT_MODIFIED, **OWNED, **NOT_DONE}
    if figure == "contributions":
        responses["404"] = error_response("No such id, or the result stores no contributions.")
    options = [SCALE, DPI, TITLE] if figure == "heatmap" else [DPI, TITLE]
    get = _op(f"{what.split(',')[0]}, as {fmt.upper()}", responses, parameters=options)
    return {"parameters": [ID], "get": get}


def _export(fmt: str, mimetype: str, what: str) -> dict[str, Any]:
    body = {"description": f"{what}, in submission order, streamed.",
            "content": {mimetype: {"schema": {"type": "string"}}}}  # fmt: skip
    return {"parameters": [ID], "get": _op(f"The whole job as {fmt}", {"200": body, **OWNED})}


def _api_paths() -> dict[str, Any]:
    """Paths under the API prefix; each view in web/api_*.py has its entry here."""
    return {
        "/jobs": {
            "post": _submit(),
            "get": _op(
                "List the team's jobs, newest first",
                {**ok_response("A page of jobs", "JobPage"), **BAD_PAGING, **UNAUTHORISED},
                parameters=PAGING,
            ),
        },
        "/jobs/{id}": {
            "parameters": [ID],
            "get": _op(
                "A job, its results in submission order", {**ok_response("The job", "Job"), **OWNED}
            ),
        },
        "/jobs/{id}/cancel": {
            "parameters": [ID],
            "post": _op(
                "Cancel a queued or running job",
                {
                    **ok_response("The cancelled job", "Job"),
                    **OWNED,
                    "409": error_response("The job has already finished."),
                },
            ),
        },
        "/jobs/{id}/corpus": {
            "parameters": [ID],
            "get": _op(
                "What the job's papers say together: P histogram, labels, words, flips",
                {**ok_response("The corpus view (ETag)", "Corpus"), **NOT_MODIFIED, **OWNED},
            ),
        },
        "/jobs/{id}/problems.csv": _export(
            "problems", "text/csv", "The rows left out (on_error=skip): line, field, reason"
        ),
        "/jobs/{id}/results.csv": _export("csv", "text/csv", "One CSV row per paper"),
        "/jobs/{id}/results.jsonl": _export(
            "jsonl", "application/jsonl", "One full result (as /results/{id}) per line"
        ),
        "/results/{id}": {
            "parameters": [ID],
            "get": _op(
                "One paper's explanation: the JSON of occlab explain",
                {
                    **ok_response("The result (ETag once done)", "Result"),
                    **NOT_MODIFIED,
                    **OWNED,
                    "400": error_response("job is not a whole number."),
                },
                parameters=[JOB_CONTEXT],
            ),
        },
        **{
            f"/results/{{id}}/{figure}.{fmt}": _figure(figure, fmt, mimetype)
            for figure in FIGURES
            for fmt, mimetype in (("png", "image/png"), ("svg", "image/svg+xml"))
        },
        **_models(),
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    }


def _models() -> dict[str, Any]:
    owners = {"403": error_response("Only an owner of the team may do this.")}
    upload = {"required": True, "content": {"multipart/form-data": {"schema": ref("ModelUpload")}}}
    importing = {
        "description": "Kept; a worker imports it: follow the Location until status is ready.",
        "headers": {"Location": {"schema": {"type": "string"}}},
        "content": {JSON: {"schema": ref("RegisteredModel")}},
    }
    failed = "The task queue is unreachable: the model is failed, saying to upload it again."
    return {
        "/models": {
            "get": _op(
                "The models the team may use: the shipped default and its own",
                {**ok_response("The models", "ModelList"), **UNAUTHORISED},
            ),
            "post": _op(
                "Import a model of your own: a state_dict, word2vec vectors and a spec",
                {
                    "202": importing,
                    "400": error_response("A part is missing, or the name or version is taken."),
                    **UNAUTHORISED,
                    **owners,
                    "413": error_response("A file is larger than the upload limit."),
                    "503": {**ok_response(failed, "RegisteredModel", "503")["503"]},
                },
                requestBody=upload,
            ),
        },
        "/models/{id}": {
            "parameters": [ID],
            "get": _op("One model", {**ok_response("The model", "RegisteredModel"), **OWNED}),
        },
        "/models/default": {
            "put": _op(
                "Choose the team's default model",
                {
                    **ok_response("The new default", "RegisteredModel"),
                    "400": error_response("No such model, or one not ready."),
                    "404": error_response("No such id in the team."),
                    **UNAUTHORISED,
                    **owners,
                },
                requestBody={"required": True, "content": {JSON: {"schema": ref("DefaultModel")}}},
            )
        },
    }


HEALTH = {
    "get": {
        "summary": "Database, Redis and live workers",
        "security": [],
        "responses": {
            **ok_response("All healthy", "Health"),
            **ok_response("Something is down", "Health", "503"),
        },
    }
}
SCHEMAS = {
    "Submission": s.SUBMISSION, "Upload": s.UPLOAD, "Error": s.ERROR, "Accepted": s.ACCEPTED,
    "JobSummary": s.JOB_SUMMARY, "Job": s.JOB, "JobPage": s.JOB_PAGE, "Result": s.RESULT,
    "Corpus": s.CORPUS, "Health": s.HEALTH, "RegisteredModel": s.REGISTERED_MODEL,
    "ModelList": s.MODEL_LIST, "ModelUpload": s.MODEL_UPLOAD, "DefaultModel": s.DEFAULT_CHOICE,
}  # fmt: skip
BEARER = {"type": "http", "scheme": "bearer", "description": "An API token (occlab token create)."}
DESCRIPTION = (
    "Explain why a text classifier decides what it decides: submit papers, then read each "
    "one's occlusion grid and heat map. Errors are JSON: {error, problems?}."
)


def openapi_document(prefix: str) -> dict[str, Any]:
    paths = {prefix + path: item for path, item in _api_paths().items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Occlusion Lab API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": {**paths, "/healthz": HEALTH},
        "components": {"securitySchemes": {"bearer": BEARER}, "schemas": SCHEMAS},
    }
