"""The job pages: the list, one job with its papers, the progress JSON the page polls,
cancelling, and that another team's job is a 404."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.db import utcnow
from shared.jobs.status import refresh_jobs
from shared.jobs.submit import Submission, create_job
from shared.models import Job, JobItem, Result
from tests.fixtures.factories import BOB, Factory, Member
from tests.fixtures.web import AuthActions, csrf_from

EVIL = '<script>alert(1)</script> social media & "trust"'
PAPERS = [
    {"title": "Social media", "abstract": "We study it. It matters.", "id": "doi:1"},
    {"title": EVIL, "abstract": "We study the users."},
    {"title": "Online networks", "abstract": "We study online networks."},
]


@pytest.fixture
def new_job(sessions: sessionmaker[Session], settings: Settings, ada: Member) -> Callable[..., int]:
    """``new_job(papers=PAPERS)``: a job of Ada's, stored as a submission would store it."""
    user_id, team_id = ada.user_id, ada.team_id

    def make(papers: list[dict[str, str]] = PAPERS) -> int:
        with sessions.begin() as session:
            sub = Submission(team_id=team_id, submitter_id=user_id, papers=papers, source="web")
            job, _ = create_job(session, settings, sub)
            return job.id

    return make


def finish(sessions: sessionmaker[Session], job_id: int, statuses: list[str]) -> None:
    """Write results as the worker would: status, probability or error; then recount."""
    with sessions.begin() as session:
        items = session.scalars(select(JobItem).filter_by(job_id=job_id).order_by("position"))
        for item, status in zip(items, statuses, strict=False):
            result = session.get_one(Result, item.result_id)
            result.status = status
            result.probability = 0.875 if status == "done" else None
            result.error = "the model crashed" if status == "failed" else None
            result.finished_at = utcnow() - timedelta(seconds=2)  # as the worker stores it
        job = session.get_one(Job, job_id)
        job.started_at = job.started_at or job.created_at - timedelta(seconds=4)
        session.flush()
        refresh_jobs(session, [job_id])


def test_job_page_lists_papers_in_order_with_live_progress(
    login: AuthActions, new_job: Callable[..., int]
) -> None:
    ada = login.login()
    job_id = new_job()
    html = ada.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "0 of 3 papers explained" in html and "Waiting for a worker" in html
    assert re.search(r'<progress id="job-bar" max="3" value="0"[^>]*>0%</progress>', html)
    assert (
        'aria-live="polite"' in html and f'data-progress-url="/jobs/{job_id}/progress.json' in html
    )
    links = re.findall(r'<td class="cell-title"><a href="(/results/\d+)">([^<]*)</a>', html)
    assert [t for _, t in links][0::2] == ["Social media", "Online networks"]
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="btn btn-danger">Cancel job' in html and "data-confirm=" in html


def test_progress_json_follows_the_results(
    login: AuthActions, new_job: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    ada = login.login()
    job_id = new_job()
    first = ada.get(f"/jobs/{job_id}/progress.json").json
    assert (first["status"], first["processed"], first["total"], first["finished"]) == (
        "queued", 0, 3, False,
    )  # fmt: skip
    assert [i["position"] for i in first["items"]] == [1, 2, 3]
    finish(sessions, job_id, ["done", "failed"])
    body = ada.get(f"/jobs/{job_id}/progress.json").json
    assert (body["status"], body["done"], body["failed"], body["percent"]) == ("running", 1, 1, 67)
    assert body["summary"] == "1 of 3 papers explained, 1 failed"
    assert body["rate"] > 0 and body["rate_text"].endswith(("papers/s", "s a paper"))
    assert body["eta_text"].startswith("About ")
    assert body["items"][0]["probability_text"] == "0.875"
    assert [(f["position"], f["error"]) for f in body["failures"]] == [(2, "the model crashed")]
    assert body["failures"][0]["title"] == EVIL  # JSON; job.js sets it as text, never HTML
    finish(sessions, job_id, ["done", "failed", "done"])
    done = ada.get(f"/jobs/{job_id}/progress.json").json
    assert done["finished"] and done["status"] == "done" and not done["cancellable"]
    assert done["eta_text"].startswith("Finished in")
    page = ada.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Cancel job" not in page and "the model crashed" in page


def test_cancel(login: AuthActions, new_job: Callable[..., int]) -> None:
    ada = login.login()
    job_id = new_job()
    response = ada.post(f"/jobs/{job_id}/cancel", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"Job {job_id} is cancelled" in html
    assert ada.get(f"/jobs/{job_id}/progress.json").json["status"] == "cancelled"
    again = ada.post(f"/jobs/{job_id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "already cancelled" in again


def test_cancel_needs_the_csrf_token(
    make_app: Callable[..., Flask], new_job: Callable[..., int]
) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    AuthActions(client).login(csrf_token=csrf_from(client.get("/login").get_data(as_text=True)))
    job_id = new_job()
    assert client.post(f"/jobs/{job_id}/cancel").status_code == 400
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    ok = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf_from(html)})
    assert ok.status_code == 303


def test_another_teams_job_is_404(
    login: AuthActions, new_job: Callable[..., int], make: Factory
) -> None:
    job_id = new_job()
    make.user(BOB, "Beta")
    bob = login.other_browser().login(BOB)
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/progress.json"):
        assert bob.get(path).status_code == 404, path
    assert bob.post(f"/jobs/{job_id}/cancel").status_code == 404
    assert f"Job #{job_id}" not in bob.get("/jobs").get_data(as_text=True)


def test_job_list_is_newest_first_and_paginated(
    login: AuthActions, new_job: Callable[..., int]
) -> None:
    ada = login.login()
    ids = [new_job([{**PAPERS[0], "title": f"Social media {n}"}]) for n in range(22)]
    first = ada.get("/jobs").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r">Job #(\d+)</a>", first)]
    assert shown == sorted(ids, reverse=True)[:20]
    assert "Page 1 of 2" in first and 'rel="next" href="/jobs?page=2"' in first
    second = ada.get("/jobs?page=2").get_data(as_text=True)
    assert [int(n) for n in re.findall(r">Job #(\d+)</a>", second)] == sorted(ids, reverse=True)[
        20:
    ]
    assert ada.get("/jobs?page=99").status_code == 200  # clamps to the last page


def test_job_pages_need_a_login(client: FlaskClient) -> None:
    for path in ("/jobs", "/jobs/1", "/jobs/1/progress.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_progress_counts_each_paper_and_times_from_when_papers_finished(
    login: AuthActions, new_job: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    """A worker stores each paper of its chunk on its own and recounts the job at the end:
    the page counts the results, and times the rest from when the first one finished."""
    ada = login.login()
    job_id = new_job()
    now = utcnow()
    with sessions.begin() as session:
        items = session.scalars(select(JobItem).filter_by(job_id=job_id).order_by("position"))
        first, second, _ = (session.get_one(Result, i.result_id) for i in items)
        first.status, first.probability, first.finished_at = "done", 0.5, now - timedelta(seconds=3)
        second.status = "running"
        job = session.get_one(Job, job_id)
        job.status, job.started_at = "running", now - timedelta(seconds=10)  # job.done still 0
    body = ada.get(f"/jobs/{job_id}/progress.json").json
    assert (body["done"], body["running"], body["processed"], body["percent"]) == (1, 1, 1, 33)
    assert body["summary"] == "1 of 3 papers explained, 1 being explained now"
    # One paper in its first 7 s: 2 left take 14 s from then, 11 s from now.
    assert body["rate"] == pytest.approx(1 / 7, rel=0.01)
    assert body["eta_s"] == pytest.approx(11, abs=1) and body["eta_text"].startswith("About 1")
    page = ada.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<span id="job-done">1</span>' in page


def test_the_papers_can_be_ordered_by_p(
    login: AuthActions, new_job: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    ada = login.login()
    job_id = new_job()
    with sessions.begin() as session:  # P 0.2, none yet, 0.9 in submission order
        items = session.scalars(select(JobItem).filter_by(job_id=job_id).order_by("position"))
        for item, p in zip(items, (0.2, None, 0.9), strict=True):
            result = session.get_one(Result, item.result_id)
            result.status, result.probability = ("done", p) if p is not None else ("pending", None)

    def titles(sort: str) -> list[str]:
        html = ada.get(f"/jobs/{job_id}?sort={sort}").get_data(as_text=True)
        return re.findall(r'<td class="cell-title"><a href="/results/\d+">([^<]*)</a>', html)

    evil = (
        EVIL.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    )
    assert titles("position") == ["Social media", evil, "Online networks"]
    assert titles("-p") == ["Online networks", "Social media", evil]  # no P yet: last
    assert titles("p") == ["Social media", "Online networks", evil]
    progress = ada.get(f"/jobs/{job_id}/progress.json?sort=-p").json
    assert [i["title"] for i in progress["items"]] == ["Online networks", "Social media", EVIL]
    refused = ada.get(f"/jobs/{job_id}?sort=title")
    assert refused.status_code == 400 and "sort must be one of position, p, -p" in refused.get_data(
        as_text=True
    )
