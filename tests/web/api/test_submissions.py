"""Bad submissions: the right status, a message naming the field or line, nothing stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.models import Job, Paper
from tests.fixtures.factories import SHIPPED_SPEC
from tests.fixtures.hostile import BIB_BOMB, DEEP_JSON, HUGE_INT

GOOD = {"title": "Social media", "abstract": "We study it. It matters."}


@pytest.fixture
def rejected(
    client: FlaskClient,
    auth: dict[str, str],
    counts: Callable[[], dict[str, int]],
    settings: Settings,
    redis_client: redis.Redis,
) -> Callable[..., dict[str, Any]]:
    """POST to /jobs, assert ``status``, that nothing was stored or queued; the JSON body."""

    def post(status: int = 400, **kwargs: Any) -> dict[str, Any]:
        before = counts()
        response = client.post("/api/v1/jobs", headers=auth, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.is_json and response.json["error"]
        assert counts() == before
        assert redis_client.llen(settings.task_queue) == 0
        return dict(response.json)

    return post


def upload(name: str, data: bytes, **fields: str) -> dict[str, Any]:
    return {"data": {"file": (io.BytesIO(data), name), **fields}}


BAD_PAPERS = [
    ({"title": "", "abstract": "We study it."}, "title", "title is empty"),
    ({"title": "Social media", "abstract": " \n\t "}, "abstract", "abstract is empty"),
    ({"title": "?!", "abstract": "We study it."}, "title", "title has no words"),
    ({"title": "Social media"}, "abstract", "abstract must be text"),
]


def test_bad_paper_names_the_paper_and_field(rejected: Callable[..., dict[str, Any]]) -> None:
    for paper, field, fragment in BAD_PAPERS:
        body = rejected(json={"papers": [GOOD, paper], "on_error": "reject"})
        assert body["problems"] == [
            {"index": 2, "field": field, "error": body["problems"][0]["error"]}
        ]
        assert fragment in body["problems"][0]["error"]
        assert "paper 2" in body["error"]


def test_every_bad_paper_is_reported(rejected: Callable[..., dict[str, Any]]) -> None:
    bad = {"title": " ", "abstract": ""}
    body = rejected(json={"papers": [bad, GOOD, bad], "on_error": "reject"})
    assert [(p["index"], p["field"]) for p in body["problems"]] == [
        (1, "title"), (1, "abstract"), (3, "title"), (3, "abstract"),
    ]  # fmt: skip


def test_bad_unit_names_the_option(rejected: Callable[..., dict[str, Any]]) -> None:
    for options, field in (
        ({"title_unit": "letter"}, "title_unit"),
        ({"abstract_unit": 3}, "abstract_unit"),
    ):
        body = rejected(json={"papers": [GOOD], **options})
        assert body["problems"][0]["field"] == field
        assert "word, sentence" in body["error"]
    body = rejected(
        **upload("p.csv", b"title,abstract\nSocial media,We study it.\n", title_unit="x")
    )
    assert body["problems"][0]["field"] == "title_unit"


def test_unknown_model(rejected: Callable[..., dict[str, Any]]) -> None:
    body = rejected(json={"papers": [GOOD], "model": "nosuch:9"})
    assert body["problems"] == [{"field": "model", "error": body["error"]}]
    assert "'nosuch:9'" in body["error"]


def test_named_default_model_is_found(client: FlaskClient, auth: dict[str, str]) -> None:
    client.post("/api/v1/jobs", json={"papers": [GOOD]}, headers=auth)  # registers it
    response = client.post(
        "/api/v1/jobs", json={"papers": [GOOD], "model": SHIPPED_SPEC}, headers=auth
    )
    assert response.status_code == 202


MALFORMED = [
    (b'{"papers": [', "not valid JSON"),
    (b'{"papers": [}', "line 1, column 13"),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"papers": "x"}', "papers must be a list"),
    (b'{"papers": []}', "no papers"),
    (b'{"papers": [3]}', "must be an object"),
]


def test_malformed_json(rejected: Callable[..., dict[str, Any]]) -> None:
    for body, fragment in MALFORMED:
        assert fragment in str(rejected(data=body, content_type="application/json")), body


def test_other_content_types_are_415(rejected: Callable[..., dict[str, Any]]) -> None:
    rejected(415, data=b"title,abstract", content_type="text/csv")


def test_csv_upload_is_accepted_with_lines_as_indexes(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    data = b"id,title,abstract\nA1,Social media,We study it.\nA2,Deep learning,It matters.\n"
    response = client.post(
        "/api/v1/jobs", headers=auth, **upload("p.csv", data, abstract_unit="word")
    )
    assert response.status_code == 202, response.json
    with sessions() as session:
        job = session.get_one(Job, response.json["id"])
        assert (job.source, job.source_name, job.abstract_unit) == ("upload", "p.csv", "word")
        assert session.query(Paper).filter_by(external_id="A2").one().title == "Deep learning"


def test_jsonl_and_bibtex_uploads(client: FlaskClient, auth: dict[str, str]) -> None:
    jsonl = b'{"title": "Social media", "abstract": "We study it."}\n'
    bib = b'@article{k1, title = {Social {M}edia}, abstract = "We study {it}."}\n'
    for name, data in (("p.jsonl", jsonl), ("refs.bib", bib)):
        response = client.post("/api/v1/jobs", headers=auth, **upload(name, data))
        assert response.status_code == 202, response.json


def test_csv_bad_row_names_its_line(rejected: Callable[..., dict[str, Any]]) -> None:
    data = b"title,abstract\nSocial media,We study it.\nDeep learning,  \n"
    body = rejected(**upload("p.csv", data, on_error="reject"))
    assert body["problems"] == [{"line": 3, "field": "abstract", "error": "abstract is empty: "
                                 "give the paper's abstract"}]  # fmt: skip
    assert "line 3" in body["error"]


def test_missing_columns(rejected: Callable[..., dict[str, Any]]) -> None:
    body = rejected(**upload("p.csv", b"Title,Body\nA,B\n"))
    assert "'abstract' column" in body["error"] and body["problems"][0]["field"] == "file"


def test_undecodable_bytes_name_the_line(rejected: Callable[..., dict[str, Any]]) -> None:
    body = rejected(**upload("p.csv", b"title,abstract\nSocial media,We study it.\nCaf\xe9,x\n"))
    assert "line 3" in body["error"] and "not UTF-8" in body["error"]


def test_jsonl_and_bibtex_file_errors_name_lines(rejected: Callable[..., dict[str, Any]]) -> None:
    jsonl = b'{"title": "Social media", "abstract": "x"}\n{oops\n'
    body = rejected(**upload("p.jsonl", jsonl, on_error="reject"))
    assert body["problems"][0]["line"] == 2 and "not valid JSON" in body["problems"][0]["error"]
    bib = b"@article{k1, title={A}, abstract={B}}\n\n@article{nokey2, title={Social media}}\n"
    body = rejected(**upload("refs.bib", bib, on_error="reject"))
    assert body["problems"] == [{"line": 3, "field": None, "error": body["problems"][0]["error"]}]
    assert "nokey2 has no abstract" in body["error"]


def test_upload_needs_a_file(rejected: Callable[..., dict[str, Any]]) -> None:
    body = rejected(data={"model": "default"})
    assert body["problems"] == [{"field": "file", "error": "missing"}]


def test_too_large_is_413_json(
    make_app: Callable[..., Any], settings: Settings, auth: dict[str, str],
    counts: Callable[[], dict[str, int]],
) -> None:  # fmt: skip
    client = make_app(SETTINGS=settings.with_overrides(max_upload_bytes=1000)).test_client()
    before = counts()
    big = {"papers": [{**GOOD, "abstract": "We study it. " * 100}]}
    for kwargs in ({"json": big}, upload("p.csv", b"title,abstract\n" + b"a,b\n" * 400)):
        response = client.post("/api/v1/jobs", headers=auth, **kwargs)
        assert response.status_code == 413
        assert "the limit is 1,000 bytes" in response.json["error"]
    assert counts() == before


# --- Hostile inputs: each a 400 that says what to fix, nothing stored ---------------------


def test_bibtex_macro_bomb_upload_is_refused(rejected: Callable[..., dict[str, Any]]) -> None:
    body = rejected(**upload("bomb.bib", BIB_BOMB))
    assert body["error"].startswith("line 18: @string m18 expands past 1,000,000 characters")
    assert body["problems"] == [{"field": "file", "error": body["error"]}]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [(DEEP_JSON, "the body is not read: it is nested too deeply"),
     (b'{"papers": [{"title": "T", "abstract": "A", "id": %s}]}' % HUGE_INT.encode(),
      "the body is not read: a number has 5,000 digits, more than 300")],
)  # fmt: skip
def test_json_body_too_deep_or_with_a_huge_number(
    rejected: Callable[..., dict[str, Any]], data: bytes, fragment: str
) -> None:
    assert rejected(data=data, content_type="application/json")["error"].startswith(fragment)


def test_jsonl_upload_too_deep_or_with_a_huge_number(
    rejected: Callable[..., dict[str, Any]],
) -> None:
    huge = b'{"title": "Social media", "abstract": "We study it.", "id": %s}' % HUGE_INT.encode()
    body = rejected(**upload("p.jsonl", DEEP_JSON + b"\n" + huge + b"\n"))
    assert [(p["line"], p["error"].split(";")[0]) for p in body["problems"]] == [
        (1, "not read: it is nested too deeply"),
        (2, "not read: a number has 5,000 digits, more than 300"),
    ]


@pytest.mark.parametrize("field", ["title", "abstract", "id"])
def test_nul_in_a_json_paper_names_the_field(
    rejected: Callable[..., dict[str, Any]], field: str
) -> None:
    body = rejected(
        json={"papers": [GOOD, {**GOOD, field: "We study\u0000 it."}], "on_error": "reject"}
    )
    error = f"{field} contains a NUL character (\\0), which cannot be stored: remove it"
    assert body["problems"] == [{"index": 2, "field": field, "error": error}]


def test_nul_in_the_model_or_an_uploaded_file_names_the_field(
    rejected: Callable[..., dict[str, Any]],
) -> None:
    body = rejected(json={"papers": [GOOD], "model": "default\u0000"})
    assert body["error"].startswith("model: the model name contains a NUL character")
    data = b"id,title,abstract\nA\x001,Social media,We study it.\nA2,Social\x00 media,It is.\n"
    body = rejected(**upload("p.csv", data))
    assert [(p["line"], p["field"]) for p in body["problems"]] == [(2, "id"), (3, "title")]
    assert all("contains a NUL character" in p["error"] for p in body["problems"])
    body = rejected(**upload("p.csv", b"title,abstract\nSocial media,We study it.\n", model="d\0"))
    assert (
        body["error"]
        == "The field 'model' contains a NUL character (\\0), which cannot be stored: remove it."
    )
