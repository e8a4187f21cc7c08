"""Tokens: 401 without a valid one; a team sees only its own jobs and results (404 else)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shared.accounts import authenticate_token, revoke_token
from tests.fixtures.factories import Factory

JOB = {"papers": [{"title": "Social media", "abstract": "We study it."}]}


def test_missing_or_bad_token_is_401_json(client: FlaskClient, token: str) -> None:
    for headers in ({}, {"Authorization": token}, {"Authorization": "Bearer ocl_nope"}):
        for method, path in (("GET", "/api/v1/jobs"), ("POST", "/api/v1/jobs"),
                             ("GET", "/api/v1/results/1")):  # fmt: skip
            response = client.open(path, method=method, headers=headers, json=JOB)
            assert response.status_code == 401, (headers, path)
            assert "token" in response.json["error"]
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(
    client: FlaskClient, token: str, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        row = authenticate_token(session, token)
        assert row is not None
        revoke_token(session, row)
    response = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_other_teams_ids_are_404_like_missing_ones(
    client: FlaskClient,
    auth: dict[str, str],
    other_token: str,
    make: Factory,
    team_id: int,
) -> None:
    job_id = client.post("/api/v1/jobs", json=JOB, headers=auth).json["id"]
    rid = make.result(team_id)
    other = {"Authorization": f"Bearer {other_token}"}
    paths = ["/api/v1/jobs/{j}", "/api/v1/results/{r}", "/api/v1/results/{r}/heatmap.png"]
    for path in paths:
        assert client.get(path.format(j=job_id, r=rid), headers=auth).status_code == 200
        mine = client.get(path.format(j=job_id, r=rid), headers=other)
        missing = client.get(path.format(j=job_id + 99, r=rid + 99), headers=other)
        assert mine.status_code == missing.status_code == 404
        assert mine.json["error"].endswith("in your team")
        assert missing.json["error"].endswith("in your team")
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=other).status_code == 404
    assert client.get("/api/v1/jobs", headers=other).json["jobs"] == []
