"""The submit form's second model: with more than one model a "compare with" select, the
paper run under both (two jobs of one group, each sent after the commit), a bad or
repeated choice refused on the field with nothing stored."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.jobs.dispatch import PROCESS_CHUNK
from shared.models import Job
from tests.fixtures.factories import SHIPPED_SPEC
from tests.fixtures.web import AuthActions, FakeCelery
from tests.web.pages.test_submit import form


def jobs(sessions: sessionmaker[Session]) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_with_one_model_there_is_nothing_to_compare_with(login: AuthActions) -> None:
    html = login.login().get("/submit").get_data(as_text=True)
    assert 'name="model"' in html and 'name="compare_with"' not in html


def test_the_paper_runs_under_both_models_as_one_group(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session], second_model: str
) -> None:
    client = login.login()
    assert 'name="compare_with"' in client.get("/submit").get_data(as_text=True)
    response = client.post("/submit", data=form(action="submit", compare_with=second_model))
    assert response.status_code == 303
    first, second = jobs(sessions)
    assert first.group_id == second.group_id == first.id
    with sessions() as session:
        names = [session.get_one(Job, j.id).model.spec for j in (first, second)]
    assert names == [SHIPPED_SPEC, second_model]
    assert [t.args[0] for t in broker.sent if t.name == PROCESS_CHUNK] == [first.id, second.id]
    page = client.get(f"/jobs/{first.id}").get_data(as_text=True)
    assert f"/jobs/{first.id}/compare/{second.id}" in page


def test_a_repeated_or_unknown_second_model_is_refused_on_its_field(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session], second_model: str
) -> None:
    client = login.login()
    for choice, message in ((SHIPPED_SPEC, "a different model"), ("nope:1", "listed models")):
        response = client.post("/submit", data=form(action="submit", compare_with=choice))
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'id="compare_with-error"' in html and message in html
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert broker.sent == []
