"""The result, history and compare pages in real Chromium at 1280 and 390 px: the heat-map
tooltip by mouse and keyboard, the values toggle, the colour scale control, no sideways page
scroll, screenshots."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Team
from shared.scales import DEFAULT, view
from tests.fixtures import factories
from tests.fixtures.factories import SHIPPED

TITLE = 'Exploration of <script>alert(1)</script> & "quotes" in social media'
ABSTRACT = (
    "We used methods and techniques to do stuff. Weber Freud and vocabulary acquisition "
    "were explored. Then we did more stuff. Our code can be found on Github."
)
SENTENCES = ABSTRACT.replace(". ", ".|").split("|")
WORDS = TITLE.split()


def _grid() -> list[list[float]]:
    return [
        [
            round(min(0.98, max(0.02, 0.15 + 0.07 * i + 0.12 * j - 0.05 * (j == 1))), 4)
            for j in range(len(SENTENCES))
        ]
        for i in range(len(WORDS))
    ]


def _activations() -> dict[str, Any]:
    tokens = {"title": [w.lower() for w in WORDS[:5]], "abstract": ["we", "used", "methods", "and"]}
    top = [
        {
            "feature": f"{f}.{d}.{k}",
            "activation": 0.3 * (k - 3),
            "weight": 1.1 - 0.2 * k,
            "contribution": round(0.3 * (k - 3) * (1.1 - 0.2 * k), 4),
            "field": f,
            "direction": d,
            "trace": [round(0.1 * k * (t - 1), 3) for t in range(len(tokens[f]))],
        }
        for k, (f, d) in enumerate([("abstract", "fwd"), ("title", "bwd")] * 4)
    ]
    running = {f: [round(0.3 + 0.1 * n, 3) for n in range(len(t))] for f, t in tokens.items()}
    return {
        "bias": -0.2,
        "top_features": top,
        "fields": {f: {"tokens": t, "running_probability": running[f]} for f, t in tokens.items()},
    }


def seed(session: Session, team: str, title: str = TITLE, version: str = SHIPPED["version"]) -> int:
    """A finished result of a model ``default`` ``version`` with a grid of every word by
    every sentence, leave-one-out deltas and traced activations; committed."""
    team_id = session.scalar(select(Team.id).where(Team.name == team))
    assert team_id is not None
    explained = factories.Explained(
        grid=_grid(),
        units={
            "title": {"unit": "word", "units": [[w.lower()] for w in WORDS], "labels": WORDS},
            "abstract": {
                "unit": "sentence",
                "units": [s.lower().split() for s in SENTENCES],
                "labels": SENTENCES,
            },
        },
        loo={
            "title": [0.02 * ((i % 5) - 2) for i in range(len(WORDS))],
            "abstract": [-0.12, 0.05, -0.02, -0.2],
        },
        skipped={"title": ["<script>alert(1)</script>"], "abstract": ["weber", "freud"]},
        activations=_activations(),
    )
    model_id = factories.model(session, version=version).id
    fields = {"abstract": ABSTRACT}
    rid = factories.result(session, team_id, model_id, title=title, explained=explained,
                           paper_fields=fields).id  # fmt: skip
    session.commit()
    return rid


def seen() -> Any:
    """The seeded grid on the default scale: what the page prints of each cell."""
    return view(np.array(_grid()), DEFAULT)


def no_page_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def tooltip(page: Any) -> str:
    return str(page.locator("[data-tooltip]").first.inner_text())


def test_result_page_tooltip_toggle_and_layout(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    rid = seed(db_session, user["team"])
    log_in(user)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/results/{rid}")
    assert page.locator(".result-title").inner_text() == TITLE  # escaped, shown literally
    cell = page.locator('.hm-cell[data-i="1"][data-j="2"]')
    cell.hover()
    text = tooltip(page)
    assert "Exploration of" in text
    assert "We used methods and techniques to do stuff. Weber Freud" in text
    assert seen().describe(1, 2) in text  # P and its log-odds, the default scale
    # Keyboard: Tab reaches the grid's one tab stop (bottom-left), arrows move.
    page.locator('.hm-cell[data-i="0"][data-j="0"]').focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    assert (
        page.evaluate("document.activeElement.dataset.i + ',' + document.activeElement.dataset.j")
        == "1,1"
    )
    assert seen().describe(1, 1) in tooltip(page) and "Exploration of" in tooltip(page)
    value = page.locator('.hm-cell[data-i="0"][data-j="0"] .hm-value')
    assert not value.is_visible()
    page.get_by_label("Show values").first.check()
    assert value.is_visible() and value.inner_text() == seen().cell_text(0, 0)
    page.get_by_label("Feature", exact=True).select_option("1")
    assert page.locator('[data-trace="1"]').is_visible()
    assert not page.locator('[data-trace="0"]').is_visible()
    assert no_page_overflow(page)
    assert not errors, errors
    width = page.viewport_size["width"]
    page.screenshot(path=f"/tmp/ui-result-{width}.png", full_page=True)


def distinct_colours(page: Any) -> int:
    script = (
        "[...document.querySelectorAll('.hm-cell')].map(c => getComputedStyle(c).backgroundColor)"
    )
    return len(set(page.evaluate(script)))


def choose(page: Any, name: str) -> None:
    """Press a scale button with the keyboard; the form posts and the page comes back."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).focus()
        page.keyboard.press("Enter")


def test_a_confident_paper_shows_structure_and_the_scale_choice_sticks(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    team_id = db_session.scalar(select(Team.id).where(Team.name == user["team"]))
    assert team_id is not None
    model_id = factories.model(db_session).id
    confident = factories.CONFIDENT
    rid = factories.result(db_session, team_id, model_id, title="Sure", explained=confident).id
    db_session.commit()
    log_in(user)
    page.goto(f"{live_server}/results/{rid}")
    assert distinct_colours(page) >= 6  # log-odds, the default: the structure shows
    page.locator('.hm-cell[data-i="0"][data-j="2"]').hover()
    assert "log-odds" in tooltip(page)
    choose(page, "P")
    assert distinct_colours(page) <= 5  # the seed's scale: one block of blue
    assert page.get_by_role("button", name="P", exact=True).get_attribute("aria-pressed") == "true"
    page.reload()
    assert page.locator(".colourbar").get_attribute("data-scale") == "p"  # remembered
    choose(page, "Change")
    assert page.locator(".colourbar").get_attribute("data-scale") == "change"
    assert "from the whole paper" in page.locator(".hm-cell").first.get_attribute("title")
    assert no_page_overflow(page)


def test_history_and_compare_pages(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    a = seed(db_session, user["team"])
    b = seed(db_session, user["team"], "Deep learning for graph mining", "2.0.0")
    log_in(user)
    page.goto(f"{live_server}/history")
    page.get_by_label("Search titles, abstracts and ids").fill("graph")
    page.get_by_role("button", name="Apply").click()
    assert page.locator(".history-title").all_inner_texts() == ["Deep learning for graph mining"]
    page.goto(f"{live_server}/history")
    assert no_page_overflow(page)
    width = page.viewport_size["width"]
    page.screenshot(path=f"/tmp/ui-history-{width}.png", full_page=True)
    page.locator(f'input[name="r"][value="{a}"]').check()
    page.locator(f'input[name="r"][value="{b}"]').check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_load_state()
    assert page.locator("[data-heatmap]").count() == 2
    page.locator('#heatmap-cmp-B .hm-cell[data-i="2"][data-j="3"]').hover()
    assert seen().describe(2, 3) in page.locator("#heatmap-cmp-B [data-tooltip]").inner_text()
    assert no_page_overflow(page)
    page.screenshot(path=f"/tmp/ui-compare-{width}.png", full_page=True)


def test_the_svg_heat_map_opened_in_a_tab_is_in_colour(
    page: Any,
    live_server: str,
    user: dict[str, str],
    db_session: Session,
    log_in: Callable[[dict[str, str]], None],
) -> None:
    """Under the pages' CSP (style-src 'self') Chromium dropped the SVG's style attributes
    and painted every cell black; its own CSP lets it style itself."""
    from PIL import Image

    rid = seed(db_session, user["team"])
    log_in(user)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/results/{rid}/heatmap.svg")
    rgb = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # RdBu: low probabilities red, high blue; black only in text and lines.
    red = int(((r > 150) & (b < 120)).sum())
    blue = int(((b > 150) & (r < 120)).sum())
    black = int((np.maximum(np.maximum(r, g), b) < 40).sum())
    assert red > 1000 and blue > 1000, (red, blue)
    assert black < r.size // 10, black
    assert not refused, refused
