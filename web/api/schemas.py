"""Schemas of the OpenAPI document (web/openapi.py): the JSON bodies the API takes and gives."""

from __future__ import annotations

from typing import Any

from shared.jobs.submit import MAX_MODELS, ON_ERROR
from shared.manifest import CLASS_NAMES, LABEL_KEYS
from shared.models import JobStatus, ModelStatus, ResultStatus, TracesStatus
from shared.registry.uploads import PARTS
from shared.units import DEFAULT_UNIT_OPTIONS, UNITS, Detail

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


def ok_response(description: str, schema: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": ref(schema)}}}}


PAPER = {
    "type": "object",
    "required": ["title", "abstract"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "abstract": {"type": "string", "minLength": 1},
        "id": {"type": ["string", "integer"], "description": "Your id for the paper."},
        **{
            key: {
                "type": ["integer", "boolean", "string", "null"],
                "description": f"The paper's class: 0 or 1, true or false, yes or no, or "
                f"{' or '.join(repr(n) for n in CLASS_NAMES)} (the first of "
                f"{', '.join(LABEL_KEYS)} given). Optional; the corpus view compares it with P.",
            }
            for key in LABEL_KEYS
        },
    },
}
UNIT = {"type": "string", "enum": list(UNITS)}
DETAIL = {
    "type": "string",
    "enum": [d.value for d in Detail],
    "description": "bulk: grid, leave-one-out and the features' contributions; the per-token "
    "traces are computed when a result is first shown. full: the traces too, up front.",
}
OPTIONS = {
    "model": {"type": "string", "description": "'name' (newest version) or 'name:version'."},
    **{name: {**UNIT, "default": unit} for name, unit in DEFAULT_UNIT_OPTIONS.items()},
    "on_error": {
        "type": "string",
        "enum": list(ON_ERROR),
        "default": ON_ERROR[0],
        "description": "skip: bad rows are left out and listed at problems_url (if no row is "
        "good, 400); reject: any bad row refuses the whole submission with 400.",
    },
    "detail": {**DETAIL, "default": Detail.BULK.value},
    "keep_boilerplate": {
        "type": ["boolean", "string"],
        "description": 'true: placeholders ("[No abstract available]") and trailing publisher '
        'lines ("Copyright 2013 ACM.") are explained as units; false: they are left out and '
        "listed in left_out. Default: the OCCLAB_KEEP_BOILERPLATE setting (off).",
    },
}
MODELS = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "minItems": 1,
    "maxItems": MAX_MODELS,
    "uniqueItems": True,
    "description": "Several models instead of model: one job per model over the same papers "
    "and options, linked as a group (each job's group; the compare page at "
    "/jobs/<id>/compare/<other id>). An upload repeats the form field model instead.",
}
SUBMISSION = {
    "type": "object",
    "required": ["papers"],
    "properties": {
        "papers": {"type": "array", "items": PAPER, "minItems": 1},
        **OPTIONS,
        "models": MODELS,
    },
}
UPLOAD = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "description": "CSV with title and abstract columns, JSON Lines, or BibTeX "
            "(.csv, .jsonl, .bib) with an abstract in every entry; UTF-8.",
        },
        **OPTIONS,
    },
}
PROBLEM = {
    "type": "object",
    "properties": {
        "index": {"type": "integer", "description": "1-based paper in a JSON submission."},
        "line": {"type": "integer", "description": "Line of the uploaded file."},
        "field": _nullable("string"),
        "error": {"type": "string"},
    },
    "required": ["error"],
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": PROBLEM}},
}
MODEL = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
}
TIME = _nullable("string", format="date-time")
GROUP = {
    "type": "array",
    "description": "The jobs submitted together under each model (this one included), in "
    "submission order; absent for a job of one model.",
    "items": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "model": MODEL,
            "url": {"type": "string"},
            "html_url": {"type": "string"},
        },
    },
}
JOB_SUMMARY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "html_url": {"type": "string", "description": "The job's page, for people."},
        "status": {"type": "string", "enum": [s.value for s in JobStatus]},
        "total": {"type": "integer"},
        "done": {"type": "integer"},
        "failed": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": TIME,
        "finished_at": TIME,
        "model": MODEL,
        "title_unit": UNIT,
        "abstract_unit": UNIT,
        "detail": DETAIL,
        "keep_boilerplate": {"type": "boolean"},
        "source": {"type": "string", "enum": ["api", "upload", "web"]},
        "source_name": _nullable("string"),
        "error": _nullable("string"),
        "ingested": {"type": "integer", "description": "Papers taken into the job."},
        "rejected": {"type": "integer", "description": "Rows left out; see problems_url."},
        "problems_url": {"type": "string", "description": "CSV of line, field, reason."},
        "corpus_url": {"type": "string", "description": "The job's corpus view (Corpus)."},
        "group": GROUP,
        "exports": {
            "type": "object",
            "description": "Where to download every result of the job: csv and jsonl.",
            "properties": {"csv": {"type": "string"}, "jsonl": {"type": "string"}},
        },
    },
}
RESULT_STATUS = {"type": "string", "enum": [s.value for s in ResultStatus]}
ACCEPTED = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "html_url": {"type": "string", "description": "The job's page, for people."},
        "status": {
            "type": "string",
            "enum": [s.value for s in JobStatus],
            "description": "ingesting: a large file is stored and a worker reads it in "
            "(total and rejected grow as it does); otherwise queued.",
        },
        "total": {"type": "integer"},
        "rejected": {"type": "integer", "description": "Rows left out (on_error=skip)."},
        "problems_url": {"type": "string", "description": "CSV of line, field, reason."},
        "group": GROUP,
    },
}
JOB_RESULT = {
    "type": "object",
    "properties": {
        "position": {"type": "integer", "description": "0-based, in submission order."},
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "status": RESULT_STATUS,
        "probability": _nullable("number"),
        "error": _nullable("string"),
        "label": {
            "type": ["integer", "null"],
            "enum": [0, 1, None],
            "description": "The class this row was submitted with, if any.",
        },
    },
}
JOB = {
    "allOf": [
        ref("JobSummary"),
        {"type": "object", "properties": {"results": {"type": "array", "items": JOB_RESULT}}},
    ]
}
JOB_PAGE = {
    "type": "object",
    "properties": {
        "jobs": {"type": "array", "items": ref("JobSummary")},
        **{k: {"type": "integer"} for k in ("page", "per_page", "total", "pages")},
    },
}
STRINGS = {"type": "array", "items": {"type": "string"}}
NUMBERS = {"type": "array", "items": {"type": "number"}}
BY_CUT = {"type": "object", "additionalProperties": {"type": "number"},
          "description": 'Keyed "0.1" .. "0.5": the top ceil(q x units) units.'}  # fmt: skip
FAITHFULNESS = _nullable(
    "object",
    properties={
        "comprehensiveness": BY_CUT,
        "sufficiency": BY_CUT,
        "aopc_comprehensiveness": {"type": "number"},
        "aopc_sufficiency": {"type": "number"},
        "deletion_curve": NUMBERS,
    },
    description="Units (title and abstract together) ranked by leave-one-out support for the "
    "predicted class c; P_c(whole) - P_c with the top units deleted (comprehensiveness) or "
    "kept alone (sufficiency), their means (AOPC), and P_c with the top k deleted for k = 1 .. "
    "units (deletion_curve). Null for results computed before it was measured.",
)
MINIMAL_FLIP = _nullable(
    "object",
    properties={
        "k": {"type": "integer"},
        "units": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "index": {"type": "integer"},
                    "text": {"type": "string"},
                },
            },
        },
        "probability": {"type": "number"},
    },
    description="The fewest top-ranked units whose deletion flips the decision, and P (of the "
    "positive class) it reaches; null if none does (or not measured).",
)
BY_FIELD = {"type": "object", "additionalProperties": STRINGS}
RESULT = {
    "type": "object",
    "description": "The keys of `occlab explain --format json`, plus id, status, error, paper "
    "and html_url. Until status is done the explanation keys are null (200, not an error).",
    "properties": {
        "id": {"type": "integer"},
        "status": RESULT_STATUS,
        "error": _nullable("string"),
        "traces_status": {
            "type": ["string", "null"],
            "enum": [*(t.value for t in TracesStatus), None],
            "description": "Null until done. pending: the per-token traces in activations "
            "(each top feature's trace, each field's tokens and running_probability) are "
            "null and being computed; fetch again in a moment. done: they are there.",
        },
        "probability": _nullable("number"),
        "probabilities": _nullable(
            "array", items={"type": "array", "items": {"type": "number"}}, description="T x S"
        ),
        "fields": _nullable("array", items={"type": "string"}),
        "units": _nullable("object", additionalProperties=UNIT),
        "title_units": _nullable("array", items=STRINGS),
        "abstract_units": _nullable("array", items=STRINGS),
        "labels": {**BY_FIELD, "type": ["object", "null"]},
        "leave_one_out": _nullable(
            "object", additionalProperties={"type": "array", "items": {"type": "number"}}
        ),
        "skipped": {**BY_FIELD, "type": ["object", "null"]},
        "read_as_nothing": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "Fields with no word the model knows: read as nothing (zero "
            "features), one unit each; the rest of the paper is still explained.",
        },
        "left_out": _nullable(
            "object",
            additionalProperties={
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"rule": {"type": "string"}, "text": {"type": "string"}},
                },
            },
            description="Per field, the placeholder or publisher lines left out before it was "
            "cut into units, each with the rule that matched (shared/boilerplate.py).",
        ),
        "model": MODEL,
        "faithfulness": FAITHFULNESS,
        "minimal_flip": MINIMAL_FLIP,
        "activations": _nullable("object"),
        "paper": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "abstract": {"type": "string"},
                "external_id": _nullable("string"),
                "label": {
                    "type": ["integer", "null"],
                    "enum": [0, 1, None],
                    "description": "The class the paper was submitted with: in ?job=, that "
                    "job's; else the team's latest job that labelled it; null if none did.",
                },
            },
        },
        "html_url": {"type": "string"},
    },
}
HEALTH = {
    "type": "object",
    "properties": {
        "database": {"type": "string", "enum": ["ok", "error"]},
        "redis": {"type": "string", "enum": ["ok", "error"]},
        "workers": {
            "type": ["integer", "null"],
            "description": "Workers alive in the last seconds; null when Redis cannot say.",
        },
        "status": {"type": "string", "enum": ["ok", "degraded"]},
    },
}

_MEANS = {
    "papers": {"type": "integer"},
    "mean_delta": {"type": "number"},
    "mean_abs_delta": {"type": "number"},
}
_POSITIONS = {
    "type": "object",
    "description": "from_start: 1 is the first abstract unit; from_end: 1 is the last.",
    "properties": {
        end: {
            "type": "array",
            "items": {"type": "object", "properties": {"position": {"type": "integer"}, **_MEANS}},
        }
        for end in ("from_start", "from_end")
    },
}
CORPUS = {
    "type": "object",
    "description": "What the job's done papers say together, from SQL aggregates. A delta "
    "is P with the unit deleted minus P of the whole paper. A finished job's view is cached.",
    "properties": {
        "job_id": {"type": "integer"},
        "n": {"type": "integer"},
        "probability_histogram": {
            "type": "object",
            "description": "10 bins of P on [0, 1]: [edges[k], edges[k+1]), the last closed.",
            "properties": {
                "edges": {"type": "array", "items": {"type": "number"}},
                "counts": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "labels": _nullable(
            "object",
            description="Null when no paper has a label. n, positives, accuracy, roc_auc (null "
            "with one class), threshold (0.5), confusion {tp, fp, tn, fn}, roc_curve "
            "{thresholds, tpr, fpr} (at most 201 points) and misclassified {count, papers: "
            "[{result_id, external_id, title, probability, label}]}, most confident first.",
        ),
        "words": {
            "type": "array",
            "description": "Title words in at least 3 papers, top 50 by mean_abs_delta.",
            "items": {"type": "object", "properties": {"word": {"type": "string"}, **_MEANS}},
        },
        "abstract_positions": _POSITIONS,
        "flips": {
            "type": "object",
            "description": "papers: a grid cell decides otherwise than the whole paper. "
            "along_title / along_abstract: adding one title unit (whole abstract) or abstract "
            "unit (whole title) flips it; title_words and abstract_positions count them.",
        },
    },
}


REGISTERED_MODEL = {
    "type": "object",
    "required": ["id", "name", "version", "model", "url", "status", "shared", "default"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "version": {"type": "string"},
        "model": {"type": "string", "description": "name:version, as a submission names it."},
        "url": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in ModelStatus]},
        "error": _nullable("string", description="Why the import failed: what to fix."),
        "shared": {"type": "boolean", "description": "Every team has it (the shipped one)."},
        "default": {"type": "boolean", "description": "Submissions naming none use it."},
        "fields": STRINGS,
        "architecture": _nullable("object"),
        "vocabulary": _nullable("integer"),
        "metrics": {"type": "object"},
        "imported_by": _nullable("string"),
        "created_at": {"type": "string", "format": "date-time"},
    },
}
MODEL_LIST = {
    "type": "object",
    "required": ["models"],
    "properties": {"models": {"type": "array", "items": ref("RegisteredModel")}},
}
MODEL_UPLOAD = {
    "type": "object",
    "required": ["name", "version", "checkpoint", "vectors", "spec"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        **{
            part: {"type": "string", "contentMediaType": "application/octet-stream",
                   "description": what}
            for part, what in PARTS.items()
        },
    },
}  # fmt: skip
DEFAULT_CHOICE = {
    "type": "object",
    "description": 'The model by name ({"model": "name:version"}) or by id ({"id": 3}).',
    "properties": {"model": {"type": "string"}, "id": {"type": "integer"}},
}
