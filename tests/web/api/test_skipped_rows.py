"""One bad row never sinks the rest: by default (on_error=skip) bad rows are left out, counted
and listed at problems_url; on_error=reject keeps all-or-nothing. Real labelled rows."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import JobItem
from tests.fixtures.web import AuthActions, csrf_from

GOOD = {"title": "Social media", "abstract": "We study it. It matters."}
# A title of punctuation only, then an empty abstract.
FILE = (
    b"title,abstract,id\n"
    b"Social media,We study it. It matters.,a1\n"
    b"?!,We study it.,a2\n"
    b"Survey methods,  ,a3\n"
    b"Deep learning for text,We study words. It works.,a4\n"
)


def problems_of(client: FlaskClient, url: str, **kw: object) -> list[dict[str, str]]:
    response = client.get(url, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def items(sessions: sessionmaker[Session], job_id: int) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id)
        return int(session.scalar(query) or 0)


def test_a_file_s_bad_rows_are_left_out_and_listed(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    files = {"file": (io.BytesIO(FILE), "papers.csv")}
    response = client.post("/api/v1/jobs", headers=auth, data=files)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.json
    assert (body["total"], body["rejected"]) == (2, 2)
    assert items(sessions, body["id"]) == 2
    rows = problems_of(client, body["problems_url"], headers=auth)
    assert [(r["line"], r["field"]) for r in rows] == [("3", "title"), ("4", "abstract")]
    assert "title has no words" in rows[0]["reason"]
    job = client.get(body["url"], headers=auth).json
    assert (job["ingested"], job["rejected"]) == (2, 2)


def test_on_error_reject_keeps_all_or_nothing(client: FlaskClient, auth: dict[str, str]) -> None:
    files = {"file": (io.BytesIO(FILE), "papers.csv"), "on_error": "reject"}
    response = client.post("/api/v1/jobs", headers=auth, data=files)
    assert response.status_code == 400
    assert [p["line"] for p in response.json["problems"]] == [3, 4]
    wrong = client.post("/api/v1/jobs", headers=auth, json={"papers": [GOOD], "on_error": "x"})
    assert wrong.status_code == 400 and wrong.json["problems"][0]["field"] == "on_error"


def test_a_json_body_s_bad_paper_is_left_out_by_position(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    bad = {"title": "Social media", "abstract": ""}
    response = client.post("/api/v1/jobs", headers=auth, json={"papers": [bad, GOOD, GOOD]})
    assert response.status_code == 202 and response.json["rejected"] == 1
    [row] = problems_of(client, response.json["problems_url"], headers=auth)
    assert (row["line"], row["field"]) == ("1", "abstract")


def test_nothing_good_is_still_a_400_naming_every_row(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    data = b"title,abstract\n...,We study it.\nSurvey,  \n"
    response = client.post(
        "/api/v1/jobs", headers=auth, data={"file": (io.BytesIO(data), "bad.csv")}
    )
    assert response.status_code == 400
    assert "no paper could be read" in response.json["error"]
    assert [p["line"] for p in response.json["problems"]] == [2, 3]


def test_the_upload_page_skips_by_default_and_the_job_page_lists_them(
    login: AuthActions,
) -> None:
    member = login.login()
    page = member.get("/upload").get_data(as_text=True)
    sent = member.post(
        "/upload",
        data={"csrf_token": csrf_from(page), "file": (io.BytesIO(FILE), "papers.csv")},
    )
    review = member.get(sent.headers["Location"]).get_data(as_text=True)
    assert 'id="skip_bad" name="skip_bad" checked' in review
    form = {"csrf_token": csrf_from(review), "action": "start", "skip_bad": "on"}
    started = member.post(sent.headers["Location"], data=form)
    assert started.status_code == 303, started.get_data(as_text=True)
    job_page = member.get(started.headers["Location"]).get_data(as_text=True)
    assert "2 rows left out" in job_page and "Line 3, title:" in job_page
    job_id = started.headers["Location"].rstrip("/").split("/")[-1]
    rows = problems_of(member, f"/jobs/{job_id}/problems.csv")
    assert [r["line"] for r in rows] == ["3", "4"]


def test_occlab_submit_says_how_many_rows_were_left_out(
    live_server: str, token: str, tmp_path: Path
) -> None:
    path = tmp_path / "papers.csv"
    path.write_bytes(FILE)
    argv = ["submit", str(path), "--server", live_server, "--token", token, "--no-wait"]
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "2 row(s) left out" in done.stdout and "/problems.csv" in done.stdout
