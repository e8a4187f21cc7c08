"""One file, four ways in, the same papers: the API, ``occlab submit``, the upload page and
``occlab explain`` all read a CSV through ``shared.papers.parse_papers``, so a Web of Science
style export (``Article Title,Abstract,PMID``) gives the same rows and ids in each."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import JobItem, Paper, Result
from tests.fixtures.web import AuthActions

CSV = (
    b"Article Title,Abstract,PMID\n"
    b'"Humans, society and R","Humans, society and R. We used methods. Code is on Github.",123\n'
    b"Survey methods,We asked people. They answered.,\n"
    b"Social media,We study it. It matters.,77\n"
)
# The Scopus-style title prefix is stripped, an empty id is no id, lines are the file's.
EXPECTED = [
    ("Humans, society and R", "We used methods. Code is on Github.", "123"),
    ("Survey methods", "We asked people. They answered.", None),
    ("Social media", "We study it. It matters.", "77"),
]


def stored(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(Paper.title, Paper.abstract, Paper.external_id)
            .join(Result, Result.paper_id == Paper.id)
            .join(JobItem, JobItem.result_id == Result.id)
            .order_by(JobItem.position)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_through_the_api(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    files = {"file": (io.BytesIO(CSV), "wos.csv")}
    response = client.post("/api/v1/jobs", headers=auth, data=files)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert stored(sessions) == EXPECTED


def test_through_occlab_submit(
    live_server: str, token: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    path = tmp_path / "wos.csv"
    path.write_bytes(CSV)
    argv = ["submit", str(path), "--server", live_server, "--token", token, "--no-wait"]
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert stored(sessions) == EXPECTED


def test_through_the_upload_page(login: AuthActions, sessions: sessionmaker[Session]) -> None:
    logged_in = login.login()
    files = {"file": (io.BytesIO(CSV), "wos.csv")}
    sent = logged_in.post("/upload", data=files, content_type="multipart/form-data")
    assert sent.status_code == 303, sent.get_data(as_text=True)[:400]
    started = logged_in.post(sent.headers["Location"], data={"action": "start"})
    assert started.status_code == 303, started.get_data(as_text=True)[:2000]
    assert stored(sessions) == EXPECTED


def test_through_occlab_explain(tmp_path: Path, default_model_dir: Path) -> None:
    path = tmp_path / "wos.csv"
    path.write_bytes(CSV)
    argv = ["explain", str(path), "--model", str(default_model_dir), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *argv], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["line"] for r in rows] == [2, 3, 4]
    assert [r["id"] for r in rows] == [e[2] for e in EXPECTED]
    assert [" ".join(u for unit in r["title_units"] for u in unit) for r in rows] == [
        "humans society and r",
        "survey methods",
        "social media",
    ]
