"""The Models page in Chromium at 1280 and 390 px: the shipped model's facts legible, the
upload form whole, nothing wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.test_results_browser import no_page_overflow
from tests.fixtures.factories import SHIPPED


def test_the_models_page_reads_at_both_widths(
    page: Any, live_server: str, user: dict[str, str], log_in: Callable[[dict[str, str]], None]
) -> None:
    log_in(user)
    page.goto(f"{live_server}/models")
    row = page.locator("table.data tbody tr").first
    assert "default" in row.inner_text() and f"{SHIPPED['vectors']['count']:,}" in row.inner_text()
    assert page.get_by_label("Checkpoint").is_visible()
    assert page.get_by_role("button", name="Upload and import").is_visible()
    assert no_page_overflow(page)
    page.screenshot(path=f"/tmp/ui-models-{page.viewport_size['width']}.png", full_page=True)
