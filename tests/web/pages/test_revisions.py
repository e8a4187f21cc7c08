"""Edit and re-run: "Edit this paper" fills the submit form in from a result, the edit's
result links to the one it revises, and its page shows the difference. Real results: the
default model computes both (worker.processing.process_chunk), as a worker would."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.engine import load_model
from shared.models import Job, JobItem
from shared.scales import logit
from tests.fixtures.factories import Factory, Member
from tests.fixtures.web import AuthActions, FakeCelery
from worker.processing import process_chunk

TITLE = "Social media and political trust"
ABSTRACT = "We survey users of social media. Networks shape trust."
INSERTED = "We survey users of social media. We fit a regression model. Networks shape trust."


@pytest.fixture(scope="module")
def model(default_model_dir: Path) -> Any:
    return load_model(default_model_dir, device="cpu")


def submit(member: FlaskClient, **fields: str) -> Any:
    data = {"title": TITLE, "abstract": ABSTRACT, "title_unit": "word",
            "abstract_unit": "sentence", "action": "submit", **fields}  # fmt: skip
    return member.post("/submit", data=data)


def computed(response: Any, sessions: sessionmaker[Session], model: Any) -> tuple[int, int | None]:
    """The job's result (computed with the default model) and the result it revises."""
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    job_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    with sessions() as s:
        item = s.scalars(select(JobItem).where(JobItem.job_id == job_id)).one()
        result_id, revises_id = item.result_id, item.revises_id
    process_chunk(sessions, [result_id], 3, 0.0, loader=lambda _row: model)
    return result_id, revises_id


# A difference cell's label: "title units 1-2, abstract units 1-3: log-odds +0.123" (en dashes).
CELL = r'aria-label="title units 1\u2013(\d+), abstract units 1\u2013(\d+): log-odds ([+-]?[\d.]+)'


def field_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert found is not None, f"no {name} field"
    return htmllib.unescape(found.group(1))


def checked(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]+)" checked', page)


def test_edit_and_rerun_links_the_result_and_shows_the_difference(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session], model: Any
) -> None:
    ada = login.login()
    first, _ = computed(submit(ada, external_id="doi:10/abc", detail="full"), sessions, model)
    page = ada.get(f"/results/{first}").get_data(as_text=True)
    assert f'href="/submit?from={first}">Edit this paper</a>' in page

    filled = ada.get(f"/submit?from={first}").get_data(as_text=True)
    assert field_value(filled, "title") == TITLE and field_value(filled, "revises") == str(first)
    assert f">{ABSTRACT}</textarea>" in filled
    assert field_value(filled, "external_id") == "doi:10/abc"
    assert checked(filled, "abstract_unit") == ["sentence"]
    assert checked(filled, "detail") == ["full"]
    assert 'name="keep_boilerplate" value="on" checked' not in filled
    assert f'Editing <a href="/results/{first}">result #{first}</a>' in filled
    assert "3 words" not in filled and "2 sentences" in filled  # the preview is there too

    edit, revises = computed(
        submit(ada, abstract=INSERTED, revises=str(first), detail="full"), sessions, model
    )
    assert edit != first and revises == first
    page = ada.get(f"/results/{edit}").get_data(as_text=True)
    assert f'Revises <a href="/results/{first}">#{first}</a>' in page
    assert f"Difference from #{first}, which this revises" in page
    assert "Abstract: 1 added, 0 removed, 0 changed, 2 unchanged" in page
    assert "Title: 0 added, 0 removed, 0 changed, 5 unchanged" in page
    assert "<ins>We fit a regression model.</ins>" in page
    assert 'id="heatmap-rev-old"' in page and 'id="heatmap-rev-new"' in page
    # Every prefix corresponds (the insertion is one whole sentence): 5 x 3 cells compared,
    # and the first column reads the same text under the same model: exactly no change.
    assert "15 of 15 cells are" in page and "hm-cell hm-none" not in page
    assert page.count("(the same text: only the model can differ)") == 2 * 5  # title, label
    assert "moves every row of a column by the same amount" in page  # the title is unchanged
    older = ada.get(f"/results/{first}").get_data(as_text=True)
    assert f'Revised as <a href="/results/{edit}">#{edit}</a>' in older

    # The cell values are the new grid minus the old in log-odds (Ada's scale, the default),
    # the columns after the inserted sentence compared with the old ones they follow.
    old_grid = np.asarray(ada.get(f"/results/{first}/result.json").get_json()["probabilities"])
    new_grid = np.asarray(ada.get(f"/results/{edit}/result.json").get_json()["probabilities"])
    cells = re.findall(CELL, page.split("diff-grid")[1].replace("\u2212", "-"))
    assert len(cells) == 15
    for i, j, value in cells:
        row, col = int(i) - 1, int(j) - 1
        expected = logit(new_grid[row, col]) - logit(old_grid[row, {0: 0, 1: 0, 2: 1}[col]])
        assert float(value) == pytest.approx(float(expected), abs=5e-4)
    assert ada.get(f"/compare?a={first}&b={edit}&view=difference").status_code == 200


def test_nothing_changed_is_refused_with_the_form_kept(
    login: AuthActions, broker: FakeCelery, sessions: sessionmaker[Session], model: Any
) -> None:
    ada = login.login()
    first, _ = computed(submit(ada), sessions, model)
    refused = submit(ada, revises=str(first), external_id="other-id")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "nothing changed" in page
    assert f"it is result {first} as it stands" in page
    assert field_value(page, "revises") == str(first)
    assert field_value(page, "external_id") == "other-id"
    with sessions() as s:
        assert len(s.scalars(select(Job)).all()) == 1  # nothing stored


def test_the_form_keeps_every_value_on_an_error(
    login: AuthActions, make: Factory, team_id: int, broker: FakeCelery
) -> None:
    ada = login.login()
    rid = make.result(team_id)
    options = {"keep_boilerplate": "on", "keep_boilerplate_box": "1", "abstract_unit": "word"}
    refused = submit(ada, title="  ", revises=str(rid), external_id="x1", detail="full", **options)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Title is empty" in page
    assert field_value(page, "revises") == str(rid) and field_value(page, "external_id") == "x1"
    assert checked(page, "detail") == ["full"] and checked(page, "abstract_unit") == ["word"]
    assert 'name="keep_boilerplate" value="on" checked' in page
    assert f">{ABSTRACT}</textarea>" in page
    assert broker.sent == []


def test_revises_must_be_a_result_of_the_team(
    login: AuthActions, make: Factory, bob: Member, broker: FakeCelery
) -> None:
    ada = login.login()
    theirs = make.result(bob.team_id)
    refused = submit(ada, revises=str(theirs))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and f"There is no result {theirs} in your team" in page
    assert ada.get(f"/submit?from={theirs}").status_code == 404
    assert ada.get("/submit?from=nope").status_code == 404
    assert broker.sent == []
