"""Labels through the API: stored per job item, a bad one a row problem, and the result's
JSON saying the label of the job asked about (or of the team's latest labelling job)."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Job, JobItem, Result
from tests.fixtures.factories import Factory, Member

ABSTRACT = "We study it. It matters."


def labels_of(sessions: sessionmaker[Session], job_id: int) -> list[int | None]:
    with sessions() as session:
        query = select(JobItem.label).where(JobItem.job_id == job_id).order_by(JobItem.position)
        return list(session.scalars(query))


def submit(client: FlaskClient, auth: dict[str, str], **kw: object) -> dict[str, object]:
    response = client.post("/api/v1/jobs", headers=auth, **kw)  # type: ignore[arg-type]
    assert response.status_code == 202, response.get_data(as_text=True)
    return dict(response.json or {})


def test_json_labels_are_stored_per_item(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    papers = [
        {"title": "Social media", "abstract": ABSTRACT, "label": 1},
        {"title": "Survey methods", "abstract": ABSTRACT, "class": "not computational"},
        {"title": "Deep learning", "abstract": ABSTRACT, "is_computational": True},
        {"title": "Trees", "abstract": ABSTRACT},
    ]
    job = submit(client, auth, json={"papers": papers})
    assert labels_of(sessions, int(job["id"])) == [1, 0, 1, None]  # type: ignore[call-overload]
    listed = client.get(str(job["url"]), headers=auth).json["results"]
    assert [r["label"] for r in listed] == [1, 0, 1, None]


def test_a_bad_json_label_is_a_problem_naming_the_field(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    papers = [
        {"title": "Social media", "abstract": ABSTRACT, "label": "maybe"},
        {"title": "Survey methods", "abstract": ABSTRACT, "label": 0},
    ]
    refused = client.post(
        "/api/v1/jobs", headers=auth, json={"papers": papers, "on_error": "reject"}
    )
    assert refused.status_code == 400
    assert refused.json["problems"][0]["field"] == "label"
    assert "label 'maybe' is not read" in refused.json["error"]
    job = submit(client, auth, json={"papers": papers})
    assert (job["total"], job["rejected"]) == (1, 1)
    assert labels_of(sessions, int(job["id"])) == [0]  # type: ignore[call-overload]


def test_a_csv_s_bad_labels_are_skipped_rows(
    client: FlaskClient, auth: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    data = (
        f"title,abstract,class\nSocial media,{ABSTRACT},1\nSurvey methods,{ABSTRACT},2\n"
        f"Deep learning,{ABSTRACT},no\n"
    ).encode()
    job = submit(client, auth, data={"file": (io.BytesIO(data), "papers.csv")})
    assert (job["total"], job["rejected"]) == (2, 1)
    assert labels_of(sessions, int(job["id"])) == [1, 0]  # type: ignore[call-overload]
    problems = client.get(str(job["problems_url"]), headers=auth).get_data(as_text=True)
    assert "3,," in problems and "label '2' is not read" in problems


def test_the_result_says_its_label_by_job(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    ada: Member,
    bob: Member,
    sessions: sessionmaker[Session],
) -> None:
    rid = make.result(ada.team_id)
    first, second, unlabelled = (make.job(ada.team_id, [rid]) for _ in range(3))
    with sessions.begin() as session:
        for job_id, label in ((first, 1), (second, 0)):
            session.query(JobItem).filter_by(job_id=job_id).update({"label": label})
    other = make.job(bob.team_id, [make.result(bob.team_id)])

    def label(query: str = "") -> object:
        response = client.get(f"/api/v1/results/{rid}{query}", headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json["paper"]["label"]

    assert label(f"?job={first}") == 1
    assert label(f"?job={second}") == 0
    assert label(f"?job={unlabelled}") is None
    assert label() == 0  # the latest job that labelled it
    assert label(f"?job={first}") == 1  # cached per label, not per result
    with sessions() as session:
        assert session.get_one(Result, rid).status == "done"
        assert session.get_one(Job, other).team_id == bob.team_id
    assert client.get(f"/api/v1/results/{rid}?job={other}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/results/{rid}?job=abc", headers=auth).status_code == 400
