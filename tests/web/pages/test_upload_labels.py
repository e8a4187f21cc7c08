"""The upload page's label column: guessed or mapped by hand, a bad value a problem on its
line, and the labels stored with the job's items."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import JobItem
from tests.fixtures.web import AuthActions
from tests.web.pages.test_submit import upload, upload_id

DATA = (
    b"A,B,C,D\n"
    b"Social media,We study it. It matters.,x1,yes\n"
    b"Survey methods,We ask people.,x2,maybe\n"
    b"Deep learning,We train it.,x3,not computational\n"
)


def test_a_label_column_mapped_by_hand(login: AuthActions, sessions: sessionmaker[Session]) -> None:
    ada = login.login()
    uid = upload_id(upload(ada, DATA, "labelled.csv"))
    mapping = {"map_title": "A", "map_abstract": "B", "map_id": "C", "map_label": "D"}
    html = ada.post(f"/upload/{uid}", data=mapping).get_data(as_text=True)
    assert 'id="map_label"' in html and '<option value="D" selected>' in html
    assert '<th role="columnheader" scope="col" class="num">Label</th>' in html
    assert "Line 3</span> — Label &#39;maybe&#39; is not read" in html
    started = ada.post(f"/upload/{uid}", data={**mapping, "action": "start", "skip_bad": "on"})
    assert started.status_code == 303
    with sessions() as session:
        labels = session.scalars(select(JobItem.label).order_by(JobItem.position)).all()
    assert labels == [1, 0]


def test_the_label_column_is_guessed_and_may_be_left_out(login: AuthActions) -> None:
    ada = login.login()
    data = b"title,abstract,class\nSocial media,We study it.,2\n"
    uid = upload_id(upload(ada, data, "p.csv"))
    guessed = ada.get(f"/upload/{uid}").get_data(as_text=True)
    assert '<option value="class" selected>' in guessed and "is not read" in guessed
    unmapped = ada.post(
        f"/upload/{uid}", data={"map_title": "title", "map_abstract": "abstract", "map_label": ""}
    ).get_data(as_text=True)
    assert "is not read" not in unmapped and "1 paper ready" in unmapped
