"""The Models page: the team's models with what each reads and how well it did, the upload
form for owners (a plain member is told to ask one), an upload handed to a worker, the
team default changed, and another team's model out of reach."""

from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.jobs.dispatch import IMPORT_MODEL
from shared.models import RegisteredModel
from tests.fixtures.factories import ADA_TEAM, SHIPPED, SHIPPED_SPEC, Factory, Member
from tests.fixtures.web import AuthActions, FakeCelery


def upload_form(**fields: str) -> dict[str, object]:
    return {
        "name": "mine",
        "version": "2",
        "checkpoint": (io.BytesIO(b"weights"), "model.pt"),
        "vectors": (io.BytesIO(b"1 1\na 0.5\n"), "vectors.txt"),
        "spec": (io.BytesIO(b"{}"), "spec.json"),
        **fields,
    }


def test_the_page_lists_the_shipped_default_and_offers_owners_the_upload(
    login: AuthActions,
) -> None:
    html = login.login().get("/models").get_data(as_text=True)
    assert (
        f"<strong>default</strong> {SHIPPED['version']}" in html
        and f"{SHIPPED['vectors']['count']:,}" in html
    )
    assert "2 \N{MULTIPLICATION SIGN} 128 LSTM, bidirectional" in html and "title, abstract" in html
    assert f"{SHIPPED['metrics']['test']['roc_auc']:.3f}" in html  # the manifest's test ROC AUC
    assert 'name="checkpoint"' in html and 'aria-current="page">Models' in html


def test_a_member_sees_the_models_but_not_the_upload(
    login: AuthActions, make: Factory, ada: Member
) -> None:
    make.user("cy@example.org", ADA_TEAM)
    client = login.login("cy@example.org")
    html = client.get("/models").get_data(as_text=True)
    assert "Only owners of your team can import models" in html
    assert 'name="checkpoint"' not in html
    assert client.post("/models", data=upload_form()).status_code == 403


def test_an_upload_is_sent_to_a_worker_and_shown_importing(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session]
) -> None:
    client = login.login()
    response = client.post("/models", data=upload_form())
    assert response.status_code == 303
    with sessions() as session:
        row = session.scalars(select(RegisteredModel).filter_by(name="mine")).one()
    assert [(t.name, t.args) for t in broker.sent] == [(IMPORT_MODEL, [row.id])]
    html = client.get("/models").get_data(as_text=True)
    assert "mine:2 is being imported" in html and "importing…" in html
    assert '<meta http-equiv="refresh" content="5">' in html


def test_a_refused_upload_says_why_and_keeps_the_form(
    login: AuthActions, broker: FakeCelery
) -> None:
    response = login.login().post("/models", data=upload_form(name="default"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "every team shares: choose another" in html and 'value="2"' in html
    assert broker.sent == []


def test_the_default_is_changed_by_an_owner_for_the_team_only(
    login: AuthActions, make: Factory, sessions: sessionmaker[Session], bob: Member
) -> None:
    with sessions.begin() as session:
        other = RegisteredModel(
            team_id=bob.team_id, name="bobs", version="1", fields=["title", "abstract"]
        )
        session.add(other)
        session.flush()
        other_id = other.id
        shipped = make.default_model(session).id
    client = login.login()
    assert client.post(f"/models/{other_id}/default").status_code == 404
    response = client.post(f"/models/{shipped}/default", follow_redirects=True)
    assert f"New submissions of your team use {SHIPPED_SPEC}" in response.get_data(as_text=True)
