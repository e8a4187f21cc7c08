"""The submit page and its split preview, and the two upload steps: what is shown, what is
stored, and that tasks reach Redis only after the commit."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.jobs.dispatch import PROCESS_CHUNK
from shared.models import Job, Paper, Result, StoredFile
from tests.fixtures.factories import BOB, Factory, Member
from tests.fixtures.hostile import BIB_BOMB, DEEP_JSON, HUGE_INT
from tests.fixtures.web import AuthActions, FakeCelery, SentTask

TITLE = "Social media and trust"
ABSTRACT = "We study social media. Xqzzyv wrrbltk users matter."
EVIL = "<script>alert(1)</script> social media"


@pytest.fixture
def nothing_stored(
    counts: Callable[[], dict[str, int]], redis_client: redis.Redis, settings: Settings
) -> Callable[[], Any]:
    """Call once before and once after: asserts no rows and no tasks were added."""
    before = counts()

    def check() -> None:
        assert counts() == before
        assert redis_client.llen(settings.task_queue) == 0

    return check


def form(**fields: str) -> dict[str, str]:
    return {"title": TITLE, "abstract": ABSTRACT, "title_unit": "word",
            "abstract_unit": "sentence", **fields}  # fmt: skip


def test_pages_need_a_login(client: FlaskClient) -> None:
    for path in ("/submit", "/upload"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/submit/preview", data=form()).status_code == 302


def test_form_has_labelled_controls_and_defaults(login: AuthActions) -> None:
    ada = login.login()
    html = ada.get("/submit").get_data(as_text=True)
    for control in ("title", "abstract", "model"):
        assert f'<label for="{control}">' in html and f'id="{control}"' in html
    assert re.search(r'name="title_unit" value="word" checked', html)
    assert re.search(r'name="abstract_unit" value="sentence" checked', html)
    assert re.search(r'<option value="[^"]+" selected>[^<]+\(default\)', html)
    assert 'aria-live="polite"' in html and "<script>" not in html.replace("<script src", "")


def test_preview_json_has_numbered_units_and_skipped_words(login: AuthActions) -> None:
    ada = login.login()
    response = ada.post("/submit/preview", data=form())
    assert response.status_code == 200
    fields = response.json["fields"]
    title, abstract = fields["title"], fields["abstract"]
    assert [u["label"] for u in title["units"]] == ["Social", "media", "and", "trust"]
    assert [u["n"] for u in title["units"]] == [1, 2, 3, 4]
    assert [u["label"] for u in abstract["units"]] == [
        "We study social media.",
        "Xqzzyv wrrbltk users matter.",
    ]
    assert abstract["skipped"] == ["xqzzyv", "wrrbltk"]
    assert abstract["units"][1]["skipped"] == ["xqzzyv", "wrrbltk"]
    parts = abstract["units"][1]["parts"]
    assert "".join(p["text"] for p in parts) == "Xqzzyv wrrbltk users matter."
    assert [p["text"] for p in parts if p["skipped"]] == ["Xqzzyv", "wrrbltk"]
    assert response.json["errors"] == {}
    html = response.json["html"]
    assert '<span class="oov"' in html and "(skipped)" in html and "2 sentences" in html


def test_preview_by_words_and_field_errors(login: AuthActions) -> None:
    ada = login.login()
    body = ada.post("/submit/preview", data=form(title="", abstract_unit="word")).json
    assert "title is empty" in body["errors"]["title"].lower()
    assert body["fields"]["title"]["units"] == []
    assert len(body["fields"]["abstract"]["units"]) == 8  # one unit a word
    gibberish = ada.post("/submit/preview", data=form(abstract="Xqzzyv wrrbltk.")).json
    assert "abstract" not in gibberish["errors"]  # read as nothing, not refused
    assert "reads the abstract as nothing" in gibberish["html"]


def test_preview_button_without_js_renders_the_split(
    login: AuthActions, nothing_stored: Callable[[], None]
) -> None:
    ada = login.login()
    response = ada.post("/submit", data=form(action="preview"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Xqzzyv" in html and 'class="oov"' in html and "Skipped:" in html
    assert f'value="{TITLE}"' in html
    nothing_stored()


def test_bad_input_shows_errors_next_to_fields_and_stores_nothing(
    login: AuthActions, nothing_stored: Callable[[], None]
) -> None:
    ada = login.login()
    data = form(title="  ", abstract="... !!!", title_unit="letter", action="submit")
    response = ada.post("/submit", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for name in ("title", "abstract", "title_unit"):
        assert f'<p class="field-error" id="{name}-error">' in html
        assert re.search(rf'aria-describedby="[^"]*{name}-error"', html), name
    assert 'id="title"' in html and 'aria-invalid="true"' in html
    nothing_stored()


def test_unknown_model_is_a_field_error(
    login: AuthActions, nothing_stored: Callable[[], None]
) -> None:
    ada = login.login()
    response = ada.post("/submit", data=form(model="nope:9", action="submit"))
    assert response.status_code == 400
    assert 'id="model-error"' in response.get_data(as_text=True)
    nothing_stored()


def test_submit_creates_the_job_and_enqueues_after_commit(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session], settings: Settings
) -> None:
    ada = login.login()
    response = ada.post("/submit", data=form(action="submit", abstract_unit="word"))
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    assert response.headers["Location"].endswith(f"/jobs/{job_id}")
    with sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.source, job.total, job.abstract_unit) == ("web", 1, "word")
        assert session.scalars(select(Paper)).one().title == TITLE
        (result_id,) = session.scalars(select(Result.id))
    # One chunk, sent only once its result was committed (visible to another connection).
    chunk = SentTask(PROCESS_CHUNK, [job_id, [result_id]], settings.task_queue, committed=1)
    assert broker.sent == [chunk]


def test_broker_down_says_so_on_the_page(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session]
) -> None:
    ada = login.login()
    broker.down = ConnectionError("Redis is down")
    response = ada.post("/submit", data=form(action="submit"))
    assert response.status_code == 503 and response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    with sessions() as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.sent_at) == ("queued", None)  # kept, to be sent later
    assert f"Job {job.id} is saved" in page and "will start by itself" in page
    assert f'href="/jobs/{job.id}"' in page


def test_titles_are_escaped_in_the_preview(login: AuthActions) -> None:
    ada = login.login()
    body = ada.post("/submit/preview", data=form(title=EVIL, title_unit="sentence")).json
    assert "<script>" not in body["html"] and "&lt;script&gt;" in body["html"]
    page = ada.post("/submit", data=form(title=EVIL, action="preview")).get_data(as_text=True)
    assert "<script>alert" not in page


# --- Upload ------------------------------------------------------------------------------

CSV = (
    b"DOI,Paper Title,Summary,Year\n"
    b'd1,Social media and trust,"We study social media. Users matter.",2020\n'
    b"d2,Deep learning for text,,2021\n"
    b"d3,Online networks,We study online networks.,2022\n"
)


def upload(client: FlaskClient, data: bytes, name: str) -> Any:
    return client.post(
        "/upload", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def upload_id(response: Any) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    return str(response.headers["Location"].rsplit("/", 1)[-1])


def test_upload_preview_guesses_the_mapping_and_lists_problems_by_line(
    login: AuthActions, nothing_stored: Callable[[], None]
) -> None:
    ada = login.login()
    uid = upload_id(upload(ada, CSV, "papers.csv"))
    html = ada.get(f"/upload/{uid}").get_data(as_text=True)
    for target, column in (("title", "Paper Title"), ("abstract", "Summary"), ("id", "DOI")):
        select_html = html.split(f'id="map_{target}"', 1)[1].split("</select>", 1)[0]
        assert f'<option value="{column}" selected>' in select_html, target
    assert "3 papers read, 1 line with problems" in html
    assert re.search(
        r"Line 3</span> <span class=\"muted\">abstract</span> — Abstract is empty", html
    )
    rows = re.findall(r'<td class="num"[^>]*>(\d+)</td>', html)
    assert rows == ["2", "3", "4"]
    nothing_stored()


def test_upload_start_needs_skip_when_rows_have_problems(
    login: AuthActions, nothing_stored: Callable[[], None], sessions: sessionmaker[Session],
    settings: Settings, redis_client: redis.Redis,
) -> None:  # fmt: skip
    ada = login.login()
    uid = upload_id(upload(ada, CSV, "papers.csv"))
    refused = ada.post(f"/upload/{uid}", data={"action": "start"})
    assert refused.status_code == 400 and "rows have problems" in refused.get_data(as_text=True)
    nothing_stored()
    started = ada.post(f"/upload/{uid}", data={"action": "start", "skip_bad": "on"})
    assert started.status_code == 303 and "/jobs/" in started.headers["Location"]
    with sessions() as session:
        job = session.scalars(select(Job)).one()
        assert (job.source, job.source_name, job.total) == ("upload", "papers.csv", 2)
        ids = sorted(p.external_id or "" for p in session.scalars(select(Paper)))
        assert ids == ["d1", "d3"]
    assert redis_client.llen(settings.task_queue) == 1
    assert ada.get(f"/upload/{uid}").status_code == 404  # the stored file is gone
    with sessions() as session:  # the stored file is gone too
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_an_upload_with_the_broker_down_is_saved_and_says_so(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session]
) -> None:
    ada = login.login()
    uid = upload_id(upload(ada, CSV, "papers.csv"))
    broker.down = ConnectionError("Redis is down")
    response = ada.post(f"/upload/{uid}", data={"action": "start", "skip_bad": "on"})
    assert response.status_code == 503
    with sessions() as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.sent_at, job.total) == ("queued", None, 2)
    assert f"Job {job.id} is saved" in response.get_data(as_text=True)


def test_csv_mapping_chosen_by_hand(login: AuthActions, sessions: sessionmaker[Session]) -> None:
    ada = login.login()
    data = b"A,B,C\nSocial media,We study it. It matters.,x1\n"
    uid = upload_id(upload(ada, data, "odd.csv"))
    first = ada.get(f"/upload/{uid}").get_data(as_text=True)
    assert 'id="map_title-error"' in first and 'id="map_abstract-error"' in first
    same = ada.post(f"/upload/{uid}", data={"map_title": "A", "map_abstract": "A"})
    assert "different columns" in same.get_data(as_text=True)
    mapping = {"map_title": "A", "map_abstract": "B", "map_id": "C"}
    html = ada.post(f"/upload/{uid}", data=mapping).get_data(as_text=True)
    assert "1 paper ready" in html and "x1" in html
    assert ada.post(f"/upload/{uid}", data={**mapping, "action": "start"}).status_code == 303
    with sessions() as session:
        paper = session.scalars(select(Paper)).one()
        assert (paper.title, paper.external_id) == ("Social media", "x1")


def test_jsonl_and_bibtex_uploads_name_their_lines(login: AuthActions) -> None:
    ada = login.login()
    jsonl = b'{"title": "Social media", "abstract": "We study it."}\n{oops\n'
    html = ada.get(f"/upload/{upload_id(upload(ada, jsonl, 'p.jsonl'))}").get_data(as_text=True)
    assert "Line 2</span> — Not valid JSON" in html and "map_title" not in html
    bib = (
        b"@article{k1,\n title={Social media},\n abstract={We study it.}\n}\n@misc{k2, title={X}}\n"
    )
    html = ada.get(f"/upload/{upload_id(upload(ada, bib, 'p.bib'))}").get_data(as_text=True)
    assert "Line 5</span> — Entry k2 has no abstract" in html and "k1" in html


def test_upload_rejects_other_files(login: AuthActions) -> None:
    ada = login.login()
    response = upload(ada, b"hello", "notes.txt")
    assert response.status_code == 400
    assert "not a .csv, .jsonl or .bib file" in response.get_data(as_text=True)
    assert ada.post("/upload", data={}).status_code == 400
    bad = upload_id(upload(ada, b"title,abstract\n\xff\xfe,x\n", "bad.csv"))
    assert "is not UTF-8" in ada.get(f"/upload/{bad}").get_data(as_text=True)


def test_uploads_are_private_to_the_team(login: AuthActions, make: Factory) -> None:
    ada = login.login()
    uid = upload_id(upload(ada, CSV, "papers.csv"))
    make.user(BOB, "Beta")
    bob = login.other_browser().login(BOB)
    assert bob.get(f"/upload/{uid}").status_code == 404
    assert bob.post(f"/upload/{uid}", data={"action": "start"}).status_code == 404
    assert ada.get("/upload/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_too_large_upload_is_an_html_page(
    make_app: Callable[..., Flask], settings: Settings, ada: Member
) -> None:
    app = make_app(SETTINGS=settings.with_overrides(max_upload_bytes=2000))
    client = AuthActions(app.test_client()).login()
    response = upload(client, b"x" * 5000, "big.csv")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "the limit is 2,000 bytes" in response.get_data(as_text=True)


# --- Hostile files on the upload page: a 400 that says what to fix, nothing stored ---------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [("bomb.bib", BIB_BOMB, "line 18: @string m18 expands past 1,000,000 characters"),
     ("deep.jsonl", DEEP_JSON, "Line 1</span> — Not read: it is nested too deeply"),
     ("huge.jsonl", b'{"title": "T", "abstract": "A", "id": %s}' % HUGE_INT.encode(),
      "Line 1</span> — Not read: a number has 5,000 digits, more than 300"),
     ("nul.csv", b"id,title,abstract\nA1,Social\x00 media,We study it.\n",
      "Line 2</span> <span class=\"muted\">title</span> — Title contains a NUL character")],
)  # fmt: skip
def test_hostile_uploads_are_explained_and_cannot_start(
    login: AuthActions, nothing_stored: Callable[[], None], name: str, data: bytes, message: str
) -> None:
    ada = login.login()
    uid = upload_id(upload(ada, data, name))
    review = ada.get(f"/upload/{uid}")
    assert message in review.get_data(as_text=True)
    assert review.status_code == (400 if name == "bomb.bib" else 200)  # a file error, or rows
    started = ada.post(f"/upload/{uid}", data={"action": "start", "skip_bad": "on"})
    assert started.status_code == 400
    assert message in started.get_data(as_text=True)
    nothing_stored()
