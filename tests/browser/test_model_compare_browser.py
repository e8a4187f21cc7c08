"""Two models, one set of papers, in real Chromium at 1280 and 390 px: from the job page
to the comparison of decisions, its numbers and order, then a pair's difference view; the
page never scrolls sideways; screenshots in /tmp."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Result, Team
from tests.browser.test_corpus_browser import no_page_overflow
from tests.fixtures import factories

# P of the whole paper under A and under B (the grids' last cells): papers 1 and 2 change
# their decision, paper 1 by the most (|ΔP| 0.05, 0.45, 0.4, 0.02).
P_A = [0.9, 0.2, 0.7, 0.1]
P_B = [0.85, 0.65, 0.3, 0.12]


def _explained(p: float) -> factories.Explained:
    grid = [[0.1, 0.4, 0.55], [0.2, 0.6, p]]
    return replace(factories.SMALL, grid=grid)


def seed(session: Session, team: str) -> tuple[int, int]:
    """Two jobs of one group, a paper each under each model, labelled 1, 0, 1, 0."""
    team_id = session.scalar(select(Team.id).where(Team.name == team))
    assert team_id is not None
    # Rows of their own: the database may already hold the shipped default.
    a_model, b_model = (
        factories.model(session, "first", "1"),
        factories.model(session, "second", "2"),
    )
    a_ids, b_ids = [], []
    for k, (pa, pb) in enumerate(zip(P_A, P_B, strict=True)):
        a = factories.result(session, team_id, a_model.id, title=f"Paper {k}",
                             explained=_explained(pa))  # fmt: skip
        b = Result(team_id=team_id, paper_id=a.paper_id, model_id=b_model.id,
                   title_unit="word", abstract_unit="sentence", status="done")  # fmt: skip
        session.add(b)
        session.flush()
        factories.fill(session, b, _explained(pb))
        a_ids.append(a.id)
        b_ids.append(b.id)
    labels = (1, 0, 1, 0)
    first = factories.job(session, team_id, a_model.id, a_ids, labels=labels, status="done")
    second = factories.job(session, team_id, b_model.id, b_ids, labels=labels, status="done")
    first.group_id = second.group_id = first.id
    session.commit()
    return first.id, second.id


def test_comparing_decisions_under_two_models(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    a, b = seed(db_session, user["team"])
    log_in(user)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/jobs/{a}")
    assert "second 2" in page.locator("#job-group").inner_text()
    page.locator("#job-group a.compare-decisions").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/jobs/{a}/compare/{b}")
    assert page.locator("[data-agree]").inner_text() == "2 (50.0%)"
    assert page.locator("[data-positives-a]").inner_text() == "2"
    assert page.locator("[data-positives-b]").inner_text() == "2"
    assert page.locator("[data-mean-delta]").inner_text() == "0.230"
    assert page.locator("[data-accuracy-a]").inner_text() == "100.0%"
    assert page.locator("[data-accuracy-b]").inner_text() == "50.0%"
    rows = page.locator("#pairs tbody tr")
    assert [rows.nth(k).get_attribute("data-position") for k in range(4)] == ["1", "2", "0", "3"]
    width = page.viewport_size["width"]
    page.screenshot(path=f"/tmp/ui-model-compare-{width}.png", full_page=True)
    assert no_page_overflow(page)
    page.get_by_role("link", name="as submitted").click()
    page.wait_for_load_state()
    assert [rows.nth(k).get_attribute("data-position") for k in range(4)] == ["0", "1", "2", "3"]
    page.locator("#pairs tbody tr").first.get_by_role("link").click()
    page.wait_for_load_state()
    assert "One paper under two models." in page.content()
    assert page.locator(".diff-grid td.hm-cell").count() == 6
    assert no_page_overflow(page)
    assert not errors, errors
