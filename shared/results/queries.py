"""Questions about stored grids that are one SQL query each (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

# The grid's last row is the full title; its last two cells are the abstract without and
# with its last sentence. A flip is those two cells on opposite sides of P = 0.5.
FLIPS_ON_LAST_SENTENCE = text(
    """
SELECT r.id AS result_id, p.title, before.probability AS before, last.probability AS after
FROM results r
JOIN papers p ON p.id = r.paper_id
JOIN grid_cells last ON last.result_id = r.id
JOIN grid_cells before ON before.result_id = r.id
 AND before.title_len = last.title_len AND before.abstract_len = last.abstract_len - 1
WHERE r.team_id = :team_id
  AND last.title_len = (SELECT max(title_len) FROM grid_cells WHERE result_id = r.id)
  AND last.abstract_len = (SELECT max(abstract_len) FROM grid_cells WHERE result_id = r.id)
  AND (before.probability >= 0.5) <> (last.probability >= 0.5)
ORDER BY r.id
"""
)


def flips_on_last_sentence(
    session: Session, team_id: int
) -> list[Row[tuple[int, str, float, float]]]:
    """Results of ``team_id`` whose decision flips when the last abstract sentence is added."""
    return list(session.execute(FLIPS_ON_LAST_SENTENCE, {"team_id": team_id}).all())
