"""GET /api/v1/jobs/<id>/corpus: the view as JSON, cached with an ETag once the job is
finished, scoped to the token's team."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Job, JobItem, JobStatus
from tests.fixtures.factories import Factory, Member


def test_the_corpus_json(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    ada: Member,
    sessions: sessionmaker[Session],
) -> None:
    job_id = make.labelled_job(ada.team_id)
    response = client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth)
    assert response.status_code == 200 and response.mimetype == "application/json"
    view = response.json
    assert view["job_id"] == job_id and view["n"] == 4
    assert view["probability_histogram"]["counts"] == [0] * 9 + [4]
    labels = view["labels"]
    assert (labels["n"], labels["positives"], labels["threshold"]) == (3, 2, 0.5)
    assert labels["confusion"] == {"tp": 2, "fp": 1, "tn": 0, "fn": 0}
    # Positives at 0.9 and ~1, the negative at 0.9: one win and one tie of two pairs.
    assert labels["roc_auc"] == 0.75
    assert [m["title"] for m in labels["misclassified"]["papers"]] == ["P0"]
    assert (
        client.get(f"/api/v1/jobs/{job_id}", headers=auth)
        .json["corpus_url"]
        .endswith(f"/jobs/{job_id}/corpus")
    )
    again = client.get(
        f"/api/v1/jobs/{job_id}/corpus", headers={**auth, "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_a_finished_job_s_view_is_cached(
    client: FlaskClient,
    auth: dict[str, str],
    make: Factory,
    ada: Member,
    sessions: sessionmaker[Session],
) -> None:
    job_id = make.labelled_job(ada.team_id)
    first = client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth).json
    with sessions.begin() as session:  # a change the cached view does not see
        session.query(JobItem).filter_by(job_id=job_id).update({"label": None})
    assert client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth).json == first
    with sessions.begin() as session:  # a live job's view is computed every time
        session.get_one(Job, job_id).status = JobStatus.RUNNING
    assert client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth).json["labels"] is None


def test_another_team_s_job_is_absent(
    client: FlaskClient, auth: dict[str, str], make: Factory, bob: Member
) -> None:
    job_id = make.job(bob.team_id, [make.result(bob.team_id)])
    response = client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth)
    assert response.status_code == 404 and f"no job {job_id}" in response.json["error"]
