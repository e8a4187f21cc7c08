"""A whole job's results: results.csv (one row per paper) and results.jsonl (one full result
per line), through the API, the job page and ``occlab export``, streamed page by page."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

import shared.results.export
from shared.cli import main
from shared.models import Result
from tests.fixtures.factories import Factory
from tests.fixtures.web import AuthActions

URL = "/api/v1/jobs/{}/results.{}"


@pytest.fixture
def job(make: Factory, team_id: int, sessions: sessionmaker[Session]) -> tuple[int, list[int]]:
    """Done (the factory's 2 x 3 grid), failed, pending, and done with a formula-like title."""
    ids = [make.result(team_id), make.result(team_id, "failed", "Broken")]
    ids += [make.result(team_id, "pending", "Waiting"), make.result(team_id, title="=1+2")]
    with sessions.begin() as session:
        session.execute(update(Result).where(Result.id == ids[1]).values(error="no words"))
    return make.job(team_id, ids), ids


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_one_row_per_paper_with_its_strongest_units(
    client: FlaskClient, auth: dict[str, str], job: tuple[int, list[int]]
) -> None:
    job_id, _ = job
    response = client.get(URL.format(job_id, "csv"), headers=auth)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"job-{job_id}-results.csv" in response.headers["Content-Disposition"]
    done, failed, pending, formula = rows_of(response.get_data(as_text=True))
    assert (done["position"], done["status"], done["probability"]) == ("1", "done", "0.9")
    assert (done["title_units"], done["abstract_units"]) == ("2", "3")
    assert (done["top_title_unit"], done["top_title_delta"]) == ("Social", "0.25")
    assert (done["top_abstract_unit"], done["top_abstract_delta"]) == ("We study it.", "0.5")
    assert done["external_id"] == "doi:10/1"
    assert (failed["status"], failed["probability"], failed["error"]) == ("failed", "", "no words")
    assert (pending["status"], pending["title_units"], pending["top_title_unit"]) == (
        "pending",
        "",
        "",
    )
    assert formula["title"] == "'=1+2"  # a spreadsheet must not run it


def test_every_page_is_streamed_in_order(
    client: FlaskClient,
    auth: dict[str, str],
    job: tuple[int, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shared.results.export, "PAGE", 1)  # four pages of one paper
    job_id, ids = job
    rows = rows_of(client.get(URL.format(job_id, "csv"), headers=auth).get_data(as_text=True))
    assert [r["position"] for r in rows] == ["1", "2", "3", "4"]
    lines = client.get(URL.format(job_id, "jsonl"), headers=auth).get_data(as_text=True)
    assert [json.loads(line)["id"] for line in lines.splitlines()] == ids


def test_jsonl_lines_are_the_api_s_results(
    client: FlaskClient, auth: dict[str, str], job: tuple[int, list[int]]
) -> None:
    job_id, ids = job
    response = client.get(URL.format(job_id, "jsonl"), headers=auth)
    assert response.mimetype == "application/jsonl"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    for n, (line, result_id) in enumerate(zip(lines, ids, strict=True)):
        alone = client.get(f"/api/v1/results/{result_id}", headers=auth).json
        assert line == {"position": n + 1, "external_id": "doi:10/1", **alone}


def test_another_team_gets_404(
    client: FlaskClient, other_token: str, job: tuple[int, list[int]]
) -> None:
    other = {"Authorization": f"Bearer {other_token}"}
    for fmt in ("csv", "jsonl"):
        assert client.get(URL.format(job[0], fmt), headers=other).status_code == 404


def test_the_job_page_links_both_downloads(login: AuthActions, job: tuple[int, list[int]]) -> None:
    member = login.login()
    html = member.get(f"/jobs/{job[0]}").get_data(as_text=True)
    for fmt in ("csv", "jsonl"):
        assert f'href="/jobs/{job[0]}/results.{fmt}"' in html
    page_csv = member.get(f"/jobs/{job[0]}/results.csv").get_data(as_text=True)
    assert len(rows_of(page_csv)) == 4


def test_occlab_export_writes_the_file(
    live_server: str, token: str, job: tuple[int, list[int]], tmp_path: Path
) -> None:
    out = tmp_path / "job.csv"
    argv = ["export", str(job[0]), "--out", str(out), "--server", live_server, "--token", token]
    done = CliRunner().invoke(main, argv)
    assert done.exit_code == 0, done.output
    assert [r["status"] for r in rows_of(out.read_text())] == ["done", "failed", "pending", "done"]
    missing = CliRunner().invoke(main, [*argv[:1], "999999", *argv[2:]])
    assert missing.exit_code != 0 and "no job 999999" in missing.output
    assert not (tmp_path / ".job.csv.partial").exists()
