"""The faithfulness panel in real Chromium at 1280 and 390 px: drawn, nothing cut off, no
script errors (strict CSP), screenshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.models import Result
from tests.browser.test_results_browser import SENTENCES, WORDS, no_page_overflow, seed


def _stored() -> dict[str, Any]:
    n = len(WORDS) + len(SENTENCES)
    curve = [round(max(0.05, 0.7 - 0.08 * k), 4) for k in range(1, n + 1)]
    comp = {"0.1": 0.18, "0.2": 0.31, "0.3": 0.39, "0.4": 0.47, "0.5": 0.55}
    suff = {"0.1": 0.21, "0.2": 0.12, "0.3": 0.05, "0.4": 0.01, "0.5": -0.02}
    flip = {"k": 3, "probability": 0.46, "units": [
        {"field": "abstract", "index": 3, "text": SENTENCES[3]},
        {"field": "title", "index": 6, "text": WORDS[6]},
        {"field": "abstract", "index": 0, "text": SENTENCES[0]},
    ]}  # fmt: skip
    aopc = {"aopc_comprehensiveness": 0.38, "aopc_sufficiency": 0.074}
    scores = {"comprehensiveness": comp, "sufficiency": suff, **aopc, "deletion_curve": curve}
    return {"faithfulness": scores, "minimal_flip": flip}


def test_the_faithfulness_panel(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    rid = seed(db_session, user["team"])
    db_session.execute(update(Result).where(Result.id == rid).values(faithfulness=_stored()))
    db_session.commit()
    log_in(user)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/results/{rid}")
    panel = page.locator("section.faithfulness")
    assert "Deleting these 3 units flips the decision" in panel.inner_text()
    curve = panel.locator("svg.faith-curve")
    assert curve.is_visible() and curve.bounding_box()["width"] > 300
    assert panel.locator(".flip-point").count() == 1
    assert no_page_overflow(page)
    assert not errors, errors
    width = page.viewport_size["width"]
    panel.screenshot(path=f"/tmp/ui-faithfulness-{width}.png")
    page.screenshot(path=f"/tmp/ui-faithfulness-page-{width}.png", full_page=True)
