"""The result page's faithfulness panel: the scores, the deletion curve, the minimal flip."""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shared.models import Result
from tests.fixtures.factories import Factory
from tests.fixtures.web import AuthActions
from web.pages.result_faithfulness import _k

EVIL = '<script>alert(1)</script> & "quotes"'
# The small result (P = 0.9, 2 title words and 3 abstract sentences): 5 units.
STORED = {
    "faithfulness": {
        "comprehensiveness": {"0.1": 0.2, "0.2": 0.45, "0.3": 0.5, "0.4": 0.5, "0.5": 0.6},
        "sufficiency": {"0.1": 0.3, "0.2": 0.1, "0.3": 0.0, "0.4": 0.0, "0.5": -0.05},
        "aopc_comprehensiveness": 0.45,
        "aopc_sufficiency": 0.07,
        "deletion_curve": [0.7, 0.45, 0.4, 0.35, 0.3],
    },
    "minimal_flip": {
        "k": 2,
        "units": [
            {"field": "abstract", "index": 0, "text": EVIL},
            {"field": "title", "index": 1, "text": "media"},
        ],
        "probability": 0.45,
    },
}


def _page(login: AuthActions, make: Factory, sessions: sessionmaker[Session], team_id: int,
          stored: dict | None) -> str:  # fmt: skip
    member = login.login()
    rid = make.result(team_id)
    with sessions.begin() as s:
        s.execute(update(Result).where(Result.id == rid).values(faithfulness=stored))
    return member.get(f"/results/{rid}").get_data(as_text=True)


def test_scores_curve_and_flip_are_drawn(
    login: AuthActions, make: Factory, sessions: sessionmaker[Session], team_id: int
) -> None:
    html = _page(login, make, sessions, team_id, STORED)
    panel = html[html.index('class="card faithfulness"') :]
    assert "AOPC comprehensiveness" in panel and "0.450" in panel
    assert "AOPC sufficiency" in panel and "0.070" in panel
    # The curve: the whole paper (P_c = 0.9) and then the five deletions, on a 0..1 axis.
    points = re.search(r'<polyline class="line" points="([^"]+)"', panel).group(1)  # type: ignore[union-attr]
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert len(ys) == 6 and ys == sorted(ys)  # falling P_c: y grows downwards
    assert 'class="flip-point"' in panel
    flips = "Deleting these 2 units flips the decision to <strong>not computational</strong>"
    assert f"{flips} (P = 0.450)" in panel
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel and EVIL not in panel
    assert "Abstract sentence 1:" in panel and "Title word 2:" in panel
    # The cuts' table: k = ceil(q x 5).
    assert [_k(q, 5) for q in STORED["faithfulness"]["comprehensiveness"]] == [1, 1, 2, 2, 3]
    assert "<td>+0.450</td>" in panel


def test_no_flip_and_old_results(
    login: AuthActions, make: Factory, sessions: sessionmaker[Session], team_id: int
) -> None:
    html = _page(login, make, sessions, team_id, {**STORED, "minimal_flip": None})
    assert "never" not in html and "not even of all 5" in html
    old = _page(login, make, sessions, team_id, None)
    assert "Not measured for this result" in old


def test_k_is_exact():
    assert [_k(q, 10) for q in ("0.1", "0.2", "0.3", "0.4", "0.5")] == [1, 2, 3, 4, 5]
