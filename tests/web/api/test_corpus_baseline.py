"""A finished job's first corpus view asks a worker for the random baseline once (however
many views follow), shows it as on its way, and shows it once stored; a live job asks none."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shared.jobs.dispatch import COMPUTE_BASELINE
from shared.models import Job, Result
from tests.fixtures.factories import Factory, Member
from tests.fixtures.web import AuthActions, FakeCelery

BASELINE = {"papers": 4, "seeds": 10, "aopc_comprehensiveness": 0.021, "aopc_sufficiency": 0.35}


def test_the_first_view_asks_once_and_the_stored_baseline_is_shown(
    client: FlaskClient, auth: dict[str, str], make: Factory, ada: Member, broker: FakeCelery,
    sessions: sessionmaker[Session], login: AuthActions,
) -> None:  # fmt: skip
    job_id = make.labelled_job(ada.team_id)
    faithful = {"faithfulness": {"aopc_comprehensiveness": 0.3, "aopc_sufficiency": 0.1},
                "minimal_flip": None}  # fmt: skip
    with sessions.begin() as session:
        session.execute(update(Result).values(faithfulness=faithful))
    first = client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth).json
    client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth)
    asked = [t for t in broker.sent if t.name == COMPUTE_BASELINE]
    assert [t.args for t in asked] == [[job_id]]
    assert first is not None and first["faithfulness"]["random_baseline"] is None
    page = login.login().get(f"/jobs/{job_id}/corpus").get_data(as_text=True)
    assert 'id="corpus-aopc"' in page and 'id="baseline-pending"' in page
    with sessions.begin() as session:  # what the worker stores
        session.execute(update(Job).where(Job.id == job_id).values(baseline=BASELINE))
    later = client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth).json
    assert later is not None and later["faithfulness"]["random_baseline"] == BASELINE
    assert len([t for t in broker.sent if t.name == COMPUTE_BASELINE]) == 1


def test_a_live_job_asks_for_no_baseline(
    client: FlaskClient, auth: dict[str, str], make: Factory, ada: Member, broker: FakeCelery,
    sessions: sessionmaker[Session],
) -> None:  # fmt: skip
    job_id = make.labelled_job(ada.team_id)
    with sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="running"))
    client.get(f"/api/v1/jobs/{job_id}/corpus", headers=auth)
    assert [t for t in broker.sent if t.name == COMPUTE_BASELINE] == []
