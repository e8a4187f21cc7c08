"""The corpus page in real Chromium at 1280 and 390 px for a labelled job of 2,000 papers:
the figures load, the numbers are the view's, a misclassified paper links to its result,
nothing scrolls sideways; screenshots in /tmp."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.corpus_bench import seed_job
from shared.models import Team
from tests.fixtures import factories

PAPERS = 2_000


def seed(session: Session, team: str) -> int:
    team_id = session.scalar(select(Team.id).where(Team.name == team))
    assert team_id is not None
    model_id = factories.model(session).id
    job_id = seed_job(session.connection(), team_id, model_id, PAPERS)
    session.commit()
    return job_id


def loaded(page: Any, selector: str) -> bool:
    image = f"document.querySelector('{selector}')"
    return bool(page.evaluate(f"{image}.complete && {image}.naturalWidth > 0"))


def test_the_corpus_page_of_a_labelled_job(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    job_id = seed(db_session, user["team"])
    log_in(user)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/jobs/{job_id}")
    page.locator("#corpus-link").click()
    page.wait_for_load_state("networkidle")
    view = json.loads(page.evaluate(f"fetch('/jobs/{job_id}/corpus.json').then(r => r.text())"))
    assert view["n"] == PAPERS
    assert page.locator("#corpus-auc").inner_text() == f"{view['labels']['roc_auc']:.3f}"
    assert page.locator("#corpus-flipping").inner_text() == f"{view['flips']['papers']:,}"
    assert loaded(page, "#corpus-histogram") and loaded(page, "#corpus-roc")
    words = page.locator("#corpus-words code.corpus-word")
    assert words.count() == len(view["words"]) == 50
    assert words.first.inner_text() == view["words"][0]["word"]
    width = page.viewport_size["width"]
    page.screenshot(path=f"/tmp/ui-corpus-{width}.png", full_page=True)
    assert no_page_overflow(page)
    assert not sideways(page), "a table scrolls sideways"
    assert not errors, errors
    first = view["labels"]["misclassified"]["papers"][0]
    page.locator("#corpus-misclassified a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/results/{first['result_id']}")


def sideways(page: Any) -> list[str]:
    """The corpus tables wider than their scroller: cut off until scrolled."""
    script = (
        "[...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > "
        "w.clientWidth + 1).map(w => w.querySelector('table').closest('section').id)"
    )
    return list(page.evaluate(script))


def no_page_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))
