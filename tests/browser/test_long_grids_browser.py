"""Long and wide grids of real papers in Chromium at 1280 and 390 px: the 18-sentence
abstract's whole-paper cell and its row label both in view after the jump to it, a
word-level grid of 137 columns usable (fit view, tooltip at the last column, no page
scroll sideways). Screenshots go to /tmp/ui-long-*.png."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from tests.browser.real import LONG, WORDY, real_result
from tests.browser.test_results_browser import no_page_overflow, tooltip

# The element at a point is the one drawn there: a cell or label that is covered (by the
# sticky labels, the page's edge, the grid box's scroll) is not "visible" by this test.
SEEN = """el => {
  const r = el.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const inView = x >= 0 && y >= 0 && x <= innerWidth && y <= innerHeight;
  return inView && (document.elementFromPoint(x, y)?.closest('th, td') === el);
}"""


def seen(locator: Any) -> bool:
    return bool(locator.evaluate(SEEN))


def test_the_whole_paper_cell_of_an_18_sentence_abstract_is_reachable(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    rid = real_result(db_session, user["team"], LONG, detail="bulk")
    log_in(user)
    page.goto(f"{live_server}/results/{rid}")
    whole = page.locator(".hm-cell.is-whole")
    assert whole.get_attribute("data-j") == "17"  # 18 sentences: columns 0..17
    label = page.locator("tbody tr").first.locator(".hm-row")
    page.locator("[data-jump-whole]").click()
    assert seen(whole) and seen(label)
    assert "the whole paper" in tooltip(page)
    # Scrolled by hand instead, the row label still sticks beside the cell.
    page.locator(".heatmap-scroll").evaluate("b => { b.scrollLeft = 0; b.scrollTop = 0; }")
    whole.scroll_into_view_if_needed()
    assert seen(whole) and seen(label)
    # The first column's head stays under the grid while it scrolls up and down.
    head = page.locator("tfoot .hm-col").last
    head.scroll_into_view_if_needed()
    assert seen(head) and seen(whole)
    assert no_page_overflow(page)
    page.screenshot(path=f"/tmp/ui-long-{page.viewport_size['width']}.png", full_page=True)


def test_a_word_level_grid_of_138_columns_is_usable(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    rid = real_result(db_session, user["team"], WORDY, abstract_unit="word", detail="bulk")
    log_in(user)
    page.goto(f"{live_server}/results/{rid}")
    table = page.locator(".heatmap")
    n = page.locator("tbody tr").first.locator(".hm-cell").count()
    assert n >= 137
    assert "hm-s" in (table.get_attribute("class") or "")  # small cells to begin with
    box = page.locator(".heatmap-scroll")
    page.get_by_role("button", name="Fit width").click()
    assert "hm-fit" in (table.get_attribute("class") or "")
    # The whole width in view: the grid is no wider than its box, so no column is hidden.
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
    last = page.locator(".hm-cell.is-whole")
    last.scroll_into_view_if_needed()
    assert seen(last) and seen(page.locator("tbody tr").first.locator(".hm-row"))
    last.hover()
    assert "the whole paper" in tooltip(page) and f"Abstract ({n} words)" in tooltip(page)
    assert no_page_overflow(page)
    page.get_by_role("button", name="Large").click()
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # large cells scroll again
    page.locator("[data-jump-whole]").click()
    assert seen(last)
    page.screenshot(path=f"/tmp/ui-words-{page.viewport_size['width']}.png", full_page=True)
