"""Real papers from the labelled file, explained by the default model and stored as a worker
stores them, so browser tests and screenshots see grids as users get them (long, confident,
word-level), not hand-made ones."""

from __future__ import annotations

import csv
import functools
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Result, Team
from shared.registry.catalog import register_model
from tests.conftest import DATA, DEFAULT_MODEL
from tests.fixtures import factories
from worker.processing import store_explanation

# Scopus ids in labelled-papers.csv: an abstract of 18 sentences as the default model
# cuts it (publisher lines left out; a title of 12 words), one of 137 words and a
# confident computational paper (P 0.998, every cell above 0.92).
LONG = "2-s2.0-84924979806"
WORDY = "2-s2.0-84964597411"
CONFIDENT = "2-s2.0-85014769786"


@functools.cache
def labelled(eid: str) -> dict[str, str]:
    """Title and abstract of a labelled paper (the abstract without its title prefix)."""
    with DATA.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["eid"] == eid:
                title, abstract = row["title"], row["abstract"]
                abstract = abstract.removeprefix(f"{title}. ")
                return {"title": title, "abstract": abstract, "external_id": eid}
    raise LookupError(f"no paper {eid} in {DATA}")


@functools.cache
def _model() -> Any:
    from shared.engine.runtime import load_model

    return load_model(DEFAULT_MODEL, device="cpu")


def real_result(
    session: Session, team: str, eid: str, abstract_unit: str = "sentence", detail: str = "full"
) -> int:
    """Explain labelled paper ``eid`` with the default model and store it for ``team``, done;
    committed. Returns the result's id."""
    from shared.engine.explanations import explain

    if not (DEFAULT_MODEL / "manifest.json").is_file() or not Path(DATA).is_file():
        import pytest

        pytest.skip("needs the default model and the labelled data")
    team_id = session.scalar(select(Team.id).where(Team.name == team))
    assert team_id is not None
    paper = labelled(eid)
    model_row = register_model(session, DEFAULT_MODEL)
    row = factories.result(
        session,
        team_id,
        model_row.id,
        status="pending",
        title=paper["title"],
        explained=None,
        paper_fields={"abstract": paper["abstract"], "external_id": eid},
    )
    row.abstract_unit = abstract_unit
    start = time.perf_counter()
    units = {"title": "word", "abstract": abstract_unit}
    (e,) = explain(_model(), [{k: paper[k] for k in ("title", "abstract")}], units=units,
                   detail=detail)  # fmt: skip
    store_explanation(session, row, e, (time.perf_counter() - start) * 1000)
    session.commit()
    assert session.get_one(Result, row.id).status == "done"
    return row.id
