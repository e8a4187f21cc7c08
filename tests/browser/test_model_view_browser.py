"""The "Inside the model" panel of a real paper in Chromium at 1280 and 390 px: features named in
words, their labels and the charts' ticks at a readable size at 1x, every value whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from tests.browser.real import CONFIDENT, real_result
from tests.browser.test_results_browser import no_page_overflow

# Each value's box lies inside its row and nothing covers it: drawn whole, not clipped.
WHOLE = """el => {
  const r = el.getBoundingClientRect(), row = el.closest('.bar-row').getBoundingClientRect();
  const inside = r.left >= row.left - 0.5 && r.right <= row.right + 0.5 && r.width > 0;
  const hit = document.elementFromPoint(r.right - 1, r.top + r.height / 2);
  return inside && el.scrollWidth <= el.clientWidth + 0.5 && hit === el;
}"""
PX = "el => parseFloat(getComputedStyle(el).fontSize)"
DRAWN_PX = "el => el.getBoundingClientRect().height"  # an SVG text's size as drawn


def test_inside_the_model_names_features_in_words_and_reads_at_1x(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    rid = real_result(db_session, user["team"], CONFIDENT)  # full detail: traces too
    log_in(user)
    page.goto(f"{live_server}/results/{rid}")
    rows = page.locator(".bar-row")
    assert rows.count() == 20
    first = rows.first.inner_text()
    assert ", read backwards, #" in first or ", read forwards, #" in first
    assert "pushes towards" in first and "abstract.bwd" not in first
    for k in range(rows.count()):
        row = rows.nth(k)
        row.scroll_into_view_if_needed()
        assert row.locator(".bar-where").evaluate(PX) >= 13
        assert row.locator(".bar-value").evaluate(WHOLE), row.inner_text()
    chart = page.locator(".trace:not([hidden]) .chart").first
    chart.scroll_into_view_if_needed()
    assert chart.locator(".tick").first.evaluate(DRAWN_PX) >= 10  # 12.5 units at about 1x
    assert "Abstract, read" in page.get_by_label("Feature", exact=True).inner_text()
    assert no_page_overflow(page)
    page.locator(".activations").screenshot(path=f"/tmp/ui-model-{page.viewport_size['width']}.png")
