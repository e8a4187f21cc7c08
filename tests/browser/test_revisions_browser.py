"""Edit and re-run, and compare, in real Chromium at 1280 and 390 px.

A paper goes through the Submit page; the default model computes it as a worker would
(``worker.processing.process_chunk`` on the live server's database); "Edit this paper"
opens the form filled in; the edited paper, computed too, shows "Revises #N" and the
difference. Compare picks both results through its search boxes. Screenshots land in
/tmp/ui-difference-*.png and /tmp/ui-compare-search-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from shared.config import Settings
from shared.db import session_factory
from shared.engine import load_model
from shared.models import JobItem
from worker.processing import process_chunk

TITLE = "Mining social media for public health surveillance"
ABSTRACT = "We collect tweets about influenza. Cases rise in winter. The data are public."
EDITED = (
    "We collect tweets about influenza. We train a neural network classifier on them. "
    "Cases rise in winter."
)


@pytest.fixture(autouse=True)
def _empty_queues(ui_settings: Settings) -> Iterator[None]:
    yield
    client = redis.Redis.from_url(ui_settings.redis_url)
    client.delete(ui_settings.task_queue, ui_settings.gpu_queue)
    client.close()


@pytest.fixture(scope="module")
def model(default_model_dir: Path) -> Any:
    return load_model(default_model_dir, device="cpu")


def width(page: Any) -> int:
    return int(page.viewport_size["width"])


def no_page_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def compute_job(page: Any, settings: Settings, model: Any) -> int:
    """Wait for the job page, compute its one result; returns the result's id."""
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[-1])
    sessions = session_factory(settings.database_url)
    with sessions() as s:
        (result_id,) = s.scalars(select(JobItem.result_id).where(JobItem.job_id == job_id))
    process_chunk(sessions, [result_id], 3, 0.0, loader=lambda _row: model)
    return int(result_id)


def test_edit_and_rerun_shows_the_linked_result_and_its_difference(
    page: Any,
    live_server: str,
    user: dict[str, str],
    ui_settings: Settings,
    model: Any,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    log_in(user)
    page.goto(f"{live_server}/submit")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Abstract", exact=True).fill(ABSTRACT)
    page.get_by_label("External id").fill("doi:10.1000/flu")
    page.get_by_role("button", name="Explain this paper").click()
    first = compute_job(page, ui_settings, model)

    page.goto(f"{live_server}/results/{first}")
    page.get_by_role("link", name="Edit this paper").click()
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE)
    expect(page.get_by_label("Abstract", exact=True)).to_have_value(ABSTRACT)
    expect(page.get_by_label("External id")).to_have_value("doi:10.1000/flu")
    expect(page.locator("#edit-note")).to_contain_text(f"result #{first}")
    page.get_by_label("Abstract", exact=True).fill(EDITED)
    expect(page.locator('#preview [data-field="abstract"] .unit-count')).to_have_text("3 sentences")
    page.get_by_role("button", name="Explain the edited paper").click()
    edit = compute_job(page, ui_settings, model)
    assert edit != first

    page.goto(f"{live_server}/results/{edit}")
    expect(page.locator("[data-revisions]")).to_contain_text(f"Revises #{first}")
    panel = page.locator("#difference")
    expect(panel).to_contain_text("Abstract: 1 added, 1 removed, 0 changed, 2 unchanged")
    expect(panel.locator("ins").first).to_have_text("We train a neural network classifier on them.")
    expect(panel.locator("[data-heatmap]")).to_have_count(2)
    cells = panel.locator(".diff-grid td.hm-cell")
    expect(cells).to_have_count(len(TITLE.split()) * 3)
    # The inserted sentence is one whole edit: every column corresponds, none is grey.
    expect(panel.locator(".diff-grid td.hm-none")).to_have_count(0)
    panel.scroll_into_view_if_needed()
    assert no_page_overflow(page)
    page.screenshot(path=f"/tmp/ui-difference-{width(page)}.png", full_page=True)

    page.goto(f"{live_server}/results/{first}")
    expect(page.locator("[data-revisions]")).to_contain_text(f"Revised as #{edit}")


def test_compare_picks_from_the_history_by_search(
    page: Any,
    live_server: str,
    user: dict[str, str],
    ui_settings: Settings,
    model: Any,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    log_in(user)
    ids = []
    for title in (TITLE, "Deep learning for graph mining"):
        page.goto(f"{live_server}/submit")
        page.get_by_label("Title", exact=True).fill(title)
        page.get_by_label("Abstract", exact=True).fill(ABSTRACT)
        page.get_by_role("button", name="Explain this paper").click()
        ids.append(compute_job(page, ui_settings, model))

    page.goto(f"{live_server}/compare")
    expect(page.locator('input[name="a"]')).to_have_count(2)  # the newest, nothing typed
    # Typing refreshes that side's list in place (compare.js); the Search button, below,
    # sends the whole form as a plain GET.
    page.get_by_label("Search by title, abstract or id").first.fill("graph")
    expect(page.locator('input[name="a"]')).to_have_count(1)
    expect(page.locator('input[name="b"]')).to_have_count(2)
    page.get_by_role("radio", name=re.compile("Deep learning for graph mining")).first.check()
    page.get_by_label("Search by title, abstract or id").last.fill("surveillance")
    page.get_by_role("button", name="Search").last.click()
    expect(page.get_by_label("Search by title, abstract or id").first).to_have_value("graph")
    page.locator('input[name="b"]').first.check()
    page.get_by_text("Difference", exact=True).click()
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.locator("#difference")).to_contain_text(f"B (#{ids[0]}) against A (#{ids[1]})")
    expect(page.locator('input[name="a"]:checked')).to_have_value(str(ids[1]))
    assert no_page_overflow(page)
    page.screenshot(path=f"/tmp/ui-compare-search-{width(page)}.png", full_page=True)
    page.get_by_text("Side by side", exact=True).click()
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.locator("[data-heatmap]")).to_have_count(2)
    assert no_page_overflow(page)
