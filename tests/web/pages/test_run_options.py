"""The submit and upload forms' run options: detail (bulk or full) and keep_boilerplate,
as the API takes them; an unticked box means "leave out" even where the setting keeps."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.models import Job
from tests.fixtures.factories import ADA, PASSWORD, Member
from tests.fixtures.web import AuthActions, FakeCelery
from web.extensions import CeleryClient

NOTICE = "We compared countries. Copyright 2013 ACM."
CSV = b"title,abstract\nInternet coverage in Europe," + NOTICE.encode() + b"\n"


def submit(member: FlaskClient, **fields: str) -> Any:
    data = {"title": "Internet coverage in Europe", "abstract": NOTICE, "action": "submit",
            **fields}  # fmt: skip
    return member.post("/submit", data=data)


def checked(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]+)" checked', page)


def job_of(sessions: sessionmaker[Session], response: Any) -> Job:
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    with sessions() as s:
        return s.get_one(Job, int(response.headers["Location"].rsplit("/", 1)[-1]))


def test_detail_and_keep_boilerplate_reach_the_job(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session]
) -> None:
    ada = login.login()
    blank = ada.get("/submit").get_data(as_text=True)
    assert checked(blank, "detail") == ["bulk"] and 'id="keep_boilerplate"' in blank
    kept = submit(ada, detail="full", keep_boilerplate="on", keep_boilerplate_box="1")
    left = submit(ada, title="Another title", keep_boilerplate_box="1")
    bad = submit(ada, detail="most")
    assert bad.status_code == 400 and "Choose bulk or full." in bad.get_data(as_text=True)
    jobs = [job_of(sessions, r) for r in (kept, left)]
    assert [(j.detail, j.keep_boilerplate) for j in jobs] == [("full", True), ("bulk", False)]


def test_an_unticked_box_leaves_out_where_the_setting_keeps(
    make_app: Callable[..., Flask], settings: Settings, ada: Member,
    sessions: sessionmaker[Session],
) -> None:  # fmt: skip
    app = make_app(SETTINGS=settings.with_overrides(keep_boilerplate=True))
    app.extensions[CeleryClient.key] = FakeCelery(sessions)
    member = AuthActions(app.test_client()).login(ADA, PASSWORD)
    assert 'value="on" checked' in member.get("/submit").get_data(as_text=True)
    assert not job_of(sessions, submit(member, keep_boilerplate_box="1")).keep_boilerplate
    assert job_of(sessions, submit(member, title="Other title")).keep_boilerplate  # no box


def test_the_upload_review_has_both_options(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session]
) -> None:
    ada = login.login()
    sent = ada.post("/upload", data={"file": (io.BytesIO(CSV), "p.csv")},
                    content_type="multipart/form-data")  # fmt: skip
    review_url = sent.headers["Location"]
    review = ada.get(review_url).get_data(as_text=True)
    assert checked(review, "detail") == ["bulk"] and 'id="keep_boilerplate"' in review
    refused = ada.post(review_url, data={"action": "start", "detail": "all"})
    assert refused.status_code == 400 and "Choose bulk or full." in refused.get_data(as_text=True)
    options = {"detail": "full", "keep_boilerplate": "on", "keep_boilerplate_box": "1"}
    started = ada.post(review_url, data={"action": "start", **options})
    job = job_of(sessions, started)
    assert (job.source, job.detail, job.keep_boilerplate) == ("upload", "full", True)
    with sessions() as s:
        assert len(s.scalars(select(Job)).all()) == 1
